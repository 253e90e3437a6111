// A task's spend cap: the note may ask for a budget, the operator's MAX_BUDGET_USD caps it. Like
// the permission ceiling, a note can only ask for less; unlike it, asking for more is clamped
// (a budget is a limit, and a lower one never widens what runs).
import { AgentError } from '../errors.js';

function check(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new AgentError('AGENT_FAILED', `${name} must be a positive number of US dollars, got ${String(v)}`);
  return v;
}

/** The budget for one run, or undefined for none. */
export function clampBudgetUsd(taskBudget: number | undefined, operatorMax: number | undefined): number | undefined {
  const t = taskBudget === undefined ? undefined : check('budget_usd', taskBudget);
  const m = operatorMax === undefined ? undefined : check('MAX_BUDGET_USD', operatorMax);
  if (t === undefined) return m;
  return m === undefined ? t : Math.min(t, m);
}
