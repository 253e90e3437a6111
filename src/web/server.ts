// The web view's HTTP server (Hono on Node's http): the board, the task page, JSON under /api,
// live updates over server-sent events, and the actions. It knows the engine only through the
// ports in ports.ts, and sends the browser nothing outside the vault (paths are redacted).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { extname, join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Logger } from 'pino';
import { isLoopbackHost } from './web-config.js';
import { csrfTokenFor } from './access-token.js';
import { tailFile } from './file-tail.js';
import { accessGuard, securityHeaders } from './guards.js';
import { renderMarkdown } from './markdown.js';
import { boardPage, taskPage } from './pages.js';
import { WebConflictError, WebNotFoundError, WebRefusedError, type ReadModelEvent, type TaskAction, type WebActions, type WebReadModel } from './ports.js';
import { redactValue, type Redactor } from './redact.js';

export interface WebServerOptions {
  model: WebReadModel;
  actions: WebActions;
  secret: string;
  host: string;
  /** 0: any free port. */
  port: number;
  publicUrl?: string;
  redact: Redactor;
  logger: Logger;
  /** A transcript stream ends after this long and the browser reconnects (default 5 min). */
  maxStreamMs?: number;
  /** Done/ notes shown on the board (default 200). */
  doneLimit?: number;
}

export interface WebServer {
  /** e.g. http://127.0.0.1:8080 (or the public URL). */
  url: string;
  port: number;
  close(): Promise<void>;
}

const ACTIONS: readonly TaskAction[] = ['pause', 'resume', 'cancel', 'retry', 'approve', 'acceptReview', 'sendBack'];
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png' };

