import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { concurrency, createHarness, eventsFrom, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
});

describe('a dropped note', () => {
  it('goes new → planned → executing → done and is filed in Done/ with plan, attempts, timestamps and log lines', async () => {
    h = createHarness();
    await h.start();
    h.drop('write-hello', 'type: claude_code\ntitle: Write hello\n# a comment the service must keep\npriority: high', '# Write hello\n\nSay hello.\n\n## Acceptance criteria\n\n- [ ] RESULT.md exists\n');
    const done = await waitFor(() => h.find('write-hello')?.folder === 'Done' && h.find('write-hello'), 'task filed in Done');
    expect(done.text).toMatch(/^status: done$/m);
    expect(done.text).toMatch(/^attempts: 1$/m);
    expect(done.text).toMatch(/^started_at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/m);
    expect(done.text).toMatch(/^finished_at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/m);
    expect(done.text).toContain('plan: "[[PLAN_write-hello]]"');
    expect(done.text).toContain('# a comment the service must keep');
    expect(done.text).toMatch(/^run_log: "\[\[Logs\/runs\/write-hello\/attempt-1\]\]"$/m);
    // The key order a person wrote is kept; our keys come after.
    expect(done.text.indexOf('type:')).toBeLessThan(done.text.indexOf('status:'));
    const plan = readFileSync(join(h.vault, 'Plans', 'PLAN_write-hello.md'), 'utf8');
    expect(plan).toContain('task: "[[write-hello]]"');
    expect(plan).toContain('- [ ] RESULT.md exists');
    expect(existsSync(join(h.vault, 'Logs', 'runs', 'write-hello', 'attempt-1.md'))).toBe(true);
    // The agent really ran in the task's scratch working dir.
    expect(readFileSync(join(h.vault, '.vaultrunner', 'work', 'write-hello', 'RESULT.md'), 'utf8')).toContain('Write hello');
    const moves = h
      .logLines()
      .filter((l) => l.task === 'write-hello' && l.from)
      .map((l) => `${String(l.from)}>${String(l.to)}:${String(l.component)}`);
    expect(moves).toEqual(['new>planned:orchestrator', 'planned>executing:executor', 'executing>done:executor']);
    expect(h.runs().filter((r) => r.task === 'write-hello')).toHaveLength(1);
  });

  it('never sends a non-whitelisted type to an agent until a person approves it', async () => {
    h = createHarness();
    await h.start();
    h.drop('risky', 'type: shell_script\ntitle: Risky');
    const pending = await waitFor(() => h.find('risky')?.folder === 'Pending_Approval' && h.find('risky'), 'task in Pending_Approval');
    expect(pending.text).toMatch(/^status: awaiting_approval$/m);
    await eventsFrom(h.events, 'dispatch:pass', 3); // three executor passes since it was held
    expect(h.runs()).toHaveLength(0);
    // The person approves by editing the note.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(pending.path, pending.text.replace('title: Risky', 'title: Risky\napproved: true'));
    await waitFor(() => h.find('risky')?.folder === 'Done', 'approved task done');
    expect(h.runs().map((r) => r.task)).toEqual(['risky']);
  });

  it('holds tasks that require approval even when their type is whitelisted', async () => {
    h = createHarness();
    await h.start();
    h.drop('careful', 'type: claude_code\nrequires_approval: true');
    await waitFor(() => h.find('careful')?.folder === 'Pending_Approval', 'held for approval');
    await eventsFrom(h.events, 'dispatch:pass', 3);
    expect(h.runs()).toHaveLength(0);
  });

  it('reports an invalid note in `error` and plans it once a person fixes it', async () => {
    h = createHarness();
    await h.start();
    const path = h.drop('sloppy', 'type: claude_code\npriority: hgh');
    const text = await waitFor(() => /^error: /m.test(h.read(path)) && h.read(path), 'error written');
    expect(text).toMatch(/^error: "invalid task: priority: \\"hgh\\" \(expected one of urgent, high, medium, low\)"$/m);
    expect(text).not.toMatch(/^status:/m);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, text.replace('priority: hgh', 'priority: high'));
    const done = await waitFor(() => h.find('sloppy')?.folder === 'Done' && h.find('sloppy'), 'fixed task done');
    expect(done.text).not.toMatch(/^error:/m);
  });

  it('waits until an invalid note has been still for a while before writing its error', async () => {
    // Obsidian saves while a person types: `status: pa` on the way to `paused` must not be answered.
    h = createHarness({}, { invalidSettleMs: 2000 });
    await h.start();
    const { writeFileSync, statSync } = await import('node:fs');
    const looked = (n: number) => eventsFrom(h.events, 'orchestrator:step', n, (e) => e.taskId === 'typing');
    let steps = looked(1);
    const path = h.drop('typing', 'type: claude_code\nstatus: pa');
    await steps; // the orchestrator has judged the invalid note, and wrote nothing yet
    expect(h.read(path)).not.toMatch(/^error:/m);
    steps = looked(1);
    writeFileSync(path, h.read(path).replace('status: pa', 'status: pau')); // still typing
    const lastSave = statSync(path).mtimeMs;
    await steps; // looked at again after the second save: still nothing written
    expect(h.read(path)).not.toMatch(/^error:/m);
    const text = await waitFor(() => /^error: /m.test(h.read(path)) && h.read(path), 'error written once still');
    expect(statSync(path).mtimeMs - lastSave).toBeGreaterThanOrEqual(1900);
    expect(text).toMatch(/^error: .*status: \\"pau\\"/m);
    // Finished typing: `paused` is valid, and the error about the typo goes away.
    writeFileSync(path, text.replace('status: pau', 'status: paused'));
    const fixed = await waitFor(() => !/^error:/m.test(h.read(path)) && h.read(path), 'stale error cleared');
    expect(fixed).toMatch(/^status: paused$/m);
    expect(h.runs()).toHaveLength(0);
  });

  it('reports an unknown status once, keeps the typo, and plans the task once it is fixed', async () => {
    h = createHarness();
    await h.start();
    const path = h.drop('typo', 'type: claude_code\nstatus: planed # sic');
    const text = await waitFor(() => /^error: /m.test(h.read(path)) && h.read(path), 'error written');
    expect(text).toMatch(/^error: .*status: \\"planed\\"/m);
    expect(text).toMatch(/^status: planed # sic$/m);
    // Several orchestrator passes later: the note is not rewritten and the warning is not repeated.
    await eventsFrom(h.events, 'orchestrator:step', 3, (e) => e.taskId === 'typo');
    expect(h.read(path)).toBe(text);
    expect(h.logLines().filter((l) => l.task === 'typo' && l.level === 40)).toHaveLength(1);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, text.replace('status: planed # sic', 'status: new'));
    await waitFor(() => h.find('typo')?.folder === 'Done', 'fixed task done');
  });
});

