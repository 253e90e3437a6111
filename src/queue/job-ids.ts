// The job id of a claimed run, apart from the job schema (zod): the executor needs the id for
// every remote run, and a service without QUEUE_URL should not load the queue's modules at all.
import { createHash } from 'node:crypto';

/**
 * The job id, stable for one claimed run: a retried enqueue of the same claim adds nothing. Readable
 * prefix for operators, hash for uniqueness (BullMQ ids may not contain ':').
 */
export function runId(job: { taskId: string; attempt: number; leaseToken: string }): string {
  const slug = job.taskId.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'task';
  const h = createHash('sha256').update(`${job.taskId}\0${job.attempt}\0${job.leaseToken}`).digest('hex').slice(0, 16);
  return `${slug}.a${job.attempt}.${h}`;
}