/** The client files, read once: src/web/static (tests, tsx) or dist/web/static (built). */
function loadStatic(): Map<string, { body: Buffer; type: string }> {
  const dir = fileURLToPath(new URL('./static/', import.meta.url));
  if (!existsSync(dir)) throw new Error(`web client files are missing (${dir}); run npm run build`);
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return files;
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const { model, actions, redact, logger } = opts;
  const files = loadStatic();
  const csrf = csrfTokenFor(opts.secret);
  const maxStreamMs = opts.maxStreamMs ?? 5 * 60_000;
  const streams = new Set<SSEStreamingApi>();
  let hosts: Set<string> | undefined;
  const publicOrigin = opts.publicUrl ? new URL(opts.publicUrl).origin : undefined;

  const app = new Hono();
  app.use('*', securityHeaders);
  app.use('*', accessGuard({ secret: opts.secret, allowedHosts: () => hosts, publicOrigin, secureCookie: publicOrigin?.startsWith('https:') ?? false }));
  app.use('/api/*', bodyLimit({ maxSize: 512 * 1024, onError: (c) => c.json({ error: 'request too large' }, 413) }));

  app.get('/', (c) => c.html(boardPage(csrf)));
  app.get('/task/:id', (c) => c.html(taskPage(csrf, c.req.param('id'))));
  app.get('/static/:name', (c) => {
    const f = files.get(c.req.param('name'));
    if (!f) return c.text('not found', 404);
    return c.body(new Uint8Array(f.body), 200, { 'Content-Type': f.type, 'Cache-Control': 'no-cache' });
  });

  app.get('/api/tasks', async (c) => {
    const doneLimit = Math.min(2000, Math.max(0, Number(c.req.query('done') ?? opts.doneLimit ?? 200) || 0));
    const { rows, doneTotal } = await model.listTasks({ doneLimit });
    // The board needs no note versions (the task page loads its own): a fifth less to send and parse.
    const slim = rows.map(({ version: _v, ...r }) => ({ ...r, createdMs: r.createdMs === null ? null : Math.round(r.createdMs) }));
    return c.json({ rows: redactValue(slim, redact), doneTotal, limits: model.limits() });
  });

  app.get('/api/tasks/:id', async (c) => {
    const t = await model.getTask(c.req.param('id'));
    if (!t) return c.json({ error: `no task named ${JSON.stringify(c.req.param('id'))}` }, 404);
    const md = (s: string) => renderMarkdown(redact(s));
    return c.json({
      row: redactValue(t.row, redact),
      frontmatter: redactValue(t.frontmatter, redact),
      notePath: t.notePath,
      bodyHtml: md(t.body),
      plan: t.plan && { path: t.plan.path, html: md(t.plan.body) },
      review: t.review && { path: t.review.path, html: md(t.review.body) },
      diff: t.diff && redactValue(t.diff, redact),
      attempts: t.attempts,
      problem: t.problem && redact(t.problem),
    });
  });

  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      streams.add(stream);
      const queue: ReadModelEvent[] = [];
      let overflow = false;
      let wake: (() => void) | undefined;
      const unsubscribe = model.subscribe((e) => {
        if (queue.length >= 5000) overflow = true;
        else queue.push(e);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      try {
        await stream.writeSSE({ event: 'hello', data: '{}', retry: 1000 });
        while (!stream.aborted && !stream.closed) {
          if (overflow) {
            // A client too slow to keep up reloads the list instead of growing our memory.
            queue.length = 0;
            overflow = false;
            await stream.writeSSE({ event: 'resync', data: '{}' });
          }
          for (let e = queue.shift(); e; e = queue.shift()) {
            if (e.kind === 'task') await stream.writeSSE({ event: 'task', data: JSON.stringify(redactValue(e.row, redact)) });
            else if (e.kind === 'remove') await stream.writeSSE({ event: 'remove', data: JSON.stringify({ id: e.id }) });
            else await stream.writeSSE({ event: 'transition', data: JSON.stringify(redactValue(e.transition, redact)) });
          }
          const idle = await new Promise<boolean>((resolve) => {
            const t = setTimeout(() => resolve(true), 15_000);
            wake = () => (clearTimeout(t), resolve(false));
          });
          wake = undefined;
          if (idle) await stream.write(': keep-alive\n\n');
        }
      } finally {
        unsubscribe();
        streams.delete(stream);
      }
    }),
  );

  // The live transcript: each event's id is the byte offset after it, so a reconnect (the browser
  // sends Last-Event-ID) resumes exactly there, losing and repeating nothing.
  app.get('/api/tasks/:id/attempts/:n/stream', (c) => {
    const path = model.transcriptPath(c.req.param('id'), Number(c.req.param('n')));
    if (!path) return c.json({ error: 'no such attempt' }, 404);
    const last = c.req.header('last-event-id') ?? c.req.query('from') ?? '0';
    const from = /^\d{1,15}$/.test(last) ? Number(last) : 0;
    return streamSSE(c, async (stream) => {
      streams.add(stream);
      const ac = new AbortController();
      stream.onAbort(() => ac.abort());
      const timer = setTimeout(() => ac.abort(), maxStreamMs);
      try {
        await stream.writeSSE({ event: 'open', data: JSON.stringify({ from }), retry: 200 });
        for await (const item of tailFile({ path, from, signal: ac.signal })) {
          if (item.kind === 'reset') await stream.writeSSE({ event: 'reset', data: '{}', id: '0' });
          else await stream.writeSSE({ event: 'chunk', data: JSON.stringify(redact(item.text)), id: String(item.end) });
        }
      } finally {
        clearTimeout(timer);
        streams.delete(stream);
      }
    });
  });

  app.post('/api/tasks', async (c) => {
    const input = await jsonBody(c);
    const root = input.root === '' || input.root === undefined || input.root === null ? undefined : Number(input.root);
    return respond(c, () => actions.create({ title: str(input.title), type: str(input.type), priority: str(input.priority) || undefined, root, dir: str(input.dir), body: str(input.body) }));
  });

  app.post('/api/tasks/:id/actions/:action', async (c) => {
    const action = c.req.param('action') as TaskAction;
    if (!ACTIONS.includes(action)) return c.json({ error: `unknown action ${JSON.stringify(action)}` }, 404);
    const input = await jsonBody(c);
    return respond(c, () => actions.act(c.req.param('id'), action, { version: str(input.version) || undefined, feedback: str(input.feedback) }));
  });

  app.notFound((c) => c.text('not found', 404));
  app.onError((err, c) => {
    logger.error({ component: 'web', err }, `web request failed: ${err.message}`);
    return c.json({ error: 'internal error; see the service log' }, 500);
  });

  async function respond(c: Context, fn: () => Promise<unknown>) {
    try {
      return c.json(await fn());
    } catch (err) {
      if (err instanceof WebConflictError) return c.json({ error: err.message, code: 'conflict' }, 409);
      if (err instanceof WebRefusedError) return c.json({ error: redact(err.message), code: 'refused' }, 422);
      if (err instanceof WebNotFoundError) return c.json({ error: err.message, code: 'not_found' }, 404);
      throw err;
    }
  }

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, () => resolve(s as Server)) as Server;
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  if (isLoopbackHost(opts.host)) {
    hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${opts.host.toLowerCase()}:${port}`]);
    if (opts.publicUrl) hosts.add(new URL(opts.publicUrl).host.toLowerCase());
  }
  const shown = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
  return {
    url: opts.publicUrl ?? `http://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${port}`,
    port,
    async close() {
      // Streams end with their last chunk (the browser sees a clean end, not a reset); a
      // connection still open after a short grace is cut.
      for (const s of streams) {
        s.abort();
        void s.close().catch(() => undefined);
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 500).unref();
      });
    },
  };
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const v: unknown = await c.req.json().catch(() => ({}));
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}
