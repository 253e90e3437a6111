// The logger that drops everything, in a module of its own: a read-only command (`list`, `show`)
// needs one and should not load the real logger's streams to get it.
import type { Logger } from 'pino';

const noop = () => {};

/** A logger that drops everything (what pino does at level `silent`, without loading pino). */
export function silentLogger(): Logger {
  const logger = {
    level: 'silent',
    trace: noop,
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    fatal: noop,
    silent: noop,
    flush: noop,
    isLevelEnabled: () => false,
    bindings: () => ({}),
    child: () => logger,
  };
  return logger as unknown as Logger;
}
