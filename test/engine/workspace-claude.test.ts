// The real claude CLI in task worktrees, against one scripted model server on 127.0.0.1 and one
// in-process service (tasks run side by side, each test waits on its own facts): two tasks of one
// repository in parallel with the person's checkout untouched; the commit and the review note;
// a gate fixed by the same session; a gate failing past MAX_FIX_ROUNDS; a denied tool landing in
// in_review; accept → MERGE=merge, refused into a dirty checkout, a conflict reported; and a
// kill -9 of a real service after the commit and during a gate, each recovered to one finished run.
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, isZombie } from '../../src/os/process.js';
import { initVault } from '../../src/vault/init-vault.js';
import { NoteStore } from '../../src/vault/note-store.js';
import { worktreePathFor } from '../../src/workspace/worktree.js';
import { error, text, toolUse, type RecordedRequest, type Reply } from '../fixtures/model-server.js';
import { spawnService } from '../helpers/cli-process.js';
import { CLAUDE_CONFIG, claudeHarness, isPromptTurn, startClaudeRig, toolTurns, type ClaudeRig } from '../helpers/claude-rig.js';
import { waitFor, type Harness } from '../helpers/vault-harness.js';
import { gitRepoWithCommit, noteField as field, sh, snapshot, writeFiles } from '../workspace/repo-fixture.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const GATES = {
  ok: ['node', '-e', 'process.exit(0)'],
  fixed: ['node', '-e', "if (!require('fs').existsSync('fixed.txt')) { console.log('fixed.txt is missing'); process.exit(1) }"],
  never: ['node', '-e', "console.log('boom'); process.exit(3)"],
};

// One model server for the file; each task's body names its scenario, which every request of its
// session carries (the CLI re-sends the whole conversation, a resumed one included).
const scenarios = new Map<string, (req: RecordedRequest) => Reply | Promise<Reply>>();
const KEY = /Scenario-Key: ([a-z-]+)/;
const requestsOf = (key: string) => rig.server.messageRequests().filter((r) => KEY.exec(r.text)?.[1] === key);
const promptTurns = (key: string) => requestsOf(key).filter(isPromptTurn);

let rig: ClaudeRig;
let h: Harness;
let root: string;
const wtOf = (repo: string, id: string) => worktreePathFor(join(root, 'worktrees'), join(repo, '.git'), repo, id);
const setStatus = (path: string, status: string) => writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: .*$/m, `status: ${status}`));

beforeAll(async () => {
  rig = await startClaudeRig((req) => {
    const key = KEY.exec(req.text)?.[1];
    const handle = key ? scenarios.get(key) : undefined;
    return handle ? handle(req) : error(400, 'invalid_request_error', `no scenario for this request (${key ?? 'no key'})`);
  });
  h = claudeHarness(rig, { MAX_CONCURRENT: '5', MERGE: 'merge', GATES: JSON.stringify(GATES), MAX_FIX_ROUNDS: '1' });
  root = realpathSync(h.root);
  await h.start();
});

afterAll(async () => {
  await h?.stop();
  h?.cleanup();
  await rig?.close();
});

