// The running service: lock, watcher, index, and the three components with their timers.
import { mkdir, readdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AgentRegistry } from '../agents/registry.js';
import { closeSharedSpawner } from '../agents/process/index.js';
import { closeSharedScanner } from '../os/proc-scan/proc-scanner.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { shortMessage } from '../errors.js';
import { createDashboard, type Dashboard } from '../dashboard/dashboard-writer.js';
import type { Status } from '../domain/status.js';
import type { EngineContext } from '../engine/context.js';
import { newCycleState } from '../engine/cycle.js';
import { EngineEvents } from '../engine/events.js';
import { RunRegistry } from '../engine/run-registry.js';
import { OwnWrites } from '../engine/transition.js';
import { Executor } from '../executor/executor.js';
import { TaskIndex, type IndexEntry, type TaskIndexOptions } from '../vault/task-index.js';
import { TaskStateStore } from '../vault/task-state.js';
import { createAgentPlanner } from '../orchestrator/agent-planner.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import { createTemplatePlanner } from '../orchestrator/template-planner.js';
import { vaultPaths, VAULT_FOLDERS, type VaultPaths } from '../vault/layout.js';
import { LeaseStore } from '../vault/lease-store.js';
import { NoteStore } from '../vault/note-store.js';
import { acquireServiceLock, type ServiceLock } from '../vault/service-lock.js';
import { removeStaleTemps } from '../vault/json-file.js';
import { removeStaleNoteTemps } from '../vault/stale-note-temps.js';
import { createVaultWatcher } from '../vault/watcher.js';
import { Watchdog } from '../watchdog/watchdog.js';
import { ensureVaultDir } from '../os/safe-open.js';
import { noopNotifier, type Notifier } from '../notify/notifier.js';
import { join } from 'node:path';
import type { RemoteDispatcher } from '../queue/remote-dispatcher.js';
import { redactUrl } from '../queue/redact-url.js';
import type { RemoteRunner } from '../executor/remote-run.js';

/** How long past the runs' grace time a stop waits for orchestrator steps under way. */
const STEP_DRAIN_MS = 5000;

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  agents?: AgentRegistry;
  /** Heartbeat of the service lock (cross-host staleness). */
  heartbeatMs?: number;
  /** How long running agents may finish on shutdown before they are stopped. */
  shutdownGraceMs?: number;
  /** How long an invalid note must be unchanged before its `error:` is written (tests shorten it). */
  invalidSettleMs?: number;
  /** The engine's event bus (tests pass one to wait on facts). */
  events?: EngineEvents;
  /** Told every status transition (the webhook, notify/create-notifier.ts); closed on stop. */
  notifier?: Notifier;
  /** The periodic reconcile's rotation (tests shrink it; see TaskIndex.reconcile). */
  index?: TaskIndexOptions;
  /** Tests: a watcher that loses events, to show the reconcile repairs what was missed. */
  createWatcher?: typeof createVaultWatcher;
}

export interface RunningService {
  ctx: EngineContext;
  events: EngineEvents;
  orchestrator: Orchestrator;
  executor: Executor;
  watchdog: Watchdog;
  /** Dashboard.md's writer (flush() rewrites it now). */
  dashboard: Pick<Dashboard, 'flush'>;
  paths: VaultPaths;
  stop(opts?: { graceMs?: number }): Promise<void>;
}

