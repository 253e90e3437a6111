// A real temp vault, the real service (components off, so statuses stay where a test puts them),
// and the web view started the way the service will start it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadWebConfig } from '../../src/web/web-config.js';
import { silentLogger } from '../../src/log/logger.js';
import { startWebView, type WebView } from '../../src/web/start-web.js';
import type { TransitionView } from '../../src/web/ports.js';
import { createHarness, type Harness } from '../helpers/vault-harness.js';

export interface WebHarness {
  h: Harness;
  web: WebView;
  transitions: TransitionView[];
  workspace: string;
  stop(): Promise<void>;
}

export async function startWebHarness(opts: { maxStreamMs?: number; env?: Record<string, string> } = {}): Promise<WebHarness> {
  const h = createHarness({ ORCHESTRATOR_AUTORUN: 'false', EXECUTOR_AUTORUN: 'false', WATCHDOG_AUTORUN: 'false', EXECUTOR_TYPES: 'claude_code,demo', ...opts.env });
  const workspace = join(h.root, 'projects');
  mkdirSync(join(workspace, 'api'), { recursive: true });
  const service = await h.start();
  const transitions: TransitionView[] = [];
  const web = await startWebView({
    web: loadWebConfig({ WEB_PORT: '0' }),
    deps: { ...service.ctx, runs: () => service.ctx.runs.all() },
    logger: silentLogger(),
    onTransition: (t) => transitions.push(t),
    maxStreamMs: opts.maxStreamMs,
  });
  return {
    h,
    web,
    transitions,
    workspace,
    async stop() {
      await web.close();
      await h.stop();
      h.cleanup();
    },
  };
}
