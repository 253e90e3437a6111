// Planners turn a task into the body of its plan note.
import type { AgentRun } from '../agents/agent.js';
import type { Task } from '../domain/task.js';

export interface PlanInput {
  task: Task;
  /** The task note's Markdown body. */
  body: string;
  /** Directory the agent may look at (already checked against WORKSPACE_ROOTS). */
  cwd: string;
  /** Environment for an agent planner's child (carries the run marker). */
  env?: NodeJS.ProcessEnv;
  /** Not yet approved to run (needs approval it does not have): only an agent with a real
   *  read-only plan mode may see it. */
  untrusted?: boolean;
  /** Called once the planner's agent process is spawned (the run machinery tracks it). */
  onStart?: (run: AgentRun, agentName: string) => void | Promise<void>;
}

export interface Planner {
  readonly name: 'template' | 'agent';
  /** Needs an agent process, and so a run slot, a lease and a deadline. */
  readonly usesAgent?: boolean;
  /** An agent planner: its agent for this input can really be confined to read-only planning. */
  readOnly?(input: Pick<PlanInput, 'task' | 'body' | 'cwd'>): boolean;
  /** Markdown for the plan note body. Throws (typed) on failure. */
  plan(input: PlanInput): Promise<string>;
}
