import { AgentRegistry } from '../../agents/registry.js';
import { createLogger } from '../../log/logger.js';
import { startService } from '../../service/service.js';
import { LockHeldError } from '../../vault/service-lock.js';
import type { Command } from '../command.js';
import { configFor, readEnv, requireVault } from '../load-config.js';
import { formatDuration } from '../../config/duration.js';

const REPEAT_WINDOW_MS = 500;
const PARENT_POLL_MS = 500;
const EXIT_AFTER_STOP_MS = 1000;

export const startCommand: Command = {
  name: 'start',
  summary: 'run the service on the vault until SIGINT/SIGTERM',
  usage: 'start [--vault <dir>] [--exit-with-parent]',
  help: [
    'A first SIGINT/SIGTERM stops claiming tasks, gives running agents a grace period, then stops them;',
    'a second one (more than half a second later) exits at once.',
    '--exit-with-parent shuts down the same way when the process that started it goes away',
    "(`npm start` uses it, so the service never outlives npm); don't use it under nohup.",
  ].join('\n'),
  options: { 'exit-with-parent': { type: 'boolean' } },
  async run(ctx) {
    const config = configFor(ctx);
    requireVault(config); // never create a vault where none is: that is `init`'s job
    const { io } = ctx;
    const { logger, close } = createLogger({ vaultDir: config.vaultDir, level: config.logLevel, console: true });
    const agents = AgentRegistry.fromConfig(config);
    const found: string[] = [];
    for (const name of agents.names()) {
      const p = await agents.probe(name, Date.now(), 0);
      found.push(`${name} ${p?.ok ? `✓${p.version ? ` ${p.version}` : ''}` : `✗ (${p?.detail ?? 'unknown'})`}`);
    }
    io.stderr.write(
      [
        `vaultrunner — vault ${config.vaultDir}`,
        `  whitelist   ${config.executorTypes.join(', ') || '(none)'}`,
        `  agents      ${found.join('; ')} (default: ${config.agent})`,
        `  concurrency ${config.maxConcurrent}, timeout ${formatDuration(config.taskTimeoutMs)}, permission ceiling ${config.permissionMode}, planner ${config.planner}${config.watchMode === 'poll' ? ', watching by polling (1s)' : ''}`,
        `  logs        ${config.vaultDir}/Logs (vaultrunner logs -f)`,
        '',
      ].join('\n'),
    );
    let service;
    try {
      service = await startService({ config, logger, agents, env: readEnv(ctx) });
    } catch (err) {
      close();
      if (err instanceof LockHeldError) {
        io.stderr.write(`vaultrunner: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
    const running = service;
    const parent = process.ppid;
    return new Promise<number>((resolveExit) => {
      let signals = 0;
      let firstAt = 0;
      let orphanWatch: NodeJS.Timeout | undefined;
      const onSignal = (sig: NodeJS.Signals | 'parent exit') => {
        // Ctrl-C under npm arrives twice at once (from the terminal and forwarded by npm): one signal.
        if (signals > 0 && Date.now() - firstAt < REPEAT_WINDOW_MS) return;
        signals++;
        if (signals === 1) firstAt = Date.now();
        if (signals > 1) {
          logger.warn({ component: 'service' }, `second ${sig}: exiting now`);
          process.exit(130);
        }
        logger.info({ component: 'service' }, `${sig}: shutting down (send again to exit at once)`);
        clearInterval(orphanWatch);
        void running.stop().then(() => {
          close();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          // The service has stopped; a timer it left behind (e.g. a retry backoff) must not keep
          // the process alive for minutes. Unref'd: a process that can exit sooner does.
          setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_AFTER_STOP_MS).unref();
          resolveExit(0);
        });
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      // Node has no parent-death signal: poll. A new parent pid means ours exited and we were adopted.
      if (ctx.values['exit-with-parent']) {
        orphanWatch = setInterval(() => process.ppid !== parent && onSignal('parent exit'), PARENT_POLL_MS);
        orphanWatch.unref();
      }
    });
  },
};
