// The agent planner: the task's agent in plan mode (read-only) writes the plan. Its process runs
// on a slot of the shared run machinery (the orchestrator claims it): lease, run marker, deadline,
// shutdown and crash recovery are the same as for a task attempt.
import { capabilitiesOf, type Agent } from '../agents/agent.js';
import { VaultrunnerError } from '../errors.js';
import type { Planner, PlanInput } from './planner.js';

export interface AgentPlannerOptions {
  agentFor: (input: PlanInput) => Agent;
  env: NodeJS.ProcessEnv;
}

export function createAgentPlanner(opts: AgentPlannerOptions): Planner {
  return {
    name: 'agent',
    usesAgent: true,
    readOnly: (input) => capabilitiesOf(opts.agentFor(input)).planMode,
    async plan(input) {
      const agent = opts.agentFor(input);
      // A task nobody approved yet never reaches an agent that merely promises to stay read-only.
      if (input.untrusted && !capabilitiesOf(agent).planMode) {
        throw new VaultrunnerError('PLAN_FAILED', `agent ${agent.name} has no read-only plan mode; a task awaiting approval is not planned with it`, { retryable: false });
      }
      const run = agent.start({
        taskId: input.task.id,
        attempt: 0,
        prompt: planPrompt(input),
        cwd: input.cwd,
        model: input.task.model,
        permissionMode: 'plan',
        env: input.env ?? opts.env,
      });
      await input.onStart?.(run, agent.name);
      const outcome = await run.outcome;
      if (!outcome.ok) throw new VaultrunnerError('PLAN_FAILED', `planning failed: ${outcome.error.message}`, { cause: outcome.error, retryable: outcome.error.retryable });
      const text = outcome.result?.trim();
      if (!text) throw new VaultrunnerError('PLAN_FAILED', 'planning failed: the agent returned no plan text', { retryable: true });
      return `${text}\n`;
    },
  };
}

function planPrompt({ task, body }: PlanInput): string {
  return [
    'Write a concise, step-by-step implementation plan for the task below. Do not change any files.',
    'Answer with the plan only, in Markdown: a short summary, numbered steps, and acceptance criteria as "- [ ]" checkboxes.',
    '',
    `Task: ${task.title ?? task.id} (type ${task.type})`,
    '',
    body.trim(),
  ].join('\n');
}
