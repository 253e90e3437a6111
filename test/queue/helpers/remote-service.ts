// A real `vaultrunner start` with QUEUE_URL (the coordinator), real worker processes, a real
// redis-server and a bare git remote (QueueHarness), and the person's checkout cloned from that
// remote: the whole remote-worker setup an operator would run, in a temp dir.
import { realpathSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initVault } from '../../../src/vault/init-vault.js';
import { spawnService, type ServiceProcess } from '../../helpers/cli-process.js';
import { findNote } from '../../helpers/find-note.js';
import { git, QueueHarness } from './queue-harness.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

export interface ServiceHandle extends ServiceProcess {
  /** Resolves when the service's output matches (rejects if it exits first). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  count(re: RegExp): number;
}

export class RemoteService {
  vault!: string;
  repo!: string;
  services: ServiceHandle[] = [];

  private constructor(readonly q: QueueHarness) {}

  static async create(): Promise<RemoteService> {
    const s = new RemoteService(await QueueHarness.create());
    const root = realpathSync(s.q.root);
    s.vault = join(root, 'vault');
    s.repo = join(root, 'repo');
    // The person's checkout: a clone of the remote the workers use (its origin).
    git(root, 'clone', '--quiet', s.q.remote, s.repo);
    await initVault(s.vault, { examples: false });
    return s;
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      VAULT_DIR: this.vault,
      QUEUE_URL: this.q.redis.url,
      AGENT: 'scripted',
      COMMAND_AGENTS: JSON.stringify({ scripted: [process.execPath, join(FIXTURES, 'scripted-agent.mjs')] }),
      WORKSPACE_ROOTS: realpathSync(this.q.root),
      WORKTREES_DIR: join(this.q.root, 'worktrees'),
      // The names the coordinator asks for; each worker runs its own definition of them.
      GATES: JSON.stringify({ has_file: ['false'] }),
      MAX_CONCURRENT: '8',
      EXECUTOR_INTERVAL: '200ms',
      WATCHDOG_INTERVAL: '300ms',
      ORCHESTRATOR_INTERVAL: '300ms',
      LEASE_TTL: '3s',
      KILL_GRACE: '500ms',
      RETRY_BACKOFF: '200ms',
      LOG_LEVEL: 'info',
      GIT_CONFIG_NOSYSTEM: '1',
      ...extra,
    };
  }

  startService(extra: Record<string, string> = {}): ServiceHandle {
    const p = spawnService([], { cwd: this.q.root, env: this.env(extra) });
    const handle: ServiceHandle = {
      ...p,
      count: (re) => p.output().split('\n').filter((l) => re.test(l)).length,
      waitFor: (re, timeoutMs = 30_000) =>
        new Promise<void>((resolve, reject) => {
          const end = Date.now() + timeoutMs;
          let gone = false;
          void p.exited.then(() => (gone = true));
          const look = () => {
            if (re.test(p.output())) return resolve();
            if (gone) return reject(new Error(`the service exited before ${re}:\n${p.output()}`));
            if (Date.now() > end) return reject(new Error(`no ${re} in the service's output within ${timeoutMs} ms:\n${p.output()}`));
            setTimeout(look, 25);
          };
          look();
        }),
    };
    this.services.push(handle);
    return handle;
  }

  /** A task note for the scripted agent: its spec is one line of the body. */
  drop(id: string, spec: { sleepMs?: number; file?: string; fail?: boolean }, extra = ''): void {
    const tmp = join(this.vault, 'Needs_Action', `.${id}.tmp`);
    writeFileSync(tmp, `---\ntype: claude_code\ntitle: Task ${id}\nworking_dir: ${this.repo}\n${extra}---\nDo ${id}.\n\n${JSON.stringify({ spec })}\n`);
    renameSync(tmp, join(this.vault, 'Needs_Action', `${id}.md`));
  }

  note(id: string): { folder: string; text: string } | undefined {
    const found = findNote(this.vault, id);
    return found && { folder: found.folder, text: found.text };
  }

  field(id: string, key: string): string | undefined {
    const m = new RegExp(`^${key}: *"?([^"\\n]*)"?$`, 'm').exec(this.note(id)?.text ?? '');
    return m?.[1];
  }

  /** Resolves once every task is filed in Done/ (polled: a note is a plain file). */
  async waitDone(ids: string[], timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const left = ids.filter((id) => this.note(id)?.folder !== 'Done');
      if (left.length === 0) return;
      if (Date.now() > end) throw new Error(`not done within ${timeoutMs} ms: ${left.map((id) => `${id} (${this.field(id, 'status') ?? 'gone'}: ${this.field(id, 'error') ?? ''})`).join(', ')}\n--- service:\n${this.services.map((s) => s.output()).join('\n---\n').slice(-6000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  localBranch(branch: string): string {
    return git(this.repo, 'rev-parse', `refs/heads/${branch}`);
  }

  async dispose(): Promise<void> {
    for (const s of this.services) {
      if (s.child.exitCode === null && s.child.signalCode === null) {
        s.child.kill('SIGTERM');
        const t = setTimeout(() => s.child.kill('SIGKILL'), 8000);
        await s.exited;
        clearTimeout(t);
      }
    }
    await this.q.dispose();
  }
}
