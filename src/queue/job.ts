// What a remote run carries: only what the coordinator already decided. A worker validates it
// again and clamps it against its own config, so nothing in a job can widen what runs.
import { z } from 'zod';
import { PERMISSION_MODES } from '../agents/agent.js';

/** Prefix of every Redis key of the queue layer (shared by coordinator and workers). */
export const DEFAULT_PREFIX = 'vaultrunner';

const NAME = /^[a-z][a-z0-9_-]*$/;

export const runJobSchema = z
  .object({
    v: z.literal(1),
    taskId: z.string().min(1).max(300),
    attempt: z.number().int().min(1),
    /** The coordinator's lease token: the fencing token every result must carry back. */
    leaseToken: z.string().regex(/^[A-Za-z0-9_-]{4,128}$/),
    agent: z.string().regex(NAME),
    /** Already clamped by the coordinator; the worker clamps again to its own ceiling. */
    permissionMode: z.enum(PERMISSION_MODES),
    prompt: z.string().max(4 * 1024 * 1024),
    model: z.string().max(200).optional(),
    timeoutMs: z.number().int().min(100),
    /** Where the worker clones from and pushes the branch to. */
    repoUrl: z.string().min(1).max(2000),
    baseCommit: z.string().regex(/^[0-9a-f]{7,64}$/),
    branch: z
      .string()
      .min(1)
      .max(250)
      // A branch name git accepts and that cannot be read as an option or a refspec trick.
      .refine((b) => !b.startsWith('-') && !/[\s~^:?*[\\]|\.\.|@\{|\/\/|\.lock$|^\/|\/$|\.$/.test(b), 'not a safe branch name'),
    /** working_dir's folder inside the repository: the agent's cwd in the checkout ('' or absent: the top). */
    subdir: z
      .string()
      .max(1000)
      .refine((p) => !p.startsWith('/') && !p.split('/').some((seg) => seg === '..' || seg === '.git') && !p.includes('\0'), 'not a relative folder inside the repository')
      .optional(),
    resumeSessionId: z.string().max(200).optional(),
    /** Spend cap in USD, already clamped by the coordinator's MAX_BUDGET_USD; the worker clamps again. */
    maxBudgetUsd: z.number().positive().finite().optional(),
    /** Gate names only; the worker's GATES define what each runs. */
    gates: z.array(z.string().regex(NAME)).max(32).default([]),
  })
  .strict();

export type RunJob = z.infer<typeof runJobSchema>;
export type RunJobInput = z.input<typeof runJobSchema>;

/** Parse a job's data; throws a ZodError naming what is wrong. */
export function parseRunJob(data: unknown): RunJob {
  return runJobSchema.parse(data);
}

/** BullMQ queue name for an agent: one queue per agent, so a worker only takes jobs it can serve. */
export function queueName(agent: string): string {
  return `runs-${agent}`;
}

export { runId } from './job-ids.js';

/** Redis keys of one run besides BullMQ's own. */
export function runKeys(prefix: string, id: string) {
  const base = `${prefix}:run:${id}`;
  return {
    /** Transcript events, delivery starts and the outcome (XADD by the worker, XREAD by the coordinator). */
    stream: `${base}:events`,
    /** delivery (lock token of the worker now running it), session, done. */
    meta: `${base}:meta`,
    /** A stop request from the coordinator: the reason. */
    cancel: `${base}:cancel`,
  };
}

/** BullMQ's lock key of a job (its `toKey(jobId) + ':lock'`): held by the worker processing it. */
export function lockKey(prefix: string, queue: string, id: string): string {
  return `${prefix}:${queue}:${id}:lock`;
}