describe('dispatch', () => {
  it('holds MAX_CONCURRENT and one run per working_dir under 50 tasks', async () => {
    h = createHarness({ MAX_CONCURRENT: '4' }, { agentEnv: { FIXTURE_SLEEP_MS: '150' } });
    const { mkdirSync } = await import('node:fs');
    const dirs = ['a', 'b', 'c'].map((d) => join(h.root, 'work', d));
    for (const d of dirs) mkdirSync(d, { recursive: true });
    await h.start();
    for (let i = 0; i < 50; i++) {
      // 30 tasks share three working dirs; 20 get their own scratch dir.
      const dir = i < 30 ? `\nworking_dir: ${dirs[i % 3]}` : '';
      h.drop(`t${String(i).padStart(2, '0')}`, `type: claude_code\nstatus: planned${dir}`);
    }
    await waitFor(() => h.runs().filter((r) => r.end).length === 50, '50 runs finished', 60_000, 100);
    const runs = h.runs();
    const all = concurrency(runs);
    expect(all.peak).toBeLessThanOrEqual(4);
    expect(all.peak).toBeGreaterThan(1); // it really runs in parallel
    const byTask = concurrency(runs, (r) => r.task);
    expect(byTask.overlaps).toEqual([]);
    const dirOf = (task: string) => (Number(task.slice(1)) < 30 ? String(Number(task.slice(1)) % 3) : task);
    expect(concurrency(runs, (r) => dirOf(r.task)).overlaps).toEqual([]);
    await waitFor(() => Array.from({ length: 50 }, (_, i) => h.find(`t${String(i).padStart(2, '0')}`)?.folder).every((f) => f === 'Done'), 'all in Done');
  }, 90_000);

  it('runs in priority order, then due date, then age', async () => {
    h = createHarness({ MAX_CONCURRENT: '1' });
    await (await import('../../src/vault/init-vault.js')).initVault(h.vault, { examples: false });
    h.drop('low', 'type: claude_code\nstatus: planned\npriority: low');
    h.drop('med-late', 'type: claude_code\nstatus: planned\npriority: medium\ndue: 2030-01-02');
    h.drop('med-early', 'type: claude_code\nstatus: planned\npriority: medium\ndue: 2030-01-01');
    h.drop('urgent', 'type: claude_code\nstatus: planned\npriority: urgent');
    h.drop('high', 'type: claude_code\nstatus: planned\npriority: high');
    await h.start();
    await waitFor(() => h.runs().filter((r) => r.end).length === 5, 'five runs');
    expect(h.runs().map((r) => r.task)).toEqual(['urgent', 'high', 'med-early', 'med-late', 'low']);
  });

  it('gates on blocked_by (names and wikilinks, AND) and reports cycles and missing dependencies', async () => {
    h = createHarness({ MAX_CONCURRENT: '3' });
    await h.start();
    h.drop('second', 'type: claude_code\nblocked_by:\n  - "[[first]]"\n  - zeroth');
    h.drop('first', 'type: claude_code');
    h.drop('zeroth', 'type: claude_code');
    h.drop('ping', 'type: claude_code\nblocked_by: "[[pong]]"');
    h.drop('pong', 'type: claude_code\nblocked_by: ping');
    h.drop('orphan', 'type: claude_code\nblocked_by: "[[nobody]]"');
    await waitFor(() => h.find('second')?.folder === 'Done', 'second done');
    const runs = h.runs();
    const second = runs.find((r) => r.task === 'second')!;
    for (const dep of ['first', 'zeroth']) expect(runs.find((r) => r.task === dep)!.end!).toBeLessThanOrEqual(second.start);
    const ping = await waitFor(() => /^error: .*cycle/m.test(h.find('ping')!.text) && h.find('ping')!.text, 'cycle reported');
    expect(ping).toMatch(/cycle: ping → pong → ping/);
    await waitFor(() => /^error: .*nobody/m.test(h.find('orphan')!.text), 'missing dependency reported');
    expect(runs.map((r) => r.task)).not.toContain('ping');
    expect(runs.map((r) => r.task)).not.toContain('orphan');
    expect(h.logLines().some((l) => l.task === 'pong' && String(l.problem).includes('cycle'))).toBe(true);
  });
});