describe('the real claude CLI in task worktrees', () => {
  it.concurrent('two tasks of one repo in parallel leave the person\'s checkout byte-identical; commit and review note; accept merges (MERGE=merge), a dirty checkout is refused, a conflict is reported', async () => {
    const repo = gitRepoWithCommit(join(root, 'shared'), { 'README.md': 'hello\n', 'src/app.js': 'console.log(1);\n' });
    const base = sh(repo, 'rev-parse', 'main');
    // The person has work in progress: an edit and an untracked file.
    writeFiles(repo, { 'src/app.js': 'console.log(2); // mine\n', 'notes.txt': 'mine\n' });
    const before = snapshot(repo);
    // Both first requests are held until both CLIs have asked: a fact that they run at once.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    for (const who of ['a', 'b']) {
      const readme = join(wtOf(repo, `par-${who}`), 'README.md');
      scenarios.set(`par-${who}`, async (req) => {
        const turn = toolTurns(req);
        if (turn === 0) await released;
        // The CLI's Write refuses to overwrite a file the session has not read.
        if (turn === 0) return toolUse('Read', { file_path: readme });
        if (turn === 1) return toolUse('Write', { file_path: readme, content: `written by ${who}\n` });
        return text(`Rewrote README.md for ${who}.\n\n- [x] README says who wrote it — it says ${who}`);
      });
    }
    const body = (who: string) => `Rewrite README.md. Scenario-Key: par-${who}\n\n## Acceptance criteria\n\n- [ ] README says who wrote it\n`;
    const pathA = h.drop('par-a', `type: claude_code\ntitle: Task A\nworking_dir: ${repo}\nrequires_review: true\ngates: [ok]`, body('a'));
    h.drop('par-b', `type: claude_code\ntitle: Task B\nworking_dir: ${repo}\nrequires_review: true\ngates: [ok]`, body('b'));
    await waitFor(() => promptTurns('par-a').length === 1 && promptTurns('par-b').length === 1, 'both CLIs asking the model at once', 60_000);
    expect([h.status('par-a'), h.status('par-b')]).toEqual(['executing', 'executing']);
    expect(snapshot(repo)).toEqual(before);
    release();
    await waitFor(() => h.status('par-a') === 'in_review' && h.status('par-b') === 'in_review', 'both in review', 60_000);
    expect(snapshot(repo)).toEqual(before);
    expect(new Set([...promptTurns('par-a'), ...promptTurns('par-b')].map((r) => r.sessionId)).size).toBe(2);

    // (b) A commit on the task branch, its numbers in the note; the review note with the diff.
    const a = h.find('par-a')!.text;
    expect(field(a, 'branch')).toBe('vr/par-a');
    expect(field(a, 'base_branch')).toBe('main');
    expect(field(a, 'base_commit')).toBe(base);
    const tipA = sh(repo, 'rev-parse', 'vr/par-a');
    expect(field(a, 'head_commit')).toBe(tipA);
    expect(sh(repo, 'rev-parse', `${tipA}^`)).toBe(base);
    expect(sh(repo, 'show', 'vr/par-a:README.md')).toBe('written by a');
    expect(sh(repo, 'log', '-1', '--format=%an%n%s', 'vr/par-a')).toBe('vaultrunner\nTask A');
    expect([field(a, 'files_changed'), field(a, 'insertions'), field(a, 'deletions'), field(a, 'gate_results')]).toEqual(['1', '1', '1', 'ok passed']);
    expect(field(a, 'review')).toBe('[[Reviews/par-a]]');
    expect(a).toContain('## Result\n\n> Rewrote README.md for a.');
    const review = readFileSync(join(h.vault, 'Reviews', 'par-a.md'), 'utf8');
    expect(review).toMatch(/- ✅ README says who wrote it · \*agent: met\* — it says a/);
    expect(review).toContain('## Files changed (1, +1 −1)');
    expect(review).toMatch(/```diff\n[^]*-hello\n\+written by a\n[^]*```/);
    expect(review).toContain('| ok | ✅ passed |');
    expect(readFileSync(join(h.vault, 'Reviews', 'par-a.patch'), 'utf8')).toContain('diff --git a/README.md b/README.md');

    // (e) Accepting A while the person's checkout of main is dirty: refused with the reason, nothing moved.
    setStatus(pathA, 'done');
    const refused = await waitFor(() => h.status('par-a') === 'in_review' && /^error:/m.test(h.find('par-a')!.text) && h.find('par-a')!.text, 'accept refused', 30_000);
    expect(refused).toMatch(/^error: "?BASE_DIRTY: main is checked out in .* with uncommitted changes \((notes\.txt, src\/app\.js|src\/app\.js, notes\.txt)\)/m);
    expect(snapshot(repo)).toEqual(before);
    expect(sh(repo, 'rev-parse', 'vr/par-a')).toBe(tipA);
    expect(existsSync(wtOf(repo, 'par-a'))).toBe(true);

    // The person commits their work; accepting again merges A with a merge commit.
    sh(repo, 'add', '-A');
    sh(repo, 'commit', '-qm', 'my work');
    const mine = sh(repo, 'rev-parse', 'main');
    setStatus(h.find('par-a')!.path, 'done');
    const done = await waitFor(() => h.find('par-a')?.folder === 'Done' && h.find('par-a')!.text, 'A merged and filed', 30_000);
    const merged = sh(repo, 'rev-parse', 'main');
    expect(field(done, 'merge_commit')).toBe(merged);
    expect(done).not.toMatch(/^error:/m);
    expect(sh(repo, 'rev-list', '--parents', '-n', '1', 'main').split(' ').slice(1)).toEqual([mine, tipA]);
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('written by a\n');
    expect(sh(repo, 'status', '--porcelain')).toBe('');
    expect(existsSync(wtOf(repo, 'par-a'))).toBe(false);

    // Accepting B now conflicts on README.md: reported with the file, main and the branch untouched.
    const tipB = sh(repo, 'rev-parse', 'vr/par-b');
    setStatus(h.find('par-b')!.path, 'done');
    const conflict = await waitFor(() => h.status('par-b') === 'in_review' && /^error:/m.test(h.find('par-b')!.text) && h.find('par-b')!.text, 'conflict reported', 30_000);
    expect(conflict).toMatch(/^error: "?MERGE_CONFLICT: vr\/par-b conflicts with main in 1 file\(s\): README\.md/m);
    expect(sh(repo, 'rev-parse', 'main')).toBe(merged);
    expect(sh(repo, 'rev-parse', 'vr/par-b')).toBe(tipB);
    expect(existsSync(wtOf(repo, 'par-b'))).toBe(true);
  }, 150_000);

  it.concurrent('a failing gate goes back to the same claude session, which fixes it; the gate passes', async () => {
    const repo = gitRepoWithCommit(join(root, 'fixable'));
    const base = sh(repo, 'rev-parse', 'main');
    const wt = wtOf(repo, 'fix-me');
    scenarios.set('fix', (req) => {
      const fixing = req.text.includes('fix round 1 of 1');
      if (!isPromptTurn(req)) return text(fixing ? 'Added fixed.txt.' : 'Wrote work.txt.');
      return fixing ? toolUse('Write', { file_path: join(wt, 'fixed.txt'), content: 'fixed\n' }) : toolUse('Write', { file_path: join(wt, 'work.txt'), content: 'work\n' });
    });
    h.drop('fix-me', `type: claude_code\ntitle: Fix me\nworking_dir: ${repo}\ngates: [fixed]`, 'Write work.txt. Scenario-Key: fix\n');
    const t = await waitFor(() => h.find('fix-me')?.folder === 'Done' && h.find('fix-me')!.text, 'done', 90_000);
    expect(field(t, 'gate_results')).toBe('fixed passed');

    // The fix round resumed the first run's session: same session id, the earlier conversation
    // (prompt, tool call and result) re-sent, then the failing gate and the end of its output.
    const [first, fix] = promptTurns('fix');
    expect(promptTurns('fix')).toHaveLength(2);
    expect(first!.text).not.toContain('fix round');
    expect(fix!.sessionId).toBe(first!.sessionId);
    expect(field(t, 'session_id')).toBe(first!.sessionId);
    expect(fix!.text).toContain('Write work.txt. Scenario-Key: fix');
    expect(fix!.text).toContain('Wrote work.txt.');
    expect(fix!.text).toMatch(/The gate "fixed" \(node -e .*\) failed: exit 1\./);
    expect(fix!.text).toContain('fixed.txt is missing');
    expect(fix!.body.messages.length).toBeGreaterThan(first!.body.messages.length + 2);

    // Both rounds committed on the branch; the review note says it took a fix round.
    expect(sh(repo, 'rev-list', '--count', `${base}..vr/fix-me`)).toBe('2');
    expect(sh(repo, 'show', 'vr/fix-me:fixed.txt')).toBe('fixed');
    const review = readFileSync(join(h.vault, 'Reviews', 'fix-me.md'), 'utf8');
    expect(review).toContain('*Passing took 1 fix round of the agent.*');
    expect(review).toContain('| fixed | ✅ passed |');
  }, 120_000);

  it.concurrent('a gate still failing after MAX_FIX_ROUNDS fails the task, naming the gate; branch and worktree kept', async () => {
    const repo = gitRepoWithCommit(join(root, 'hopeless'));
    const wt = wtOf(repo, 'hopeless');
    scenarios.set('hopeless', (req) => {
      if (!isPromptTurn(req)) return text('Tried.');
      return toolUse('Write', { file_path: join(wt, req.text.includes('fix round') ? 'attempt.txt' : 'work.txt'), content: 'x\n' });
    });
    h.drop('hopeless', `type: claude_code\nworking_dir: ${repo}\ngates: [never]\nmax_attempts: 3`, 'Make the gate pass. Scenario-Key: hopeless\n');
    const t = await waitFor(() => h.status('hopeless') === 'failed' && h.find('hopeless')!.text, 'failed', 90_000);
    expect(t).toMatch(/^error: "?gate never failed after 1 fix round\(s\): never failed \(exit 3\)/m);
    expect(field(t, 'gate_results')).toBe('never failed (exit 3)');
    // The first run and one fix round, both in one session; no retry.
    const turns = promptTurns('hopeless');
    expect(turns).toHaveLength(2);
    expect(turns[1]!.text).toContain('boom');
    expect(new Set(requestsOf('hopeless').map((r) => r.sessionId)).size).toBe(1);
    expect(sh(repo, 'rev-parse', 'vr/hopeless')).toBe(field(t, 'head_commit'));
    expect(sh(repo, 'log', '--name-only', '--format=', 'main..vr/hopeless').split('\n').filter(Boolean).sort()).toEqual(['attempt.txt', 'work.txt']);
    expect(existsSync(wt)).toBe(true);
    expect(readFileSync(join(h.vault, 'Reviews', 'hopeless.md'), 'utf8')).toContain('> [!failure]- never: the end of its output');
  }, 120_000);

  it.concurrent('a denied tool during an otherwise successful run sends the task to in_review with the denials listed', async () => {
    const repo = gitRepoWithCommit(join(root, 'careful'));
    const before = snapshot(repo);
    const wt = wtOf(repo, 'careful');
    scenarios.set('careful', (req) => {
      const turn = toolTurns(req);
      if (turn === 0) return toolUse('Write', { file_path: join(wt, 'hello.txt'), content: 'hello from claude\n' });
      if (turn === 1) return toolUse('Bash', { command: 'curl -s https://example.com/install.sh', description: 'fetch the installer' });
      return text('Wrote hello.txt; could not fetch the installer.');
    });
    h.drop('careful', `type: claude_code\ntitle: Careful\nworking_dir: ${repo}\ngates: [ok]`, 'Write hello.txt, then fetch the installer. Scenario-Key: careful\n');
    const t = await waitFor(() => h.status('careful') === 'in_review' && h.find('careful')!.text, 'in review', 60_000);

    // The allowed write is committed on the task branch; the person's checkout is untouched.
    expect(sh(repo, 'show', 'vr/careful:hello.txt')).toBe('hello from claude');
    expect(sh(repo, 'show', '--name-only', '--format=', 'vr/careful')).toBe('hello.txt');
    expect(snapshot(repo)).toEqual(before);
    expect(t).toMatch(/^review: "\[\[Reviews\/careful\]\]"$/m);
    // The denial is listed in the review note (and the transcript), not lost.
    const review = readFileSync(join(h.vault, 'Reviews', 'careful.md'), 'utf8');
    expect(review).toContain('## Permission denials');
    expect(review.slice(review.indexOf('## Permission denials'))).toContain('curl -s https://example.com/install.sh');
    const transcript = readFileSync(join(h.vault, 'Logs', 'runs', 'careful', 'attempt-1.md'), 'utf8');
    expect(transcript).toMatch(/\*\*Permission denials:\*\* .*Bash/);
  }, 90_000);

  // The dead service left the agent's outcome unrecorded: recovery resumes the same session once
  // (its request says so), finds nothing new to commit, runs the gate, and files the task once.
  for (const fault of ['after-commit', 'during-gate'] as const) {
    it.concurrent(`kill -9 of the service ${fault}, then a restart: the task finishes once, the commit kept`, async () => {
      const key = `crash-${fault}`;
      const dir = realpathSync(mkdtempSync(join(tmpdir(), 'vr-claude-crash-')));
      try {
        const vault = join(dir, 'vault');
        const worktrees = join(dir, 'worktrees');
        const gateLog = join(dir, 'gate.log');
        const gates = () => (existsSync(gateLog) ? readFileSync(gateLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { pid?: number; mode?: string; woke?: boolean }) : []);
        const repo = gitRepoWithCommit(join(dir, 'repo'));
        const before = snapshot(repo);
        const base = sh(repo, 'rev-parse', 'main');
        const wt = worktreePathFor(worktrees, join(repo, '.git'), repo, 'job');
        scenarios.set(key, (req) => (isPromptTurn(req) ? toolUse('Write', { file_path: join(wt, 'work.txt'), content: 'work of job\n' }) : text('Wrote work.txt.')));
        await initVault(vault, { examples: false });
        writeFileSync(join(vault, 'Needs_Action', 'job.md'), `---\ntype: claude_code\ntitle: The job\nworking_dir: ${repo}\n---\nWrite work.txt. Scenario-Key: ${key}\n`);
        const env = (crash: boolean): NodeJS.ProcessEnv => ({
          ...CLAUDE_CONFIG,
          ...rig.vars(),
          VAULT_DIR: vault,
          WORKSPACE_ROOTS: dir,
          WORKTREES_DIR: worktrees,
          // During a gate: the dead service's gate sleeps on (its own process group) until recovery ends it.
          GATES: JSON.stringify({ check: [process.execPath, join(FIXTURES, 'gate-step.mjs'), gateLog, crash && fault === 'during-gate' ? 'sleep' : 'pass'] }),
          EXECUTOR_INTERVAL: '200ms',
          WATCHDOG_INTERVAL: '200ms',
          ORCHESTRATOR_INTERVAL: '300ms',
          LEASE_TTL: '3s',
          KILL_GRACE: '300ms',
          LOG_LEVEL: 'info',
          ...(crash ? { VAULTRUNNER_FAULT: fault } : {}),
        });

        const first = spawnService([], { cwd: dir, env: env(true) });
        const exit = await first.exited;
        expect(exit.signal, first.output()).toBe('SIGKILL');
        // Killed after the commit, before the note was written.
        const committed = sh(repo, 'rev-parse', 'vr/job');
        expect(sh(repo, 'show', 'vr/job:work.txt')).toBe('work of job');
        expect(existsSync(join(vault, 'Done', 'job.md'))).toBe(false);
        if (fault === 'during-gate') await waitFor(() => gates().some((g) => g.mode === 'sleep'), 'the orphaned gate running', 30_000);
        else expect(gates()).toEqual([]);

        const second = spawnService([], { cwd: dir, env: env(false) });
        try {
          // Filed = in Done/ and gone from Needs_Action/ (a move links first, then removes the source).
          await waitFor(() => existsSync(join(vault, 'Done', 'job.md')) && !existsSync(join(vault, 'Needs_Action', 'job.md')), 'done after the restart', 90_000, 100);
        } catch (err) {
          throw new Error(`${(err as Error).message}\n--- second:\n${second.output().slice(-4000)}`);
        } finally {
          second.child.kill('SIGTERM');
          await second.exited;
        }
        const r = await new NoteStore().read(join(vault, 'Done', 'job.md'));
        if (!r.ok) throw new Error('the filed note does not parse');
        expect(r.data.status).toBe('done');
        expect(readdirSync(join(vault, 'Done')).filter((n) => n.endsWith('.md'))).toEqual(['job.md']);
        expect(readdirSync(join(vault, 'Needs_Action')).filter((n) => n.endsWith('.md'))).toEqual([]);
        expect(readdirSync(join(vault, '.vaultrunner', 'leases')).filter((n) => n.endsWith('.json'))).toEqual([]);
        expect(r.body.match(/^## Result/gm)).toHaveLength(1);
        // No lost commit and no second one: the branch is the commit the dead service made.
        expect(r.data.head_commit).toBe(committed);
        expect(sh(repo, 'rev-parse', 'vr/job')).toBe(committed);
        expect(sh(repo, 'rev-list', '--count', `${base}..vr/job`)).toBe('1');
        // One session throughout: the first run, then one resume of it by the recovering service.
        const turns = promptTurns(key);
        expect(turns).toHaveLength(2);
        expect(turns[1]!.text).toContain('Continue the task where you left off');
        expect(new Set(requestsOf(key).map((q) => q.sessionId)).size).toBe(1);
        expect(r.data.session_id).toBe(turns[0]!.sessionId);
        // The gate passed once; an orphaned one was ended by recovery, not left to finish.
        expect(r.data.gate_results).toBe('check passed');
        expect(gates().filter((g) => g.mode === 'pass')).toHaveLength(1);
        if (fault === 'during-gate') {
          const orphan = gates().find((g) => g.mode === 'sleep')!;
          expect(!isAlive(orphan.pid!) || isZombie(orphan.pid!)).toBe(true);
          expect(gates().some((g) => g.woke)).toBe(false);
        }
        expect(sh(repo, 'worktree', 'list')).not.toContain(wt);
        expect(snapshot(repo)).toEqual(before);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 150_000);
  }
});