export async function startService(opts: ServiceOptions): Promise<RunningService> {
  const { config, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const paths = vaultPaths(config.vaultDir);
  await mkdir(paths.root, { recursive: true });
  // A folder that is a symlink leading out of the vault is refused here, with its name, not at the first write.
  for (const dir of [...VAULT_FOLDERS.map((f) => join(paths.root, f)), paths.runs, paths.state, paths.leases, paths.taskState, paths.scratch]) await ensureVaultDir(paths.root, dir);
  const lock: ServiceLock = await acquireServiceLock(paths.lock, () => clock.now());
  // Ours alone now: half-written state files of a crashed predecessor can go.
  const temps = (await removeStaleTemps(paths.leases)) + (await removeStaleTemps(paths.taskState));
  if (temps > 0) logger.debug({ component: 'service', count: temps }, 'removed temp files left by a crash');

  const store = new NoteStore({ vaultRoot: paths.root, logger });
  const index = new TaskIndex(store, paths, logger, () => clock.now(), opts.index);
  const events = opts.events ?? new EngineEvents();
  const base = {
    config,
    paths,
    store,
    index,
    taskState: new TaskStateStore(paths.taskState),
    leases: new LeaseStore(paths.leases, config.leaseTtlMs, () => clock.now()),
    agents: opts.agents ?? AgentRegistry.fromConfig(config),
    clock,
    logger,
    env: opts.env ?? process.env,
    events,
    ownWrites: new OwnWrites(),
  };
  // QUEUE_URL: runs go to remote workers; their stream cursors and jobs live in .vaultrunner/queue/.
  // Loaded only then: BullMQ and the Redis client are most of a service's modules.
  let dispatcher: RemoteDispatcher | undefined;
  let RemoteRunnerClass: typeof RemoteRunner | undefined;
  if (config.queue) {
    const [{ RemoteDispatcher }, { leaseCheck }, { createFileCursorStore }, remoteRun] = await Promise.all([
      import('../queue/remote-dispatcher.js'),
      import('../queue/lease-check.js'),
      import('../queue/file-cursor-store.js'),
      import('../executor/remote-run.js'),
    ]);
    dispatcher = new RemoteDispatcher({ url: config.queue.url, prefix: config.queue.prefix, logger, leases: leaseCheck(base.leases), cursors: createFileCursorStore(join(paths.state, 'queue')) });
    RemoteRunnerClass = remoteRun.RemoteRunner;
  }
  const ctx: EngineContext = { ...base, runs: new RunRegistry(base), ...(dispatcher ? { agentHealth: () => dispatcher.health() } : {}) };
  const planner =
    config.planner === 'agent'
      ? createAgentPlanner({ agentFor: ({ task }) => ctx.agents.get(task.agent ?? config.agent) ?? ctx.agents.get('claude')!, env: ctx.env })
      : createTemplatePlanner();
  const orchestrator = new Orchestrator(ctx, planner, { invalidSettleMs: opts.invalidSettleMs });
  const remote = dispatcher && RemoteRunnerClass ? new RemoteRunnerClass(ctx, dispatcher) : undefined;
  if (config.queue) logger.info({ component: 'service', queue: redactUrl(config.queue.url) }, `runs go to remote workers through the queue at ${redactUrl(config.queue.url)}`);
  const executor = new Executor(ctx, remote);
  const watchdog = new Watchdog(ctx, () => executor.kick());
  const dashboard = createDashboard({ ctx });

  const guard = (name: string, fn: () => Promise<void>) => () =>
    void fn().catch((err) => logger.error({ component: name, err }, `${name} tick failed: ${shortMessage(err)}`));
  // Full passes (at start, and when the watcher may have lost events) check every note with
  // blocking lstats in slices (task-index.ts); the timer's pass checks a rotating share of them
  // and lists a folder only when it changed. A polled filesystem (WATCH_MODE=poll: network
  // mounts) keeps every call off the event loop, and its timer makes full passes.
  const fullScan = () => index.scan({ quickStat: config.watchMode === 'events' });
  const periodicScan = () => (config.watchMode === 'events' ? index.reconcile() : index.scan());
  const rescan = guard('index', fullScan);

  index.on('pass', (p) => events.emit('index:pass', p));
  // The first scan completes before anything is dispatched, so dispatch order sees every task.
  // Nothing else runs yet: blocking reads, without a thread-pool round trip and promises a note
  // (5,000 notes: ~3× faster to ready).
  await index.scan({ blocking: true });
  // Remote runs started before a restart go on on their workers: followed again, not recovered.
  if (remote) await executor.reattach();
  if (config.watchdogAutorun) await watchdog.tick(); // recover a crashed predecessor's tasks at once
  // People steer running tasks by editing the note: pause, cancel, or moving it away.
  const steer = (entry: IndexEntry) => {
    if (!ctx.runs.isLive(entry.id) || entry.state.kind !== 'task') return;
    const s = entry.state.task.status;
    if (s === 'paused' || s === 'cancelled') void ctx.runs.stop(entry.id, s === 'paused' ? 'pause' : 'cancel');
  };
  // A status change we did not write is a person's: logged `from → to (person)` and emitted.
  const seen = new Map<string, Status>();
  for (const e of index.entries()) if (e.state.kind === 'task') seen.set(e.id, e.state.task.status);
  const newCycle = (id: string, attempts: number) =>
    ctx.taskState.patch(id, (cur) => newCycleState(Math.max(cur.cycleStart ?? 0, attempts)));
  const noticePerson = (entry: IndexEntry) => {
    if (entry.state.kind !== 'task') return;
    const to = entry.state.task.status;
    const from = seen.get(entry.id);
    seen.set(entry.id, to);
    const attempts = entry.state.task.attempts;
    // A note coming back with attempts behind it (`retry` from Done/) starts a new cycle too.
    if (from === undefined && (to === 'planned' || to === 'new') && attempts > 0 && !ctx.ownWrites.isOurs(entry.id, entry.hash, to)) void newCycle(entry.id, attempts);
    if (from === undefined || from === to || ctx.ownWrites.isOurs(entry.id, entry.hash, to)) return;
    logger.info({ component: 'service', actor: 'person', task: entry.id, from, to }, `${entry.id}: ${from} → ${to} (person)`);
    const reason = entry.state.task.error ?? undefined;
    events.emit('task:transition', { taskId: entry.id, from, to, actor: 'person', component: 'service', ...(reason ? { reason } : {}) });
    // A person sending a failed task back, or a reviewed one with feedback, starts a new cycle:
    // max_attempts counts from here.
    if ((from === 'failed' || from === 'in_review') && (to === 'planned' || to === 'new')) void newCycle(entry.id, attempts);
  };
  index.on('change', (entry) => {
    noticePerson(entry);
    steer(entry);
    dashboard.schedule();
    if (config.orchestratorAutorun) void orchestrator.handle(entry);
    if (config.executorAutorun) executor.kick();
  });
  // A pause, cancel or move made while the agent was being started found no process to stop:
  // looked at again as soon as it runs.
  const steerStarted = (taskId: string, when: string) => {
    const entry = index.byId(taskId);
    if (entry) steer(entry);
    else if (ctx.runs.isLive(taskId)) {
      logger.info({ component: 'executor', task: taskId }, `${taskId}: note moved or deleted by a person ${when}`);
      void ctx.runs.stop(taskId, 'moved');
    }
  };
  events.on('run:start', (e) => steerStarted(e.taskId, 'while its agent was starting'));
  // Remote runs followed again after a restart started before these listeners: a pause, cancel or
  // move made while the service was down is acted on now.
  for (const r of ctx.runs.all()) if (ctx.runs.isLive(r.taskId)) steerStarted(r.taskId, 'while the service was down');
  index.on('remove', (entry) => {
    dashboard.schedule();
    if (!index.byId(entry.id)) seen.delete(entry.id);
    if (ctx.runs.isLive(entry.id) && !index.byId(entry.id)) {
      logger.info({ component: 'executor', task: entry.id }, `${entry.id}: note moved or deleted by a person during its run`);
      void ctx.runs.stop(entry.id, 'moved');
    }
  });
  // A freed slot may let a waiting agent planner start (its notes get no index event meanwhile).
  if (planner.usesAgent && config.orchestratorAutorun) events.on('run:end', () => void orchestrator.tick());
  // A slot freed by a planner lets the executor start something.
  if (config.executorAutorun) events.on('run:end', (e) => e.kind === 'plan' && executor.kick());

  // Every transition, the engine's and a person's, from the one event; notify() only enqueues.
  const notifier = opts.notifier ?? noopNotifier;
  const unnotify = events.on('task:transition', (e) => notifier.notify({ task: e.taskId, from: e.from, to: e.to, reason: e.reason ?? null }));

  // Polling (chokidar) only where the filesystem sends no events; loaded only then.
  const createWatcher = config.watchMode === 'poll' ? (await import('../vault/poll-watcher.js')).createPollingWatcher : (opts.createWatcher ?? createVaultWatcher);
  const watcher = createWatcher({
    root: paths.root,
    onNote: (path) => void index.refresh(path).catch((err) => logger.error({ component: 'watcher', file: path, err }, 'refresh failed')),
    onConflict: (path) => logger.warn({ component: 'watcher', file: path }, `sync conflict copy found: ${path}; not processed, merge it by hand`),
    onRescan: (reason) => {
      logger.info({ component: 'watcher', reason }, 'rescanning the vault');
      rescan();
    },
    logger,
  });
  await watcher.ready;
  logger.debug({ component: 'watcher', mode: config.watchMode }, config.watchMode === 'poll' ? 'watching the task folders by polling every 1s' : 'watching the task folders for events');

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => void) => timers.push(setInterval(fn, ms));
  // The orchestrator's timer also reconciles the index with the disk: missed events are repaired.
  if (config.orchestratorAutorun) every(config.orchestratorIntervalMs, guard('orchestrator', async () => (await periodicScan(), await orchestrator.tick())));
  else every(config.orchestratorIntervalMs, guard('index', periodicScan));
  if (config.executorAutorun) every(config.executorIntervalMs, guard('executor', () => executor.tick()));
  // Agent health is not an index event, and running times move: the dashboard looks again after a
  // pass when either could have changed it. Idle, it is left alone (a rewrite check costs O(tasks)).
  const health = () => ctx.agents.names().map((n) => `${n}:${ctx.agents.lastProbe(n)?.ok}:${ctx.agents.lastProbe(n)?.detail}`).join('|');
  const watchdogPass = async () => {
    const before = health();
    await watchdog.tick();
    if (ctx.runs.size > 0 || health() !== before) dashboard.schedule();
  };
  if (config.watchdogAutorun) every(config.watchdogIntervalMs, guard('watchdog', watchdogPass));
  every(opts.heartbeatMs ?? 30_000, guard('lock', () => lock.heartbeat()));

  if (config.orchestratorAutorun) await orchestrator.tick();
  if (config.executorAutorun) executor.kick();
  dashboard.schedule();
  logger.info({ component: 'service', vault: paths.root }, 'vaultrunner started');
  rescan(); // a note dropped or edited between the first scan and the watch starting is seen now, not at the next timer
  // The first scan cleared the task folders' crash-left temp files; the other folders we write
  // (the Dashboard at the root, plans, reviews) are listed once, off the path to ready. Done/ is
  // left alone: a move's temp there is taken care of by the move (NoteStore.restore).
  void (async () => {
    await dashboard.flush(); // its own temp at the root goes once Dashboard.md is written beside it
    for (const dir of [paths.root, paths.plans, paths.reviews]) {
      const names = await readdir(dir).catch(() => [] as string[]);
      removeStaleNoteTemps(dir, names, logger);
    }
  })().catch((err: unknown) => logger.warn({ component: 'vault', err }, `looking for crash-left temp files failed: ${shortMessage(err)}`));

  let stopped = false;
  return {
    ctx,
    events,
    orchestrator,
    executor,
    watchdog,
    dashboard,
    paths,
    async stop(stopOpts = {}) {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      orchestrator.close();
      await watcher.close();
      const graceMs = stopOpts.graceMs ?? opts.shutdownGraceMs ?? 10_000;
      // Runs get the grace time (an agent planner among them); the orchestrator's steps under way
      // (plan notes, filing, merges) end before the lock is let go, else nothing would stop them
      // writing after "vaultrunner stopped".
      const [, drained] = await Promise.all([executor.shutdown(graceMs), orchestrator.drain(graceMs + STEP_DRAIN_MS)]);
      if (!drained) logger.warn({ component: 'service' }, `an orchestrator step was still under way ${Math.round((graceMs + STEP_DRAIN_MS) / 1000)}s into the stop; stopping anyway (the next start completes it)`);
      // Its runs are stopped: the spawner process goes too (it would also exit when we do).
      closeSharedSpawner();
      closeSharedScanner();
      await remote?.dispatcher.close();
      await dashboard.flush();
      dashboard.close();
      unnotify();
      await notifier.close();
      await lock.release();
      logger.info({ component: 'service' }, 'vaultrunner stopped');
    },
  };
}
