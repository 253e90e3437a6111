// Dashboard.md over a real TaskIndex: every status shows up, every wikilink resolves to a note the
// way Obsidian resolves it, and the writer is debounced and writes only when the content changed.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import { AgentRegistry } from '../../src/agents/registry.js';
import { loadConfig } from '../../src/config/config.js';
import { createDashboard, QUEUE_SHOWN } from '../../src/dashboard/dashboard-writer.js';
import { renderDashboard, stripVolatile } from '../../src/dashboard/render-dashboard.js';
import type { EngineContext } from '../../src/engine/context.js';
import { EngineEvents } from '../../src/engine/events.js';
import { RunRegistry, type ActiveRun } from '../../src/engine/run-registry.js';
import { OwnWrites } from '../../src/engine/transition.js';
import { TaskIndex } from '../../src/vault/task-index.js';
import { TaskStateStore } from '../../src/vault/task-state.js';
import { silentLogger } from '../../src/log/logger.js';
import { vaultPaths, VAULT_FOLDERS } from '../../src/vault/layout.js';
import { LeaseStore } from '../../src/vault/lease-store.js';
import { NoteStore } from '../../src/vault/note-store.js';

let root: string;
let vault: string;
let clockNow: number;
let runs: ActiveRun[];

const write = (rel: string, text: string) => {
  const p = join(vault, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};
const task = (folder: string, id: string, fm: string) => write(`${folder}/${id}.md`, `---\n${fm.trim()}\n---\nBody of ${id}.\n`);

function fakeAgent(name: string, ok: boolean): Agent {
  return { name, kind: 'command', start: () => { throw new Error('not in this test'); }, probe: async () => (ok ? { ok: true, detail: 'fine' } : { ok: false, detail: `${name}: program "nope" not found on PATH` }) };
}

async function makeContext(): Promise<EngineContext> {
  const config = loadConfig({ VAULT_DIR: vault, WORKSPACE_ROOTS: root, COMMAND_AGENTS: '{}' }, {}, root);
  const paths = vaultPaths(vault);
  const store = new NoteStore();
  const index = new TaskIndex(store, paths, silentLogger(), () => clockNow);
  await index.scan();
  const agents = new AgentRegistry([fakeAgent('claude', true), fakeAgent('broken', false)]);
  await agents.probe('claude', clockNow, 0);
  await agents.probe('broken', clockNow, 0);
  const base = {
    config,
    paths,
    store,
    index,
    taskState: new TaskStateStore(paths.taskState),
    leases: new LeaseStore(paths.leases, config.leaseTtlMs),
    agents,
    clock: { now: () => clockNow },
    logger: silentLogger(),
    env: {},
    events: new EngineEvents(),
    ownWrites: new OwnWrites(),
  };
  return { ...base, runs: new RunRegistry(base) };
}

/** The runs this test pretends the service has in flight. */
const runsView = () => ({ all: () => runs, slots: () => runs.map((r) => ({ taskId: r.taskId, kind: r.kind })) });

/** Every file in the vault (as Obsidian indexes it: no dot-folders), vault-relative. */
function vaultFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(join(dir, e.name));
      else out.push(relative(vault, join(dir, e.name)).split('\\').join('/'));
    }
  };
  walk(vault);
  return out;
}

