// claude-overhead: a trivial task end to end through the service with the REAL claude CLI and the
// scripted model server, against the same `claude -p` run directly (same env, args, cwd and prompt
// on stdin), alternated run by run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClaudeArgs, childEnv } from '../../src/agents/claude/claude-args.js';
import { taskPrompt } from '../../src/executor/prompt.js';
import { validateTask } from '../../src/domain/task.js';
import { splitNote } from '../../src/vault/frontmatter.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { claudeTestEnv, startModelServer, text } from '../../test/fixtures/model-server.js';
import { benchDir, dropStaged, median, noteText, ROOT, round, serviceEnv, sleep, stageNote, startService, waitForFact, type BenchResult } from './common.js';

const CLAUDE = join(ROOT, 'node_modules', '.bin', 'claude');
const nowMs = () => performance.timeOrigin + performance.now();

/** The prompt the service gave task `id`, rebuilt from the note as dropped (the filed note's body
 *  has the run's "## Result" appended) and its plan. */
async function promptOf(vault: string, id: string, dropped: string, cwd: string): Promise<string> {
  const store = new NoteStore();
  const done = await store.read(join(vault, 'Done', `${id}.md`));
  const plan = await store.read(join(vault, 'Plans', `PLAN_${id}.md`));
  if (!done.ok || !plan.ok) throw new Error(`cannot read ${id} or its plan`);
  const v = validateTask(id, done.data);
  if (!v.ok) throw new Error(`${id} does not validate`);
  return taskPrompt(v.task, splitNote(dropped).body, plan.body, cwd);
}

function runDirect(cwd: string, prompt: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const c = spawn(CLAUDE, buildClaudeArgs({ permissionMode: 'acceptEdits' }), { cwd, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let out = '';
    c.stdout!.on('data', (d) => (out += String(d)));
    c.stderr!.resume();
    c.stdin!.end(prompt);
    c.on('error', reject);
    c.on('close', (code) => (code === 0 && out.includes('"type":"result"') ? resolve(nowMs() - t0) : reject(new Error(`claude exited ${code}: ${out.slice(-500)}`))));
  });
}

export async function runClaudeOverhead(quick: boolean): Promise<BenchResult> {
  const n = quick ? 3 : 7;
  const server = await startModelServer({ handler: () => text('Done: nothing to change.') });
  const home = mkdtempSync(join(tmpdir(), 'vr-bench-home-'));
  const claudeEnv = claudeTestEnv(server.url, home);
  const dir = benchDir('claude');
  const svc = startService(dir, serviceEnv(dir, { AGENT: 'claude', CLAUDE_BIN: CLAUDE, PERMISSION_MODE: 'acceptEdits', COMMAND_AGENTS: '{}' }, claudeEnv));
  const viaService: number[] = [];
  const direct: number[] = [];
  let samePrompt = true;
  try {
    await svc.ready;
    await sleep(500);
    for (let i = -1; i < n; i++) {
      const id = i < 0 ? 'warmup' : `trivial-${i}`;
      const dropped = noteText('type: claude_code\ntitle: Say done', 'Reply with the word done. Change nothing.\n');
      const tmp = stageNote(dir.vault, id, dropped);
      await sleep(50);
      const before = server.messageRequests().length;
      const t0 = nowMs();
      dropStaged(dir.vault, id, tmp);
      await waitForFact(() => existsSync(join(dir.vault, 'Done', `${id}.md`)), [join(dir.vault, 'Done')], `${id} done through the service`, 120_000);
      const e2e = nowMs() - t0;
      const mid = server.messageRequests().length;
      const cwd = realpathSync(join(dir.vault, '.vaultrunner', 'work', id));
      const prompt = await promptOf(dir.vault, id, dropped, cwd);
      const d = await runDirect(cwd, prompt, claudeEnv);
      // Both runs must have sent the model the same task text.
      const reqs = server.messageRequests();
      const first = (r: (typeof reqs)[number] | undefined) => JSON.stringify(r?.body?.messages?.[0]?.content ?? null);
      if (first(reqs[before]) !== first(reqs[mid])) samePrompt = false;
      if (i >= 0) {
        viaService.push(e2e);
        direct.push(d);
        process.stderr.write(`  run ${i + 1}/${n}: via service ${round(e2e, 0)} ms, direct ${round(d, 0)} ms\n`);
      }
    }
  } finally {
    await svc.stop();
    await server.close();
    dir.cleanup();
    rmSync(home, { recursive: true, force: true });
  }
  const s = median(viaService);
  const d = median(direct);
  const ratio = round(s / d, 2);
  return {
    name: 'claude-overhead',
    figures: { n, viaServiceMs: round(s, 0), directMs: round(d, 0), overheadMs: round(s - d, 0), ratio, samePrompt },
    rows: [
      [`trivial task, real claude CLI + scripted model: through the service (drop → Done/), median of ${n}`, `${round(s, 0)} ms`, '', ''],
      ['same `claude -p` run directly (same env, args, cwd, prompt)', `${round(d, 0)} ms`, '', ''],
      ['service / direct', `${ratio}× (+${round(s - d, 0)} ms)`, '', samePrompt ? '' : 'prompts differed!'],
    ],
  };
}
