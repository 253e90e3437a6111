// Where a child's output bytes go, whichever way it was started: bounded line splitting of stdout
// and stderr, the raw stderr chunks, and the idle timeout that output re-arms.
import { terminateGroup } from '../../os/process.js';
import { LineSplitter } from './line-splitter.js';
import type { RunControl } from './run-control.js';
import type { SpawnOptions } from './spawn.js';

const DEFAULT_STDERR_LINE_BYTES = 8 * 1024;

export interface OutputSinks {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** Start (or restart) the idle clock; a no-op without an idle timeout or a pid. */
  arm(): void;
  /** Stop the idle clock and flush the last partial lines. */
  end(): void;
  /** Set when the idle timeout stopped the group (and no stop() came first). */
  idleMs(): number | undefined;
}

export function outputSinks(opts: SpawnOptions, control: RunControl): OutputSinks {
  const out = new LineSplitter(opts.stdoutLineBytes === undefined ? {} : { maxLineBytes: opts.stdoutLineBytes });
  const err = new LineSplitter({ maxLineBytes: opts.stderrLineBytes ?? DEFAULT_STDERR_LINE_BYTES });
  const onErr = opts.onStderrLine ?? (() => {});
  // A CLI can hang with no output and no read timeout of its own: silence this long ends the run.
  let idledOut = false;
  let idleTimer: NodeJS.Timeout | undefined;
  const idleMs = opts.idleTimeoutMs;
  const arm = () => {
    if (idleMs === undefined || idleMs <= 0 || control.pid <= 0 || control.exited) return;
    if (idleTimer) idleTimer.refresh();
    else {
      idleTimer = setTimeout(() => {
        if (control.exited || control.stopReason !== undefined) return;
        idledOut = true;
        void terminateGroup(control.pid, opts.idleKillGraceMs ?? 2000);
      }, idleMs);
      idleTimer.unref();
    }
  };
  return {
    onStdout(chunk) {
      arm();
      for (const l of out.push(chunk)) opts.onStdoutLine(l);
    },
    onStderr(chunk) {
      arm();
      opts.onStderrChunk?.(chunk);
      for (const l of err.push(chunk)) onErr(l);
    },
    arm,
    end() {
      if (idleTimer) clearTimeout(idleTimer);
      for (const l of out.end()) opts.onStdoutLine(l);
      for (const l of err.end()) onErr(l);
    },
    idleMs: () => (idledOut && control.stopReason === undefined && idleMs !== undefined ? idleMs : undefined),
  };
}
