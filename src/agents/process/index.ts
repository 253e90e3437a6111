// The shared process layer every agent adapter runs its CLI through. A new adapter needs only:
//
//   const handle = spawnProcess({
//     program, args,                 // argv array: never a shell string
//     cwd: req.cwd,
//     stdin: req.prompt,             // written, then stdin is closed
//     env: cleanEnv(req.env, { MY_VAR: 'x' }),   // enclosing-session markers and stale run vars removed
//     onStdoutLine: ({ line, truncated, bytes }) => { /* parse one line */ },
//     onStderrLine: ({ line }) => { /* … */ },
//   });
//   const outcome = handle.exit.then((exit) => judge(exit));   // ProcessExit: exitCode, signal, spawnError, stopReason
//   return handle.control.run(outcome, 'my agent');            // AgentRun: pid, outcome (never rejects), stop(reason, graceMs)
//
// spawnProcess spawns detached (its own process group), splits stdout/stderr into bounded lines,
// drains the pipes after the leader exits (a grandchild holding them is cut off after 2 s), and
// ends leftovers in the group. stop() SIGTERMs the whole group and SIGKILLs it after the grace.
// A run with `outputFiles` is forked by a small spawner process (spawner/, one per service, started
// by `vaultrunner start` once the service is up, else on first use) instead of the service itself; its pid is then known when `handle.spawned` settles.
// Helpers: failedRun (a run that never started), missingCwd, isNotFound / notFoundWhy (spawn
// errors), stoppedError (timeout/cancel/pause/shutdown as typed errors), safeCall (sinks),
// gatedRun + FirstStartGate (a run that starts only after another one showed a shared setup is done).
export { agentEnv, cleanEnv, ENCLOSING_SESSION_VARS, RUN_VARS, VENDOR_SECRETS, type Vendor } from './env.js';
export { DEFAULT_MAX_LINE_BYTES, LineSplitter, type SplitLine } from './line-splitter.js';
export { FirstStartGate, gatedRun, type GateRelease } from './gated-run.js';
export { RunControl } from './run-control.js';
export { failedRun, idleError, isNotFound, missingCwd, notFoundWhy, safeCall, spawnProcess, stoppedError, type ProcessExit, type ProcessHandle, type SpawnOptions } from './spawn.js';
export { closeSharedSpawner, setSharedSpawner, sharedSpawner, SpawnerClient, type SpawnerClientOptions } from './spawner/spawner-client.js';
