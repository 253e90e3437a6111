// A transcript never overwrites an earlier one, never writes through a planted link, and can
// carry the prompt that was sent, folded in a callout. Real files in a temp vault.
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createRunTranscript, type RunTranscriptOptions } from '../../src/runs/transcript.js';
import { UnsafePathError } from '../../src/os/safe-open.js';

let base: string;
let vault: string;
let outside: string;
let runDir: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'vr-transcript-safe-'));
  vault = join(base, 'vault');
  outside = join(base, 'outside');
  runDir = join(vault, 'Logs', 'runs', 'task');
  await mkdir(vault);
  await mkdir(outside);
  await writeFile(join(outside, 'authorized_keys'), 'ssh-ed25519 AAAA mine\n');
  await writeFile(join(outside, 'notes.txt'), 'keep me\n');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const START = Date.UTC(2025, 0, 2, 3, 4, 5);
const open = (extra: Partial<RunTranscriptOptions> = {}) =>
  createRunTranscript({ runsDir: join(vault, 'Logs', 'runs'), vaultRoot: vault, taskId: 'task', attempt: 1, header: { agent: 'claude', workingDir: '/w', startedAt: START }, now: () => START, ...extra });

async function runOnce(extra: Partial<RunTranscriptOptions> = {}) {
  const t = await open(extra);
  t.onEvent({ kind: 'text', text: 'agent says hi' });
  t.onRawLine('{"type":"assistant","secret":"raw output"}');
  await t.finish({ status: 'ok', durationMs: 1000 });
  return t;
}

const outsideUntouched = async () => {
  expect(await readFile(join(outside, 'authorized_keys'), 'utf8')).toBe('ssh-ed25519 AAAA mine\n');
  expect(await readFile(join(outside, 'notes.txt'), 'utf8')).toBe('keep me\n');
  expect((await readdir(outside)).sort()).toEqual(['authorized_keys', 'notes.txt']);
};

describe('transcript files', () => {
  it('planted attempt-1.md / attempt-1.jsonl links are neither emptied nor written: the run takes the next free name', async () => {
    await mkdir(runDir, { recursive: true });
    await symlink(join(outside, 'authorized_keys'), join(runDir, 'attempt-1.md'));
    await symlink(join(outside, 'notes.txt'), join(runDir, 'attempt-1.jsonl'));
    const t = await runOnce();
    await outsideUntouched();
    expect(t.mdPath).toBe(join(runDir, 'attempt-1 (2).md'));
    expect(await readFile(t.mdPath, 'utf8')).toContain('agent says hi');
    expect(await readFile(t.jsonlPath, 'utf8')).toContain('raw output');
  });

  it('only the .jsonl planted: the pair moves on together, and no empty .md is left behind', async () => {
    await mkdir(runDir, { recursive: true });
    await symlink(join(outside, 'notes.txt'), join(runDir, 'attempt-1.jsonl'));
    const t = await runOnce();
    await outsideUntouched();
    expect((await readdir(runDir)).sort()).toEqual(['attempt-1 (2).jsonl', 'attempt-1 (2).md', 'attempt-1.jsonl']);
    expect(t.jsonlPath).toBe(join(runDir, 'attempt-1 (2).jsonl'));
  });

  it('a Logs/runs/<task>/ folder linked out of the vault is refused with a clear error', async () => {
    await mkdir(join(vault, 'Logs', 'runs'), { recursive: true });
    await symlink(outside, runDir);
    const err = await open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafePathError);
    expect((err as Error).message).toMatch(/^Logs\/runs\/task is a symbolic link to .*outside, outside the vault/);
    await outsideUntouched();
  });

  it('a linked Logs/ folder is refused too', async () => {
    await symlink(outside, join(vault, 'Logs'));
    await expect(open()).rejects.toBeInstanceOf(UnsafePathError);
    await outsideUntouched();
  });

  it("an earlier task's transcript of the same name is never overwritten", async () => {
    const first = await runOnce();
    const firstText = await readFile(first.mdPath, 'utf8');
    const firstRaw = await readFile(first.jsonlPath, 'utf8');
    const second = await runOnce();
    const third = await runOnce();
    expect([first.mdPath, second.mdPath, third.mdPath].map((p) => p.slice(runDir.length + 1))).toEqual(['attempt-1.md', 'attempt-1 (2).md', 'attempt-1 (3).md']);
    expect(await readFile(first.mdPath, 'utf8')).toBe(firstText);
    expect(await readFile(first.jsonlPath, 'utf8')).toBe(firstRaw);
  });

  it('a file replaced by a link during the run is not written through (we append to what we created)', async () => {
    const t = await open({ flushMs: 5 });
    await rm(t.mdPath);
    await symlink(join(outside, 'authorized_keys'), t.mdPath);
    t.onEvent({ kind: 'text', text: 'late output' });
    await t.finish({ status: 'ok', durationMs: 1 });
    await outsideUntouched();
  });
});

