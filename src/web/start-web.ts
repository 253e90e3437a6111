// Starting the web view beside a running service: the token, the adapter, the path redactor and
// the server, plus `.vaultrunner/web.json` (the address, never the token) for `vaultrunner web-url`.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { WebConfig } from './web-config.js';
import { readJson, writeJson } from '../vault/json-file.js';
import { ensureWebToken } from './access-token.js';
import type { ReadModelEvent, TransitionView, WebActions, WebReadModel } from './ports.js';
import { createRedactor, rootNames } from './redact.js';
import { startWebServer } from './server.js';
import { createServiceAdapter, type ServiceAdapterDeps } from './service-adapter.js';

export const WEB_STATE_FILE = 'web.json';

export interface WebView {
  /** The page's address without the token. */
  url: string;
  /** The one line the banner prints: the address with `?token=`. Never log it. */
  urlWithToken: string;
  port: number;
  model: WebReadModel & WebActions;
  close(): Promise<void>;
}

export interface StartWebOptions {
  web: WebConfig;
  deps: ServiceAdapterDeps;
  logger: Logger;
  /** Called for each status change the read model sees (the webhook has the engine's own events: service.ts). */
  onTransition?: (t: TransitionView) => void;
  maxStreamMs?: number;
  port?: number;
}

export async function startWebView(opts: StartWebOptions): Promise<WebView> {
  const { deps, web, logger } = opts;
  await mkdir(deps.paths.state, { recursive: true });
  const secret = await ensureWebToken(deps.paths.state);
  const model = createServiceAdapter(deps);
  const names = rootNames(deps.config.workspaceRoots);
  const redact = createRedactor({ vaultRoot: deps.paths.root, roots: deps.config.workspaceRoots.map((path, i) => ({ path, name: names[i]! })) });
  const server = await startWebServer({ model, actions: model, secret, host: web.host, port: opts.port ?? web.port ?? 0, publicUrl: web.publicUrl, redact, logger, maxStreamMs: opts.maxStreamMs });
  // Warm the readiness facts (each task's state file, each working dir) in the background, so the
  // first board does not pay for 2,000 cold reads (~0.8 s of the first /api/tasks at that size).
  void model.listTasks({ doneLimit: 0 }).catch(() => undefined);
  const unsubscribe = opts.onTransition ? model.subscribe((e: ReadModelEvent) => e.kind === 'transition' && opts.onTransition!(e.transition)) : () => {};
  const stateFile = join(deps.paths.state, WEB_STATE_FILE);
  await writeJson(stateFile, { url: server.url, pid: process.pid });
  logger.info({ component: 'web', url: server.url }, `web view at ${server.url}`);
  return {
    url: server.url,
    urlWithToken: `${server.url}/?token=${secret}`,
    port: server.port,
    model,
    async close() {
      unsubscribe();
      await server.close();
      const st = await readJson<{ pid?: number }>(stateFile).catch(() => undefined);
      if (st?.pid === process.pid) await rm(stateFile, { force: true });
    },
  };
}
