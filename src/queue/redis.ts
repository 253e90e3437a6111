// Redis connections for the queue layer: one place that parses QUEUE_URL, hides its password in
// logs, and says once per outage that Redis is gone and once that it is back (no log storm).
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from '../errors.js';
import type { QueueLogger } from './ports.js';
import { redactUrl } from './redact-url.js';

/** redis://[:password@]host:port[/db] or rediss:// (TLS). Throws ConfigError on anything else. */
export function checkQueueUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`QUEUE_URL=${JSON.stringify(redactUrl(url))} is not allowed; use redis://[:password@]host:port[/db] or rediss://… for TLS`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new ConfigError(`QUEUE_URL uses ${JSON.stringify(u.protocol)}; use redis:// or rediss:// (TLS)`);
  }
  return u;
}

export { redactUrl };

export interface Connection {
  redis: Redis;
  /** Resolves when Redis answers (waits through an outage); logs at most once per outage. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A client that queues commands while Redis is away and retries forever with a capped backoff
 * (BullMQ needs `maxRetriesPerRequest: null`). Errors are logged once per outage, never thrown.
 */
export function connect(url: string, logger: QueueLogger, role: string, extra: RedisOptions = {}): Connection {
  checkQueueUrl(url);
  const where = redactUrl(url);
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (n) => Math.min(100 * n, 2000),
    lazyConnect: false,
    ...extra,
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.warn({ component: 'queue', role, err: err.message }, `queue: Redis at ${where} is unreachable (${err.message}); ${role} waits and retries until it is back`);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ component: 'queue', role }, `queue: Redis at ${where} is back`);
  });
  return {
    redis,
    ready: () =>
      redis.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const onReady = () => (cleanup(), resolve());
            const onEnd = () => (cleanup(), reject(new Error('connection closed')));
            const cleanup = () => (redis.off('ready', onReady), redis.off('end', onEnd));
            redis.on('ready', onReady);
            redis.on('end', onEnd);
          }),
    close: async () => {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}

/** One look for `doctor`: connect, PING, disconnect; never retries, never logs. */
export async function probeQueue(url: string, timeoutMs = 3000): Promise<{ ok: boolean; detail: string }> {
  const where = redactUrl(url);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: timeoutMs, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    const answer = await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return answer === 'PONG' ? { ok: true, detail: `Redis at ${where} answers` } : { ok: false, detail: `Redis at ${where} answered ${String(answer)}` };
  } catch (err) {
    return { ok: false, detail: `Redis at ${where} is unreachable (${(err as Error).message || (err as NodeJS.ErrnoException).code || 'error'}); remote runs wait until it is back` };
  } finally {
    redis.disconnect();
  }
}
