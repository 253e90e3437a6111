// A person sending a task back (failed → planned, or a review round from in_review) starts a new
// cycle: max_attempts counts from there. The edit may be made while the service is down, when no
// transition is seen; the new cycle must still get its max_attempts.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, waitFor, type Harness } from '../helpers/vault-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  h = undefined;
});

function edit(path: string, fn: (text: string) => string): void {
  writeFileSync(path, fn(readFileSync(path, 'utf8')));
}
const runsOf = (id: string) => h!.runs().filter((r) => r.task === id).length;

describe('a new cycle started while the service is down', () => {
  it('failed → planned: the task gets max_attempts again, not one run', async () => {
    h = createHarness({ AGENT: 'fail' });
    await h.start();
    const path = h.drop('again', 'type: claude_code\nmax_attempts: 2');
    await waitFor(() => h!.status('again') === 'failed', 'failed after 2 attempts');
    expect(runsOf('again')).toBe(2);
    await h.stop();
    edit(path, (t) => t.replace(/^status: failed$/m, 'status: planned'));
    await h.start();
    const failed = await waitFor(() => h!.status('again') === 'failed' && runsOf('again') >= 4 && h!.find('again')!.text, 'failed again after 2 more attempts');
    expect(failed).toMatch(/^attempts: 4$/m);
    expect(runsOf('again')).toBe(4);
  });

  it('in_review → planned with feedback: the round gets max_attempts, whatever the first cycle used', async () => {
    h = createHarness({ AGENT: 'ok' });
    await h.start();
    // First cycle: one run, held for review (attempts: 1).
    const path = h.drop('round', 'type: claude_code\nmax_attempts: 2\nrequires_review: true');
    await waitFor(() => h!.status('round') === 'in_review', 'in review after attempt 1');
    await h.stop();
    // The review round, written while the service is down; this time the agent fails.
    edit(path, (t) => t.replace(/^status: in_review$/m, 'status: planned').replace(/^type: claude_code$/m, 'type: claude_code\nagent: fail') + '\n## Feedback\nAlso handle the empty case.\n');
    await h.start();
    const failed = await waitFor(() => h!.status('round') === 'failed' && h!.find('round')!.text, 'the round failed', 20_000);
    expect(failed).toMatch(/^attempts: 3$/m); // two runs in the round, not one
    expect(runsOf('round')).toBe(3);
  });

});
