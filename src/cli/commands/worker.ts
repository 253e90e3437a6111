// `vaultrunner worker`: take runs from the queue and execute them on this machine. Its agents,
// permission ceiling, timeout and gates come from this machine's .env, never from the job.
import { AgentRegistry } from '../../agents/registry.js';
import { ConfigError } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import { createGateRunner } from '../../queue/gates.js';
import { createGitWorkspace } from '../../queue/git-workspace.js';
import { RemoteWorker } from '../../queue/worker.js';
import { workerSettings } from '../../queue/worker-config.js';
import type { Command } from '../command.js';
import { configFor, readEnv } from '../load-config.js';

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run agents for a vaultrunner service elsewhere, taking runs from its Redis queue',
  usage: 'worker --queue redis://host:6379 [--concurrency N] [--agents claude,codex] [--workdir DIR]',
  help: [
    'Agents, CLAUDE_BIN, COMMAND_AGENTS, PERMISSION_MODE (ceiling), TASK_TIMEOUT (longest run), GATES',
    'and WORKER_REMOTES come from this machine\'s .env; a job can only ask for less. SIGINT/SIGTERM: stop',
    'taking runs, let running ones finish for KILL_GRACE×2, then stop them (they are retried elsewhere).',
  ].join('\n'),
  options: {
    queue: { type: 'string' },
    concurrency: { type: 'string' },
    agents: { type: 'string' },
    workdir: { type: 'string' },
  },
  async run(ctx) {
    const env = readEnv(ctx);
    const config = configFor(ctx);
    const v = ctx.values;
    const s = workerSettings({ queue: str(v.queue), concurrency: str(v.concurrency), agents: str(v.agents), workdir: str(v.workdir) }, env, ctx.io.cwd);
    const registry = AgentRegistry.fromConfig(config);
    const missing = (s.agents ?? []).filter((a) => !registry.get(a));
    if (missing.length > 0) throw new ConfigError(`--agents names ${missing.join(', ')}, which this machine does not configure (configured: ${registry.names().join(', ')})`);
    const { logger, close } = createLogger({ level: config.logLevel, console: true });
    const worker = new RemoteWorker({
      url: s.queueUrl,
      prefix: s.prefix,
      logger,
      agents: registry,
      serve: s.agents,
      concurrency: s.concurrency,
      permissionCeiling: config.permissionMode,
      maxTimeoutMs: config.taskTimeoutMs,
      ...(config.maxBudgetUsd !== undefined ? { maxBudgetUsd: config.maxBudgetUsd } : {}),
      killGraceMs: config.killGraceMs,
      env,
      workspace: createGitWorkspace({ workdir: s.workdir, env }),
      gates: createGateRunner(s.gates, s.gateTimeoutMs),
      allowedRemotes: s.allowedRemotes,
      lockDurationMs: s.lockDurationMs,
      stalledIntervalMs: s.stalledIntervalMs,
    });
    worker.start();
    return new Promise<number>((resolveExit) => {
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        if (++signals > 1) process.exit(130);
        logger.info({ component: 'worker' }, `${sig}: finishing running jobs (send again to exit at once)`);
        void worker.close(config.killGraceMs * 2).then(() => {
          close();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolveExit(0);
        });
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
  },
};

const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
