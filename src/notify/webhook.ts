// The operator's webhook (NOTIFY_URL): one POST per transition into a status of NOTIFY_ON, sent
// by one background loop from a bounded queue (oldest dropped first when full), retried with
// exponential backoff on network errors, 5xx and 429, given up on other 4xx. The URL may hold a
// secret (Slack's does): it is never logged, only its host.
import type { Logger } from 'pino';
import type { Status } from '../domain/status.js';
import { shortMessage } from '../errors.js';
import type { Notifier, TransitionNotice } from './notifier.js';

export interface WebhookOptions {
  url: string;
  /** json: {task, from, to, reason, link, text} (Slack-compatible via `text`); ntfy: text body with ntfy headers. */
  format: 'json' | 'ntfy';
  on: readonly Status[];
  /** The task page's address for `link`, if the web view runs. */
  linkFor?: (task: string) => string | undefined;
  logger: Logger;
  maxQueue?: number;
  attempts?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface WebhookNotifier extends Notifier {
  /** Notices dropped because the queue was full, and deliveries given up after all attempts. */
  stats(): { sent: number; dropped: number; failed: number; queued: number };
}

export interface WebhookPayload {
  task: string;
  from: string | null;
  to: string;
  reason: string | null;
  link: string | null;
  text: string;
}

export function payloadOf(n: TransitionNotice, link: string | undefined): WebhookPayload {
  const reason = n.reason ? shortMessage(n.reason, 300) : null;
  const text = `vaultrunner: ${n.task} ${n.from ?? 'new'} → ${n.to}${reason ? ` (${reason})` : ''}${link ? ` ${link}` : ''}`;
  return { task: n.task, from: n.from, to: n.to, reason, link: link ?? null, text };
}

export function createWebhookNotifier(opts: WebhookOptions): WebhookNotifier {
  const maxQueue = opts.maxQueue ?? 100;
  const attempts = opts.attempts ?? 5;
  const backoffMs = opts.backoffMs ?? 1000;
  const maxBackoffMs = opts.maxBackoffMs ?? 60_000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const doFetch = opts.fetch ?? fetch;
  const stop = new AbortController();
  const sleep = opts.sleep ?? ((ms, signal) => new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    t.unref();
    signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
  }));
  const host = safeHost(opts.url);
  const queue: WebhookPayload[] = [];
  const counts = { sent: 0, dropped: 0, failed: 0 };
  let running: Promise<void> | undefined;
  let closed = false;

  const post = async (p: WebhookPayload): Promise<'ok' | 'retry' | 'give-up'> => {
    const init: RequestInit =
      opts.format === 'ntfy'
        ? { method: 'POST', body: p.text, headers: { 'content-type': 'text/plain; charset=utf-8', Title: asciiHeader(`${p.task}: ${p.to}`), Tags: p.to === 'failed' ? 'x' : p.to === 'done' ? 'white_check_mark' : 'bell', ...(p.link ? { Click: asciiHeader(p.link) } : {}) } }
        : { method: 'POST', body: JSON.stringify(p), headers: { 'content-type': 'application/json' } };
    try {
      const res = await doFetch(opts.url, { ...init, redirect: 'error', signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stop.signal]) });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) return 'ok';
      return res.status === 429 || res.status >= 500 ? 'retry' : 'give-up';
    } catch {
      return 'retry';
    }
  };

  const loop = async () => {
    for (let p = queue.shift(); p; p = queue.shift()) {
      let outcome: 'ok' | 'retry' | 'give-up' = 'retry';
      for (let i = 0; i < attempts && !stop.signal.aborted; i++) {
        if (i > 0) await sleep(Math.min(maxBackoffMs, backoffMs * 2 ** (i - 1)) * (0.75 + Math.random() * 0.5), stop.signal);
        if (stop.signal.aborted) break;
        outcome = await post(p);
        if (outcome !== 'retry') break;
      }
      if (outcome === 'ok') counts.sent++;
      else {
        counts.failed++;
        opts.logger.warn({ component: 'notify', task: p.task, to: p.to, host }, `webhook to ${host} failed for ${p.task} → ${p.to}; given up`);
      }
      if (stop.signal.aborted) return;
    }
  };

  const kick = () => {
    running ??= loop().finally(() => {
      running = undefined;
      if (queue.length > 0 && !stop.signal.aborted) kick();
    });
  };

  return {
    notify(n) {
      if (closed || !(opts.on as readonly string[]).includes(n.to)) return;
      if (queue.length >= maxQueue) {
        queue.shift();
        counts.dropped++;
      }
      queue.push(payloadOf(n, opts.linkFor?.(n.task)));
      kick();
    },
    async close(graceMs = 2000) {
      closed = true;
      if (running) {
        const t = setTimeout(() => stop.abort(), graceMs);
        await running;
        clearTimeout(t);
      }
      stop.abort();
    },
    stats: () => ({ ...counts, queued: queue.length }),
  };
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid url)';
  }
}

function asciiHeader(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}