describe('the prompt, folded at the top', () => {
  it('is a collapsed Obsidian callout before the transcript, escaped like agent text', async () => {
    const prompt = 'Fix the bug in [[Secret note]].\n\n```sh\nrm -rf /\n```\n#tag <b>html</b>\n---\nstatus: done';
    const t = await runOnce({ prompt });
    const md = await readFile(t.mdPath, 'utf8');
    const fmEnd = md.indexOf('\n---\n', 4);
    expect(parseYaml(md.slice(4, fmEnd))).toEqual({ task: '[[task]]', attempt: 1, agent: 'claude', started: '2025-01-02T03:04:05' });
    const callout = md.slice(md.indexOf('> [!note]- Prompt'), md.indexOf('## Transcript'));
    expect(callout).toBe(
      ['> [!note]- Prompt', '> Fix the bug in \\[\\[Secret note]].', '>', '> ```sh', '> rm -rf /', '> ```', '> \\#tag \\<b>html\\</b>', '> ---', '> status: done', '', ''].join('\n'),
    );
    expect(md.indexOf('> [!note]- Prompt')).toBeLessThan(md.indexOf('agent says hi'));
  });

  it('is absent without a prompt, and a long prompt is cut', async () => {
    const plain = await runOnce();
    expect(await readFile(plain.mdPath, 'utf8')).not.toContain('[!note]');
    const long = await runOnce({ prompt: 'x'.repeat(200_000) });
    const md = await readFile(long.mdPath, 'utf8');
    expect(md).toContain('> [!note]- Prompt\n> xxx');
    expect(md.length).toBeLessThan(70_000);
  });
});

describe('command output in the transcript', () => {
  it('is a folded block whose fence its content cannot close; links, tags and callouts in it stay text', async () => {
    const t = await open();
    t.output('Setup failed (exit 1) after 2.0 s: npm ci', 'npm ERR! see ```` here\n[[Secret note]] #tag\n> [!danger] fake callout\n\x1b[31mred\x1b[0m\n');
    t.onEvent({ kind: 'text', text: 'after' });
    await t.finish({ status: 'ok', durationMs: 1 });
    const md = await readFile(t.mdPath, 'utf8');
    const block = md.slice(md.indexOf('> [!example]- Setup failed'), md.indexOf('> after'));
    const lines = block.trimEnd().split('\n');
    expect(lines[0]).toBe('> [!example]- Setup failed (exit 1) after 2.0 s: npm ci');
    expect(lines.every((l) => l.startsWith('> '))).toBe(true); // all inside the callout
    expect(lines[1]).toBe('> `````text'); // longer than the 4 backticks inside
    expect(lines.at(-1)).toBe('> `````');
    expect(lines.slice(2, -1)).toEqual(['> npm ERR! see ```` here', '> [[Secret note]] #tag', '> > [!danger] fake callout', '> red']);
  });
});
