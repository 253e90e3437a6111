// Longest files first, so no long file starts last and runs alone at the end. vitest does this from
// its results cache, but a fresh clone (CI) has none and vitest falls back to "largest file first",
// which started the opencode and gemini files ten minutes into the run. So: the cached duration
// when there is one, else the rough duration below (seconds, measured on a 2-core machine; only
// the order matters), else vitest's own order.
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const ROUGH_SECONDS: Record<string, number> = {
  'test/engine/agents-e2e.test.ts': 350,
  'test/agents/opencode-agent.test.ts': 170,
  'test/engine/claude-e2e.test.ts': 85,
  'test/agents/gemini-agent.test.ts': 60,
  'test/agents/claude-agent.test.ts': 50,
  'test/queue/service-failures.test.ts': 48,
  'test/cli/doctor.test.ts': 48,
  'test/queue/service-remote.test.ts': 44,
  'test/agents/codex-agent.test.ts': 41,
  'test/engine/workspace-claude.test.ts': 38,
  'test/cli/basics.test.ts': 35,
  'test/engine/lifecycle.test.ts': 35,
  'test/cli/edits.test.ts': 27,
  'test/queue/worker-failures.test.ts': 26,
  'test/engine/crash-finished-run.test.ts': 26,
  'test/workspace/crash.test.ts': 26,
  'test/engine/crash.test.ts': 25,
  'test/service/service-cli.test.ts': 24,
  'test/engine/engine-core.test.ts': 24,
  'test/torture/crash.test.ts': 24,
  'test/engine/review-merge.test.ts': 22,
  'test/engine/steering.test.ts': 22,
  'test/cli/workspace-commands.test.ts': 21,
  'test/engine/workspace-run.test.ts': 21,
  'test/torture/editor.test.ts': 21,
  'test/workspace/worktree.test.ts': 20,
  'test/engine/workspace-crash.test.ts': 19,
  'test/cli/new-list.test.ts': 19,
  'test/web/page.test.ts': 18,
  'test/engine/workspace-setup.test.ts': 17,
  'test/engine/merge-crash.test.ts': 16,
  'test/queue/fencing.test.ts': 16,
  'test/cli/env-file.test.ts': 15,
  'test/workspace/commit.test.ts': 14,
  'test/web/start-web-cli.test.ts': 14,
  'test/queue/remote-runs.test.ts': 14,
  'test/torture/two-services.test.ts': 13,
  'test/cli/closed-stdout.test.ts': 13,
  'test/engine/first-hour.test.ts': 12,
  'test/workspace/merge.test.ts': 11,
  'test/web/live-e2e.test.ts': 11,
  'test/workspace/gates.test.ts': 11,
  'test/vault/watcher.test.ts': 10,
};

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files); // failed first, then cached durations, then file size
    const cache = this.ctx.cache;
    const key = (f: TestSpecification) => relative(this.ctx.config.root, f.moduleId);
    const cached = (f: TestSpecification) => cache.getFileTestResults(`${f.project.name}:${key(f)}`);
    // Once vitest has timed every file, its order stands (it also runs last run's failures first).
    if (base.every((f) => cached(f))) return base;
    const ms = (f: TestSpecification) => cached(f)?.duration ?? (ROUGH_SECONDS[key(f)] ?? 0) * 1000;
    const failed = (f: TestSpecification) => (cached(f)?.failed ? 1 : 0);
    // Array.prototype.sort is stable: files without either keep vitest's order among themselves.
    return base
      .map((f) => ({ f, failed: failed(f), ms: ms(f) }))
      .sort((a, b) => b.failed - a.failed || b.ms - a.ms)
      .map(({ f }) => f);
  }
}
