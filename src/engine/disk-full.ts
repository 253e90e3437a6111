// A full disk while recording a run's outcome is waited out, not treated as a lost run: the run
// really finished, and recording it later beats running it again (which would fill more disk).
import { shortMessage } from '../errors.js';
import type { EngineContext } from './context.js';

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

/** By the errno code anywhere on the cause chain, never by message text. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (DISK_FULL.has((e as NodeJS.ErrnoException).code ?? '')) return true;
  }
  return false;
}

/** Run `fn`; while it fails for want of disk space, log once and try again with backoff (up to
 *  `maxWaitMs`, or until the service stops), then give up with the last error. */
export async function whileDiskFull<T>(ctx: Pick<EngineContext, 'logger' | 'runs'>, taskId: string, what: string, fn: () => Promise<T>, maxWaitMs = 10 * 60_000): Promise<T> {
  let waited = 0;
  for (let i = 0; ; i++) {
    try {
      const v = await fn();
      if (i > 0) ctx.logger.info({ component: 'executor', task: taskId }, `${taskId}: ${what} recorded after the disk had room again`);
      return v;
    } catch (err) {
      if (!isDiskFull(err) || waited >= maxWaitMs || ctx.runs.closed) throw err;
      if (i === 0) ctx.logger.error({ component: 'executor', task: taskId, err }, `${taskId}: the disk is full while recording ${what} (${shortMessage(err)}); retrying until there is room`);
      const ms = Math.min(10_000, 250 * 2 ** i);
      await new Promise((res) => setTimeout(res, ms));
      waited += ms;
    }
  }
}
