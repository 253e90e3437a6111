// QA gates: commands the operator defined (GATES, name → argv), run in the worktree after the
// commit, each with its own timeout. A note may pick some of them (`gates: [test]`), never add
// one: nothing in the vault widens what runs.
import { WorkspaceError } from './errors.js';
import { runCommand, type CommandResult, type RunCommandOptions } from './run-command.js';

export type GateDefs = Readonly<Record<string, readonly string[]>>;

export interface Gate {
  name: string;
  argv: readonly string[];
}

/** The gates to run: all defined ones, or the note's subset. Unknown names are GATE_UNKNOWN (permanent). */
export function selectGates(defined: GateDefs, requested?: readonly string[] | null): Gate[] {
  if (requested === undefined || requested === null) return Object.entries(defined).map(([name, argv]) => ({ name, argv }));
  const names = [...new Set(requested.map((n) => n.trim()).filter(Boolean))];
  const unknown = names.filter((n) => !Object.hasOwn(defined, n));
  if (unknown.length) {
    const known = Object.keys(defined);
    throw new WorkspaceError(
      'GATE_UNKNOWN',
      `the note asks for gate(s) ${unknown.map((n) => JSON.stringify(n)).join(', ')} that the operator has not defined (${known.length ? `defined: ${known.join(', ')}` : 'GATES is empty'}); a note can only choose among GATES`,
    );
  }
  return names.map((name) => ({ name, argv: defined[name]! }));
}

export type GateResult = CommandResult;

export interface RunGatesOptions extends Omit<RunCommandOptions, 'name' | 'argv' | 'timeoutMs' | 'onOutput'> {
  gates: readonly Gate[];
  /** Each gate's own timeout. */
  timeoutMs: number;
  /** Stop after the first failing gate (default false: every gate runs, the review shows them all). */
  stopOnFailure?: boolean;
  onOutput?: (gate: string, chunk: string) => void;
  /** Called as each gate finishes (for the transcript, and a crash leaves what was known). */
  onResult?: (r: GateResult) => void;
}

export async function runGates(opts: RunGatesOptions): Promise<GateResult[]> {
  const { gates, stopOnFailure, onOutput, onResult, ...common } = opts;
  const results: GateResult[] = [];
  for (const g of gates) {
    if (opts.signal?.aborted) break;
    const r = await runCommand({ ...common, name: g.name, argv: g.argv, ...(onOutput ? { onOutput: (c: string) => onOutput(g.name, c) } : {}) });
    results.push(r);
    onResult?.(r);
    if (!r.ok && stopOnFailure) break;
  }
  return results;
}

/** One short line for the note's `gate_results:` key (not `gates:`, the note's own choice of gates), e.g. `test passed, lint failed (exit 1)`. */
export function gatesSummary(results: readonly GateResult[]): string {
  if (results.length === 0) return 'none';
  return results.map((r) => `${r.name} ${r.ok ? 'passed' : `failed (${failureReason(r)})`}`).join(', ');
}

export function failureReason(r: GateResult): string {
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  if (r.timedOut) return `timed out after ${Math.round(r.durationMs / 1000)} s`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exit ${r.exitCode ?? '?'}`;
}

/** What the same agent session is told in a fix round: the failing command and the end of its output. */
export function fixPrompt(failed: readonly GateResult[], round: number, maxRounds: number, tailChars = 6000): string {
  const parts = failed.map((r) => {
    const out = r.outputTail.length > tailChars ? `…${r.outputTail.slice(-tailChars)}` : r.outputTail;
    return `The gate "${r.name}" (${r.argv.join(' ')}) failed: ${failureReason(r)}.\nThe end of its output:\n\n${out.trimEnd() || '(no output)'}\n`;
  });
  return `${parts.join('\n')}\nPlease fix the cause (fix round ${round} of ${maxRounds}). Your changes will be committed and the gates run again.\n`;
}