/** Obsidian's rule: a path target resolves by path; a bare name by a unique basename. */
function unresolvedLinks(markdown: string): string[] {
  const withoutCode = markdown.replace(/(`+)[\s\S]*?\1/g, '');
  const files = vaultFiles();
  const md = new Set(files.filter((f) => f.endsWith('.md')).map((f) => f.slice(0, -3)));
  const bad: string[] = [];
  for (const m of withoutCode.matchAll(/!?\[\[([^\]]*)\]\]/g)) {
    const target = m[1]!.split('|')[0]!.split('#')[0]!.trim();
    const byPath = md.has(target) || files.includes(target);
    const byName = [...md].filter((f) => basename(f) === target).length === 1;
    if (!byPath && !(target.includes('/') ? false : byName)) bad.push(m[0]);
  }
  return bad;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vr-dash-'));
  vault = join(root, 'vault');
  for (const f of VAULT_FOLDERS) mkdirSync(join(vault, f), { recursive: true });
  clockNow = new Date(2026, 0, 2, 12, 0, 0).getTime();
  runs = [];
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('Dashboard.md', () => {
  it('shows tasks in every status, and every wikilink resolves to an existing note', async () => {
    task('Needs_Action', 'fresh', 'type: claude_code');
    task('Needs_Action', 'ready-one', 'type: claude_code\nstatus: planned\npriority: high\nplan: "[[PLAN_ready-one]]"');
    write('Plans/PLAN_ready-one.md', '# plan\n');
    task('Needs_Action', 'blocked-one', 'type: claude_code\nstatus: planned\nblocked_by:\n  - "[[ready-one]]"');
    task('Needs_Action', 'orphan', 'type: claude_code\nstatus: planned\nblocked_by: ghost');
    task('Needs_Action', 'backing-off', 'type: claude_code\nstatus: planned\npriority: low');
    write('.vaultrunner/tasks/backing-off.json', JSON.stringify({ notBefore: clockNow + 90_000 }));
    task('Needs_Action', 'untrusted', 'type: shell_script\nstatus: planned');
    task('Needs_Action', 'running-here', 'type: claude_code\nstatus: executing\nattempts: 1\nrun_log: "[[Logs/runs/running-here/attempt-1]]"');
    write('Logs/runs/running-here/attempt-1.md', '# run\n');
    task('Needs_Action', 'running-elsewhere', 'type: claude_code\nstatus: executing');
    task('Needs_Action', 'held', 'type: claude_code\nstatus: paused');
    task('Pending_Approval', 'risky', 'type: shell_script\nstatus: awaiting_approval\nplan: "[[PLAN_risky]]"');
    write('Plans/PLAN_risky.md', '# plan\n');
    task('Needs_Action', 'look-at-me', 'type: claude_code\nstatus: in_review');
    task('Needs_Action', 'broke', 'type: claude_code\nstatus: failed\nerror: "exit 1: [[not a link]] #notatag"\nfinished_at: 2026-01-02T11:00:00\nrun_log: "[[Logs/runs/broke/attempt-3]]"');
    write('Logs/runs/broke/attempt-3.md', '# run\n');
    task('Needs_Action', 'stuck-done', 'type: claude_code\nstatus: done');
    task('Needs_Action', 'dropped', 'type: claude_code\nstatus: cancelled');
    task('Needs_Action', 'no-type', 'status: new');
    write('Needs_Action/garbled.md', '---\ntype: [oops\n---\n');
    write('Needs_Action/ready-one.sync-conflict-20260101-120000-ABCDEFG.md', '---\ntype: x\n---\n');
    task('Needs_Action', 'Fix #12', 'type: claude_code'); // '#' cannot be in a link target
    task('Done', 'ready-one', 'type: claude_code\nstatus: done'); // same name in two folders: path links disambiguate
    for (let i = 0; i < 12; i++) task('Done', `old-${String(i).padStart(2, '0')}`, 'type: claude_code\nstatus: done');
    task('Done', 'gave-up', 'type: claude_code\nstatus: cancelled');

    const ctx = await makeContext();
    runs = [{ state: 'running', kind: 'run', taskId: 'running-here', path: join(vault, 'Needs_Action/running-here.md'), startedAt: clockNow - 5 * 60_000, attempt: 1, agent: { name: 'claude' }, transcript: { link: 'Logs/runs/running-here/attempt-1' } } as unknown as ActiveRun];
    const dash = createDashboard({ ctx, runs: runsView(), debounceMs: 10 });
    await dash.flush();
    const text = readFileSync(ctx.paths.dashboard, 'utf8');

    expect(unresolvedLinks(text)).toEqual([]);
    for (const s of ['new', 'planned', 'executing', 'done', 'failed', 'paused', 'cancelled', 'awaiting_approval', 'in_review']) expect(text).toMatch(new RegExp(`^\\| ${s} \\| [1-9]\\d* \\|$`, 'm'));
    expect(text).toContain('| planned | 5 |');
    expect(text).toContain('| invalid | 1 |');
    expect(text).toContain('| unreadable | 1 |');
    expect(text).toContain('| filed in Done/ | 14 |');
    expect(text).toContain('- [[Needs_Action/running-here|running-here]] — claude, attempt 1 · started 11:55:00, 5 min · [[Logs/runs/running-here/attempt-1|live transcript]]');
    expect(text).toContain('- [[Needs_Action/running-elsewhere|running-elsewhere]] — executing, but not by this service');
    // Queue in dispatch order: high first, low last, new ones planned meanwhile.
    const queue = text.slice(text.indexOf('## Queue'), text.indexOf('## Waiting for you'));
    const order = [...queue.matchAll(/^\d+\. \[\[Needs_Action\/([^|]+)\|/gm)].map((m) => m[1]);
    expect(order[0]).toBe('ready-one');
    expect(order.at(-1)).toBe('backing-off');
    expect(queue).toContain('[[Needs_Action/ready-one|ready-one]] — high · ready');
    expect(queue).toContain('[[Needs_Action/blocked-one|blocked-one]] — medium · blocked by [[Needs_Action/ready-one|ready-one]]');
    expect(queue).toContain('[[Needs_Action/orphan|orphan]] — medium · cannot start: blocked\\_by ghost');
    expect(queue).toContain('[[Needs_Action/untrusted|untrusted]] — medium · approval');
    expect(queue).toContain('[[Needs_Action/backing-off|backing-off]] — low · backoff until 12:01:30');
    expect(queue).toContain('[[Needs_Action/fresh|fresh]] — medium · being planned');
    expect(queue).toContain('`Needs_Action/Fix #12.md` — medium · being planned');
    expect(text).toContain('- [[Pending_Approval/risky|risky]] — awaiting approval: set `approved: true` to run it · [[Plans/PLAN_risky|plan]]');
    expect(text).toContain('- [[Needs_Action/look-at-me|look-at-me]] — in review');
    expect(text).toContain('- [[Needs_Action/held|held]] — paused');
    expect(text).toContain('- [[Needs_Action/broke|broke]] — 2026-01-02 11:00:00 · exit 1: \\[\\[not a link\\]\\] \\#notatag · [[Logs/runs/broke/attempt-3|transcript]]');
    const recent = text.slice(text.indexOf('## Recently done'), text.indexOf('## Failed'));
    expect(recent.match(/^- \[\[Done\//gm)).toHaveLength(10);
    expect(text).toContain('[[Needs_Action/no-type|no-type]] — invalid task: type');
    expect(text).toContain('[[Needs_Action/garbled|garbled]] — cannot be read');
    expect(text).toContain('[[Needs_Action/ready-one.sync-conflict-20260101-120000-ABCDEFG|ready-one.sync-conflict-20260101-120000-ABCDEFG]] — sync conflict copy');
    expect(text).toContain('- agent broken cannot be used: broken: program "nope" not found on PATH');
    expect(text).toContain('[[Needs_Action/orphan|orphan]] — blocked\\_by ghost');
    dash.close();
  });

  it('is debounced, and writes only when the content changed (an idle service writes nothing)', async () => {
    task('Needs_Action', 'one', 'type: claude_code\nstatus: planned');
    const ctx = await makeContext();
    const dash = createDashboard({ ctx, runs: runsView(), debounceMs: 150 });
    const path = ctx.paths.dashboard;
    const exists = () => readdirSync(vault).includes('Dashboard.md');
    dash.schedule();
    dash.schedule();
    dash.schedule();
    await new Promise((r) => setTimeout(r, 60));
    expect(exists()).toBe(false); // not yet: debounced
    const until = Date.now() + 10_000;
    while (!exists() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(exists()).toBe(true);
    const first = readFileSync(path, 'utf8');
    const st1 = statSync(path);

    // Time passes, nothing changes: no write at all (same inode, same mtime, same bytes).
    clockNow += 3 * 3_600_000;
    await dash.flush();
    await dash.flush();
    const st2 = statSync(path);
    expect([st2.ino, st2.mtimeMs]).toEqual([st1.ino, st1.mtimeMs]);
    expect(readFileSync(path, 'utf8')).toBe(first);

    // A change: rewritten, with a new "Updated" line.
    task('Needs_Action', 'two', 'type: claude_code\nstatus: planned');
    await ctx.index.scan();
    await dash.flush();
    const second = readFileSync(path, 'utf8');
    expect(second).toContain('[[Needs_Action/two|two]]');
    expect(second).toContain('*Updated 2026-01-02 15:00 ');
    expect(statSync(path).ino).not.toBe(st1.ino);

    // A person's edit is simply overwritten on the next flush.
    writeFileSync(path, 'my notes\n');
    await dash.flush();
    expect(readFileSync(path, 'utf8')).toBe(second);

    // After close, scheduled writes never happen.
    task('Needs_Action', 'three', 'type: claude_code\nstatus: planned');
    await ctx.index.scan();
    dash.schedule();
    dash.close();
    await new Promise((r) => setTimeout(r, 250));
    expect(readFileSync(path, 'utf8')).toBe(second);
    expect(readdirSync(vault).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('follows Done/ across flushes: newly filed notes lead the recent list, removed ones leave it', async () => {
    const { utimesSync, unlinkSync } = await import('node:fs');
    const at = (name: string, s: number) => utimesSync(join(vault, 'Done', `${name}.md`), s, s);
    for (let i = 0; i < 3; i++) task('Done', `d${i}`, 'type: claude_code\nstatus: done');
    for (let i = 0; i < 3; i++) at(`d${i}`, 1_000_000 + i);
    const ctx = await makeContext();
    const dash = createDashboard({ ctx, runs: runsView(), debounceMs: 10 });
    const recentIds = () => {
      const text = readFileSync(ctx.paths.dashboard, 'utf8');
      return { count: /\| filed in Done\/ \| (\d+) \|/.exec(text)?.[1], ids: [...text.slice(text.indexOf('## Recently done')).matchAll(/^- \[\[Done\/([^|]+)\|/gm)].map((m) => m[1]) };
    };
    await dash.flush();
    expect(recentIds()).toEqual({ count: '3', ids: ['d2', 'd1', 'd0'] });
    task('Done', 'fresh', 'type: claude_code\nstatus: done');
    at('fresh', 2_000_000);
    unlinkSync(join(vault, 'Done', 'd1.md'));
    await dash.flush();
    expect(recentIds()).toEqual({ count: '3', ids: ['fresh', 'd2', 'd0'] });
    dash.close();
  });

  it(`lists the first ${QUEUE_SHOWN} queued tasks and counts the rest; a problem further down is still listed`, async () => {
    const n = QUEUE_SHOWN + 5;
    for (let i = 0; i < n; i++) task('Needs_Action', `q-${String(i).padStart(3, '0')}`, 'type: claude_code\nstatus: planned');
    // Last in dispatch order (low priority, and the youngest): beyond the rows shown.
    task('Needs_Action', 'zz-orphan', 'type: claude_code\nstatus: planned\npriority: low\nblocked_by: ghost');
    const ctx = await makeContext();
    const dash = createDashboard({ ctx, runs: runsView(), debounceMs: 10 });
    await dash.flush();
    const text = readFileSync(ctx.paths.dashboard, 'utf8');
    const queue = text.slice(text.indexOf('## Queue'), text.indexOf('## Waiting for you'));
    expect(queue).toMatch(new RegExp(`^## Queue \\(${n + 1}\\)$`, 'm'));
    expect([...queue.matchAll(/^\d+\. \[\[Needs_Action\//gm)]).toHaveLength(QUEUE_SHOWN);
    expect(queue).toContain(`*…and ${n + 1 - QUEUE_SHOWN} more after these; \`vaultrunner list\` shows them all.*`);
    expect(queue).not.toContain('zz-orphan');
    const problems = text.slice(text.indexOf('## Problems'));
    expect(problems).toContain('[[Needs_Action/zz-orphan|zz-orphan]] — blocked\\_by ghost');
    dash.close();
  });

  it('skips the recent list for a huge Done/ and renders purely', () => {
    const text = renderDashboard(
      { now: 0, counts: {}, running: [], queue: [], person: [], recentDone: [], recentDoneNote: 'Done/ holds 2500 notes; skipped', failed: [], problems: [] },
      { updatedAt: 0 },
    );
    expect(text).toContain('*Done/ holds 2500 notes; skipped*');
    expect(stripVolatile(text)).not.toContain('Updated');
    expect(renderDashboard({ now: 0, counts: {}, running: [], queue: [], person: [], recentDone: [], failed: [], problems: [] }, { updatedAt: 5e12 })).not.toBe(text);
  });
});
