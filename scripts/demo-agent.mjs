#!/usr/bin/env node
// The bundled no-credentials demo agent (the default `demo` command agent): it reads the task
// prompt from stdin, narrates a little, writes a short summary file into its working directory
// and exits 0, so a person can watch a task go through its whole lifecycle without any API key.
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const task = process.env.VAULTRUNNER_TASK_ID ?? 'unknown-task';
const attempt = process.env.VAULTRUNNER_ATTEMPT ?? '1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const prompt = Buffer.concat(chunks).toString('utf8');
const lines = prompt.replace(/\n$/, '').split('\n');
const heading = lines.map((l) => l.trim()).find((l) => l.length > 0) ?? '(empty prompt)';

console.log(`demo agent: read ${lines.length}-line prompt for task ${task} (attempt ${attempt})`);
console.log(`demo agent: it starts with: ${heading.slice(0, 120)}`);
console.log('demo agent: thinking it over (this is a demo: no model is called)…');
await sleep(1000);

// The file name comes from the task id, which is a note's name: keep it a plain file name.
const safeTask = basename(task).replace(/[^\w.-]+/g, '-');
const file = join(process.cwd(), `vaultrunner-demo-${safeTask}.md`);
const summary = [
  `# Demo run for ${task}`,
  '',
  `- attempt: ${attempt}`,
  `- finished: ${new Date().toISOString()}`,
  `- prompt: ${lines.length} lines, ${Buffer.byteLength(prompt)} bytes`,
  `- first line: ${heading.slice(0, 200)}`,
  '',
  'This file was written by the vaultrunner demo agent. Configure COMMAND_AGENTS or use the',
  '`claude` agent to do real work.',
  '',
].join('\n');
writeFileSync(file, summary);
console.log(`demo agent: wrote ${basename(file)}`);
console.log('demo agent: done');
