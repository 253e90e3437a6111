// Planners turn a task into the body of its plan note.
import type { Task } from '../lifecycle/task.js';

export interface PlanInput {
  task: Task;
  /** The task note's Markdown body. */
  body: string;
  /** Directory the agent may look at (already checked against WORKSPACE_ROOTS). */
  cwd: string;
}

export interface Planner {
  readonly name: 'template' | 'agent';
  /** Markdown for the plan note body. Throws (typed) on failure. */
  plan(input: PlanInput): Promise<string>;
}
