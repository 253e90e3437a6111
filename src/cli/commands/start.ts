import { AgentRegistry } from '../../agents/registry.js';
import { sharedSpawner } from '../../agents/process/index.js';
import { sharedScanner } from '../../os/proc-scan/proc-scanner.js';
import { createLogger } from '../../log/logger.js';
import { startService } from '../../service/service.js';
import { LockHeldError } from '../../vault/service-lock.js';
import { redactUrl } from '../../queue/redact-url.js';
import type { Command } from '../command.js';
import { configFor, readEnv, requireVault } from '../load-config.js';
import { formatDuration } from '../../config/duration.js';
import { UsageError } from '../../errors.js';
import { notifierFromConfig } from '../../notify/create-notifier.js';
import type { WebView } from '../../web/start-web.js';
import { isLoopbackHost, loadWebConfig, type WebConfig } from '../../web/web-config.js';

const REPEAT_WINDOW_MS = 500;
const PARENT_POLL_MS = 500;
const EXIT_AFTER_STOP_MS = 1000;

export const startCommand: Command = {
  name: 'start',
  summary: 'run the service on the vault until SIGINT/SIGTERM',
  usage: 'start [--vault <dir>] [--web [port]] [--exit-with-parent]',
  help: [
    'A first SIGINT/SIGTERM stops claiming tasks, gives running agents a grace period, then stops them;',
    'a second one (more than half a second later) exits at once.',
    '--exit-with-parent shuts down the same way when the process that started it goes away',
    "(`npm start` uses it, so the service never outlives npm); don't use it under nohup.",
    '--web [port] also serves the live web view (WEB_PORT; bare --web: WEB_PORT, else any free port); the banner',
    "prints its address with the access token, 'vaultrunner web-url' prints it again. See docs/web.md.",
  ].join('\n'),
  // parseArgs has no optional values: --web is a flag and its port, if any, the one positional.
  options: { 'exit-with-parent': { type: 'boolean' }, web: { type: 'boolean' } },
  positionals: [0, 1],
  async run(ctx) {
    const config = configFor(ctx);
    requireVault(config); // never create a vault where none is: that is `init`'s job
    const { io } = ctx;
    const env = readEnv(ctx);
    const web = webConfigFor(ctx, env);
    const { logger, close } = createLogger({ vaultDir: config.vaultDir, level: config.logLevel, console: true });
    const agents = AgentRegistry.fromConfig(config);
    // The default agent and command agents (cheap) now, all at once; another CLI is probed when a
    // task first asks for it (`gemini --version` alone takes seconds), and `doctor` checks them all.
    // With remote workers the agents run there: nothing to probe on this machine.
    const now = config.queue ? [] : agents.names().filter((name) => name === config.agent || agents.get(name)?.kind === 'command');
    const later = config.queue ? [] : agents.names().filter((name) => !now.includes(name));
    const found = await Promise.all(
      now.map(async (name) => {
        const p = await agents.probe(name, Date.now(), 0);
        return `${name} ${p?.ok ? `✓${p.version ? ` ${p.version}` : ''}` : `✗ (${p?.detail ?? 'unknown'})`}`;
      }),
    );
    if (later.length) found.push(`${later.join(', ')} (checked when a task needs one)`);
    if (config.queue) found.push(`${agents.names().join(', ')} on the remote workers`);
    // Signals are ours from here: one that arrives while the service starts (or the web view) is
    // acted on once it is up; a second one exits at once. Without this, a SIGTERM right after the
    // "vaultrunner started" line but before the handlers below killed us with no stop at all.
    let early: NodeJS.Signals | undefined;
    let earlyAt = 0;
    const onEarly = (sig: NodeJS.Signals) => {
      if (!early) (early = sig), (earlyAt = Date.now());
      // (Ctrl-C under npm arrives twice at once: one signal, as below.)
      else if (Date.now() - earlyAt >= REPEAT_WINDOW_MS) process.exit(130);
    };
    process.on('SIGINT', onEarly);
    process.on('SIGTERM', onEarly);
    const dropEarly = () => {
      process.off('SIGINT', onEarly);
      process.off('SIGTERM', onEarly);
    };
    io.stderr.write(
      [
        `vaultrunner — vault ${config.vaultDir}`,
        `  whitelist   ${config.executorTypes.join(', ') || '(none)'}`,
        `  agents      ${found.join('; ')} (default: ${config.agent})`,
        `  concurrency ${config.maxConcurrent}, timeout ${formatDuration(config.taskTimeoutMs)}, permission ceiling ${config.permissionMode}, planner ${config.planner}${config.watchMode === 'poll' ? ', watching by polling (1s)' : ''}`,
        `  logs        ${config.vaultDir}/Logs (vaultrunner logs -f)`,
        ...(config.queue ? [`  queue       runs go to remote workers via ${redactUrl(config.queue.url)}`] : []),
        ...(web.notifyUrl ? [`  notify      ${new URL(web.notifyUrl).host} on ${web.notifyOn.join(', ')}`] : []),
        '',
      ].join('\n'),
    );
    let view: WebView | undefined;
    const notifier = notifierFromConfig(web, { logger, webUrl: () => view?.url });
    let service;
    try {
      service = await startService({ config, logger, agents, env, notifier });
    } catch (err) {
      dropEarly();
      close();
      if (err instanceof LockHeldError) {
        io.stderr.write(`vaultrunner: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
    const running = service;
    if (web.port !== undefined) {
      try {
        // Loaded only when asked for: the web view (hono, marked) is ~10 MB the service need not carry.
        const { startWebView } = await import('../../web/start-web.js');
        view = await startWebView({ web, deps: { ...running.ctx, runs: () => running.ctx.runs.all() }, logger });
      } catch (err) {
        dropEarly();
        await running.stop();
        close();
        io.stderr.write(`vaultrunner: the web view did not start on ${web.host}:${web.port}: ${(err as Error).message}\n`);
        return 1;
      }
      // The terminal only: the logger (and so vault/Logs/) never sees the token. One write with
      // its warning: whoever reads the address reads the warning with it.
      const warning = isLoopbackHost(web.host) ? '' : `  warning     WEB_HOST=${web.host} is not loopback: the page is reachable from the network; anyone with the token can steer tasks\n`;
      io.stderr.write(`  web         ${view.urlWithToken}\n${warning}`);
    }
    const webView = view;
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
        // The page first: its event streams end, and no action arrives while the service stops.
        void (webView?.close() ?? Promise.resolve())
          .catch((err: unknown) => logger.warn({ component: 'web', err }, 'closing the web view failed'))
          .then(() => running.stop())
          .then(() => {
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
      dropEarly();
      // Node has no parent-death signal: poll. A new parent pid means ours exited and we were adopted.
      if (ctx.values['exit-with-parent']) {
        orphanWatch = setInterval(() => process.ppid !== parent && onSignal('parent exit'), PARENT_POLL_MS);
        orphanWatch.unref();
      }
      if (early) onSignal(early); // it came while we started
      // Agents are forked by the spawner process, and their leftovers found by the scanner
      // process: both started now, not in the first task's pickup or at its end.
      else if (config.executorAutorun && !config.queue) {
        sharedSpawner().prestart();
        sharedScanner().prestart();
      }
    });
  },
};

/** WEB_PORT and friends from the environment and .env; `--web [port]` sets the port. */
function webConfigFor(ctx: Parameters<Command['run']>[0], env: NodeJS.ProcessEnv): WebConfig {
  const [port] = ctx.positionals;
  if (port !== undefined && !ctx.values.web) throw new UsageError(`unexpected argument ${JSON.stringify(port)}; did you mean 'start --web ${port}'?`);
  if (!ctx.values.web) return loadWebConfig(env);
  return loadWebConfig(env, { WEB_PORT: port ?? (env.WEB_PORT?.trim() || '0') });
}
