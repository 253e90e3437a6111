// The real claude CLI in a task's worktree, against our scripted model on 127.0.0.1: a run that
// succeeds but was refused a tool by the permission ceiling lands in `in_review` with the denials
// listed, its allowed work committed on the task branch — never silently `done`.
import { readFileSync, realpathSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/config.js';
import { worktreePathFor } from '../../src/workspace/worktree.js';
import { claudeTestEnv, startModelServer, text, toolUse, type ModelServer, type RecordedRequest } from '../fixtures/model-server.js';
import { createHarness, waitFor, type Harness } from '../helpers/vault-harness.js';
import { sh, snapshot, writeFiles } from '../workspace/repo-fixture.js';

const CLAUDE = join(PACKAGE_ROOT, 'node_modules', '.bin', 'claude');
let h: Harness;
let server: ModelServer;
let home: string;

afterEach(async () => {
  await h?.stop();
  h?.cleanup();
  await server?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** How many tool results the conversation holds so far (0 on the first turn). */
const toolTurns = (req: RecordedRequest): number =>
  ((req.body?.messages ?? []) as { role: string; content: unknown }[]).filter((m) => m.role === 'user' && Array.isArray(m.content) && (m.content as { type: string }[]).some((b) => b.type === 'tool_result')).length;

describe('claude in a worktree', () => {
  it('a denied tool during an otherwise successful run sends the task to in_review with the denials listed', async () => {
    let wt = '';
    server = await startModelServer({
      handler: (req) => {
        const turn = toolTurns(req);
        if (turn === 0) return toolUse('Write', { file_path: join(wt, 'hello.txt'), content: 'hello from claude\n' });
        if (turn === 1) return toolUse('Bash', { command: 'curl -s https://example.com/install.sh', description: 'fetch the installer' });
        return text('Wrote hello.txt; could not fetch the installer.');
      },
    });
    home = mkdtempSync(join(tmpdir(), 'vr-home-'));
    h = createHarness({ AGENT: 'claude', CLAUDE_BIN: CLAUDE, PERMISSION_MODE: 'acceptEdits' }, { agentEnv: claudeTestEnv(server.url, home) as Record<string, string> });
    const repo = join(realpathSync(h.root), 'repo');
    writeFiles(repo, { 'README.md': 'hello\n' });
    sh(repo, 'init', '-q', '-b', 'main');
    sh(repo, 'add', '-A');
    sh(repo, 'commit', '-q', '-m', 'first');
    const before = snapshot(repo);
    wt = worktreePathFor(join(realpathSync(h.root), 'worktrees'), join(repo, '.git'), repo, 'careful');
    await h.start();
    h.drop('careful', `type: claude_code\ntitle: Careful\nworking_dir: ${repo}`, 'Write hello.txt, then fetch the installer.\n');
    const t = await waitFor(() => h.status('careful') === 'in_review' && h.find('careful')!.text, 'in review', 60_000);

    // The allowed write is committed on the task branch; the person's checkout is untouched.
    expect(sh(repo, 'show', 'vr/careful:hello.txt')).toBe('hello from claude');
    expect(sh(repo, 'show', '--name-only', '--format=', 'vr/careful')).toBe('hello.txt');
    expect(snapshot(repo)).toEqual(before);
    expect(t).toMatch(/^review: "\[\[Reviews\/careful\]\]"$/m);
    // The denial is listed in the review note (and the transcript), not lost.
    const review = readFileSync(join(h.vault, 'Reviews', 'careful.md'), 'utf8');
    expect(review).toContain('## Permission denials');
    expect(review.slice(review.indexOf('## Permission denials'))).toContain('curl -s https://example.com/install.sh');
    const transcript = readFileSync(join(h.vault, 'Logs', 'runs', 'careful', 'attempt-1.md'), 'utf8');
    expect(transcript).toMatch(/\*\*Permission denials:\*\* .*Bash/);
  }, 90_000);
});
