// The worker's gates: names from the job, argv only from the worker operator's GATES.
import { execa } from 'execa';
import type { GateResult, GateRunner } from './ports.js';

const TAIL_CHARS = 4000;

export function createGateRunner(gates: Readonly<Record<string, readonly string[]>>, timeoutMs: number): GateRunner {
  return {
    known: () => Object.keys(gates),
    async run(names, cwd, env) {
      const results: GateResult[] = [];
      for (const name of names) {
        const argv = gates[name];
        if (!argv || argv.length === 0) throw new Error(`gate "${name}" is not defined on this worker`);
        const started = Date.now();
        const r = await execa(argv[0]!, argv.slice(1), { cwd, env, extendEnv: false, reject: false, all: true, timeout: timeoutMs, killSignal: 'SIGKILL', stdin: 'ignore', maxBuffer: 4 * 1024 * 1024 });
        const all = String(r.all ?? '');
        results.push({ name, ok: r.exitCode === 0 && !r.timedOut, exitCode: r.exitCode ?? null, tail: all.slice(-TAIL_CHARS), durationMs: Date.now() - started });
      }
      return results;
    },
  };
}
