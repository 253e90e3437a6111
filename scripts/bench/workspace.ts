// workspace: the git workspace layer (the TS sources, via tsx) on a generated repository of 10,000
// files, against plain git doing the least that gets the same result, alternated rep by rep:
// - worktree: openWorkspace (pre-flight + `worktree add` + checks) vs plain `git worktree add -b`;
// - commit: commitAll with diff capture (.patch written) of a 200-file change vs `git add -A && git commit`.
// Targets: both ratios ≤ 1.3.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitAll } from '../../src/workspace/commit.js';
import { openWorkspace } from '../../src/workspace/open.js';
import { median, round, verdict, type BenchResult } from './common.js';

const FILES = 10_000;
const CHANGED = 200;

function plainEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('GIT_')) delete env[k];
  return { ...env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@x' };
}

function gitSync(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, env: plainEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

/** 100 folders × 100 files of a few lines each, committed on main. */
function generateRepo(root: string): string {
  const repo = join(root, 'repo');
  mkdirSync(repo);
  gitSync(repo, ['init', '-q', '-b', 'main']);
  for (let d = 0; d < FILES / 100; d++) {
    const dir = join(repo, `pkg${d}`);
    mkdirSync(dir);
    for (let f = 0; f < 100; f++) writeFileSync(join(dir, `mod${f}.ts`), `// module ${d}/${f}\nexport const value${f} = ${d * 100 + f};\nexport function f${f}(x: number) {\n  return x + ${f};\n}\n`);
  }
  gitSync(repo, ['add', '-A']);
  gitSync(repo, ['commit', '-q', '-m', 'generated']);
  return repo;
}

const ms = (t0: number) => performance.now() - t0;

/** Both timings of rep `r`, plain git first in even reps and ours first in odd ones. */
async function inTurn(r: number, plain: () => number, ours: () => Promise<number>): Promise<[number, number]> {
  if (r % 2 === 0) {
    const p = plain();
    return [p, await ours()];
  }
  const o = await ours();
  return [plain(), o];
}

export async function runWorkspace(quick: boolean): Promise<BenchResult> {
  const reps = quick ? 3 : 7;
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'vr-bench-workspace-')));
  try {
    const repo = generateRepo(root);
    const vault = join(root, 'vault');
    mkdirSync(vault);
    const worktrees = join(root, 'worktrees');
    const plainDir = join(root, 'plain-worktrees');
    mkdirSync(plainDir);

    // ---- worktree creation ----
    const oursWt: number[] = [];
    const plainWt: number[] = [];
    const drop = (path: string, branch: string) => {
      gitSync(repo, ['worktree', 'remove', '--force', path]);
      gitSync(repo, ['branch', '-D', branch]);
    };
    for (let r = -1; r < reps; r++) {
      // rep -1 warms the page cache and the JIT for both, and is not counted. The order turns each
      // rep: whichever runs second creates its 10,000 files just after the first one's were
      // deleted, which on ext4 without a journal makes creation dearer (round 10).
      const plain = () => {
        const t0 = performance.now();
        gitSync(repo, ['worktree', 'add', '-q', '-b', `plain/${r + 1}`, join(plainDir, `p${r + 1}`), 'main']);
        const p = ms(t0);
        drop(join(plainDir, `p${r + 1}`), `plain/${r + 1}`);
        return p;
      };
      const ours = async () => {
        const t0 = performance.now();
        const ws = await openWorkspace({ taskId: `bench-${r + 1}`, workingDir: repo, mode: 'worktree', worktreesDir: worktrees, vaultDir: vault });
        const o = ms(t0);
        drop(ws.root, ws.branch);
        return o;
      };
      const [p, o] = await inTurn(r, plain, ours);
      if (r >= 0) {
        plainWt.push(p);
        oursWt.push(o);
      }
    }

    // ---- diff capture + commit of a 200-file change ----
    const ws = await openWorkspace({ taskId: 'bench-commit', workingDir: repo, mode: 'worktree', worktreesDir: worktrees, vaultDir: vault });
    const change = (tag: string) => {
      for (let i = 0; i < CHANGED; i++) {
        const d = i % 100;
        const f = Math.floor(i / 100) * 7 + (i % 7);
        writeFileSync(join(ws.root, `pkg${d}`, `mod${f}.ts`), `// module ${d}/${f} changed ${tag}\nexport const value${f} = ${i};\nexport const extra = '${tag}';\n`);
      }
    };
    const oursCommit: number[] = [];
    const plainCommit: number[] = [];
    let files = 0;
    for (let r = -1; r < reps; r++) {
      // Each commits the same 200 files changed again; the order turns each rep, as above.
      const plain = () => {
        change(`plain-${r}`);
        const t0 = performance.now();
        gitSync(ws.root, ['add', '-A']);
        gitSync(ws.root, ['commit', '-q', '-m', `plain ${r}`]);
        return ms(t0);
      };
      const ours = async () => {
        change(`ours-${r}`);
        const before = gitSync(ws.root, ['rev-parse', 'HEAD']).trim();
        const t0 = performance.now();
        const c = await commitAll({ cwd: ws.root, baseCommit: before, title: `ours ${r}`, taskId: 'bench-commit', ownWorktree: true, capture: { maxChars: 100_000, patchPath: join(vault, 'bench.patch') } });
        const o = ms(t0);
        files = c.filesChanged;
        return o;
      };
      const [p, o] = await inTurn(r, plain, ours);
      if (r >= 0) {
        plainCommit.push(p);
        oursCommit.push(o);
      }
    }
    if (files !== CHANGED) throw new Error(`commit saw ${files} changed files, expected ${CHANGED}`);

    const wtRatio = round(median(oursWt) / median(plainWt), 2);
    const commitRatio = round(median(oursCommit) / median(plainCommit), 2);
    return {
      name: 'workspace',
      figures: {
        files: FILES,
        changed: CHANGED,
        reps,
        worktreeOursMs: round(median(oursWt), 0),
        worktreePlainMs: round(median(plainWt), 0),
        worktreeRatio: wtRatio,
        commitOursMs: round(median(oursCommit), 0),
        commitPlainMs: round(median(plainCommit), 0),
        commitRatio,
      },
      rows: [
        ['worktree: openWorkspace vs git worktree add (median ms)', `${round(median(oursWt), 0)} vs ${round(median(plainWt), 0)}`, '', ''],
        ['worktree ratio', String(wtRatio), '≤ 1.3', verdict(wtRatio <= 1.3)],
        [`commit + diff of ${CHANGED} files vs add -A && commit (median ms)`, `${round(median(oursCommit), 0)} vs ${round(median(plainCommit), 0)}`, '', ''],
        ['commit ratio', String(commitRatio), '≤ 1.3', verdict(commitRatio <= 1.3)],
      ],
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
