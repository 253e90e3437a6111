// Between the note's `executing` and the agent's spawn there is no process to stop: a pause or
// cancel a person makes then, or a service stop, must still stop the agent once it exists. The
// window is held open on purpose: the real fixture agent is spawned, but its `spawned` promise
// (what the engine waits on before the run counts as running) is held until the test lets it go.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent, AgentRun } from '../../src/agents/agent.js';
import { AgentRegistry } from '../../src/agents/registry.js';
import { groupRunning } from '../../src/os/process.js';
import { createHarness, nextEvent, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  h = undefined;
});

/** The config's agents, with `name`'s runs held in the starting window until `open()`. */
function heldAgents(config: Harness['config'], name: string) {
  let open!: () => void;
  const gate = new Promise<void>((res) => (open = res));
  const base = AgentRegistry.fromConfig(config);
  const real = base.get(name)!;
  const pids: number[] = [];
  const held: Agent = Object.assign(Object.create(real) as Agent, {
    start(req: Parameters<Agent['start']>[0]): AgentRun {
      const run = real.start(req);
      const spawned = Promise.all([run.spawned, gate]).then(() => void pids.push(run.pid));
      return { get pid() { return run.pid; }, spawned, outcome: run.outcome, stop: (reason, graceMs) => run.stop(reason, graceMs) };
    },
  });
  return { registry: new AgentRegistry(base.names().map((n) => (n === name ? held : base.get(n)!))), open, pids };
}

function setStatus(path: string, status: string): void {
  writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: .*$/m, `status: ${status}`));
}

describe('the window between `executing` and the spawn', () => {
  it.each(['paused', 'cancelled'] as const)('a note set %s in it: the agent is stopped as soon as it runs, and the note keeps the person\'s word', async (status) => {
    const opts: Parameters<typeof createHarness>[1] & object = {};
    h = createHarness({ AGENT: 'hang', TASK_TIMEOUT: '10m' }, opts);
    const held = heldAgents(h.config, 'hang');
    opts.service = { agents: held.registry };
    const service = await h.start();
    let path = '';
    h.events.on('task:transition', (e) => e.taskId === 'held' && e.to === 'executing' && setStatus(path, status));
    path = h.drop('held', 'type: claude_code\nmax_attempts: 1');
    // The service has seen the person's edit while the agent was still starting.
    await waitFor(() => {
      const e = service.ctx.index.byId('held');
      return e?.state.kind === 'task' && e.state.task.status === status;
    }, `index sees ${status}`);
    expect(service.executor.isRunning('held')).toBe(true);
    const ended = nextEvent(h.events, 'run:end', (e) => e.taskId === 'held', 20_000);
    held.open();
    const end = await ended;
    expect(end.stopReason).toBe(status === 'paused' ? 'pause' : 'cancel');
    expect(held.pids[0]).toBeGreaterThan(0);
    expect(groupRunning(held.pids[0]!)).toBe(false);
    const note = await waitFor(() => (status === 'paused' || h!.find('held')?.folder === 'Done') && h!.find('held'), 'note settled');
    expect(note.text).toMatch(new RegExp(`^status: ${status}$`, 'm'));
    expect(held.pids).toHaveLength(1); // one spawn, not a second
  });

  it('a service stopped in it waits for the spawn and stops the agent before it says stopped', async () => {
    const opts: Parameters<typeof createHarness>[1] & object = {};
    h = createHarness({ AGENT: 'hang', TASK_TIMEOUT: '10m' }, opts);
    const held = heldAgents(h.config, 'hang');
    opts.service = { agents: held.registry };
    await h.start();
    const executing = nextEvent(h.events, 'task:transition', (e) => e.taskId === 'held' && e.to === 'executing');
    h.drop('held', 'type: claude_code');
    await executing;
    let stopped = false;
    const stopping = h.stop().then(() => (stopped = true));
    // The run is still starting: the stop waits for it rather than leaving an agent behind.
    await waitFor(() => h!.runs().length === 1, 'agent process started');
    expect(stopped).toBe(false);
    held.open();
    await stopping;
    expect(held.pids[0]).toBeGreaterThan(0);
    expect(groupRunning(held.pids[0]!)).toBe(false);
    // Interrupted by the stop, not failed: back to planned, so the next start runs it again.
    expect(h.status('held')).toBe('planned');
    expect(h.find('held')!.text).not.toMatch(/^error:/m);
  });
});
