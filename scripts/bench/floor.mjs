#!/usr/bin/env node
// The throughput floor: plain Node doing only the unavoidable per-task I/O, no engine. Waits for
// "go" on stdin, then for every note in <vault>/Needs_Action/ (8 at a time): read it, write
// `status: planned` (temp + fsync + rename), write the plan note, write `status: executing`, spawn
// the same no-op agent once with the prompt on stdin, write `status: done`, rename into Done/.
// Prints `done <n> <cpu seconds>` when all are filed. Run: node scripts/bench/floor.mjs <vault> <agent>
import { spawn } from 'node:child_process';
import { open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

const [vault, agent] = process.argv.slice(2);
const needs = join(vault, 'Needs_Action');
const CONCURRENCY = 8;

async function atomicWrite(path, text) {
  const tmp = join(needs, `.${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`);
  const fh = await open(tmp, 'wx');
  await fh.writeFile(text);
  await fh.sync();
  await fh.close();
  await rename(tmp, path);
}

const withStatus = (text, status) => text.replace(/^---\n/, `---\nstatus: ${status}\n`);

function runAgent(id, prompt) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [agent], { env: { ...process.env, VAULTRUNNER_TASK_ID: id }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    c.stdout.resume();
    c.stderr.resume();
    c.stdin.end(prompt);
    c.on('error', reject);
    c.on('close', () => resolve());
  });
}

async function one(name) {
  const id = name.replace(/\.md$/, '');
  const path = join(needs, name);
  const text = await readFile(path, 'utf8');
  await atomicWrite(path, withStatus(text, 'planned'));
  const fh = await open(join(vault, 'Plans', `PLAN_${id}.md`), 'wx');
  await fh.writeFile(`---\ntask: "[[${id}]]"\n---\n# Plan: ${id}\n`);
  await fh.sync();
  await fh.close();
  await atomicWrite(path, withStatus(text, 'executing'));
  await runAgent(id, text);
  await atomicWrite(path, withStatus(text, 'done'));
  await rename(path, join(vault, 'Done', name));
}

process.stdin.once('data', async () => {
  const names = (await readdir(needs)).filter((n) => n.endsWith('.md'));
  let next = 0;
  const worker = async () => {
    while (next < names.length) await one(names[next++]);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const cpu = process.cpuUsage();
  process.stdout.write(`done ${names.length} ${(cpu.user + cpu.system) / 1e6}\n`);
  process.exit(0);
});
process.stdout.write('ready\n');
