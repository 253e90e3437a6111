// `vaultrunner new "<title>"`: a task note in Needs_Action/, written exactly like a person would
// (Obsidian property formats), created without ever overwriting another note.
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Config } from '../../config/config.js';
import { parseDuration } from '../../config/duration.js';
import { obsidianDateTime } from '../../clock.js';
import { UsageError } from '../../errors.js';
import { PRIORITIES } from '../../domain/status.js';
import { describeProblems, linkName, validateTask } from '../../domain/task.js';
import { renderNewTask, unsafeTitleReason } from '../../vault/new-note.js';
import { parseSnapshot } from '../../vault/note-store.js';
import type { Command } from '../command.js';
import { folderPath, openVault, readAll, SEARCH_FOLDERS, TaskExistsError } from './shared.js';

export const newCommand: Command = {
  name: 'new',
  summary: 'create a task note in Needs_Action/ (never overwrites)',
  usage: 'new "<title>" --type <type> [--dir <working_dir>] [--priority <p>] [--blocked-by <task>]... [--agent <a>] [--model <m>] [--due <date>] [--timeout <duration>] [--requires-review] [--requires-approval] [--body <text>]',
  help: [
    'The title becomes the file name (Needs_Action/<title>.md) and so the task\'s id: [[<title>]].',
    'The body comes from --body, else from stdin when it is not a terminal, else it is empty.',
    `--priority is one of ${PRIORITIES.join(', ')}; --blocked-by may be given several times;`,
    '--dir is made absolute and must lie inside WORKSPACE_ROOTS (refused up front, exit 2).',
    '--due is a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:mm); --timeout a duration (30s, 10m, 1h);',
    '--model a model name for the agent; --requires-review / --requires-approval set those keys to true.',
    'Each value is checked as the note\'s own key would be (exit 2 when it is not allowed).',
    'Titles that would be unsafe file names or break [[links]] are refused (exit 2); a name that',
    'is taken in Needs_Action/, Pending_Approval/ or Done/ is refused too (exit 1).',
    'Prints the new note\'s path.',
  ].join('\n'),
  options: {
    type: { type: 'string' },
    dir: { type: 'string' },
    priority: { type: 'string' },
    'blocked-by': { type: 'string', multiple: true },
    agent: { type: 'string' },
    model: { type: 'string' },
    due: { type: 'string' },
    timeout: { type: 'string' },
    'requires-review': { type: 'boolean' },
    'requires-approval': { type: 'boolean' },
    body: { type: 'string' },
  },
  positionals: [1, 1],
  async run(ctx) {
    const { io, values } = ctx;
    const title = ctx.positionals[0]!;
    const why = unsafeTitleReason(title);
    if (why) throw new UsageError(`cannot use ${JSON.stringify(title.slice(0, 140))} as a task name: ${why}`);
    const type = typeof values.type === 'string' ? values.type.trim() : '';
    if (!type) throw new UsageError(`--type is required, e.g. --type claude_code (usage: vaultrunner ${newCommand.usage})`);
    const priority = typeof values.priority === 'string' ? values.priority : undefined;
    if (priority !== undefined && !(PRIORITIES as readonly string[]).includes(priority)) {
      throw new UsageError(`--priority ${JSON.stringify(priority)} is not allowed; use one of ${PRIORITIES.join(', ')}`);
    }
    const blockedBy = ((values['blocked-by'] as string[] | undefined) ?? []).map(linkName);
    const badDep = blockedBy.find((b) => !b || unsafeTitleReason(b));
    if (badDep !== undefined) throw new UsageError(`--blocked-by ${JSON.stringify(badDep)} is not a task name`);
    const agent = typeof values.agent === 'string' ? values.agent.trim() : undefined;
    const workingDir = typeof values.dir === 'string' && values.dir.trim() ? resolve(io.cwd, values.dir.trim()) : undefined;
    const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string).trim() : undefined);
    const [model, due, timeout] = [str('model'), str('due'), str('timeout')];
    if (model === '') throw new UsageError('--model is empty; give a model name, or leave it out for the agent\'s default');
    // The same rules as the note's keys (lifecycle/task.ts), said in terms of the flag.
    if (due !== undefined && !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/.test(due)) throw new UsageError(`--due ${JSON.stringify(due)} is not allowed; use a date YYYY-MM-DD or date-time YYYY-MM-DDTHH:mm`);
    if (timeout !== undefined && !((parseDuration(timeout) ?? 0) > 0)) throw new UsageError(`--timeout ${JSON.stringify(timeout)} is not allowed; use a duration like 30s, 10m or 1h`);

    const { config, paths, store } = openVault(ctx);
    if (workingDir) {
      const why = await outsideRoots(workingDir, config);
      if (why) throw new UsageError(why);
      if (!(await stat(workingDir).then((st) => st.isDirectory(), () => false))) {
        io.stderr.write(`vaultrunner: warning: --dir ${workingDir} is not an existing directory yet; the task fails until it is\n`);
      }
    }
    if (agent && agent !== 'claude' && !(agent in config.commandAgents)) {
      io.stderr.write(`vaultrunner: warning: agent ${JSON.stringify(agent)} is not configured (configured: claude${Object.keys(config.commandAgents).map((a) => `, ${a}`).join('')}); the task will fail until it is\n`);
    }
    const file = `${title}.md`;
    const existing = await findName(paths, file);
    if (existing) throw new TaskExistsError(relative(io.cwd, existing) || existing);
    for (const dep of blockedBy) {
      if (!(await findName(paths, `${dep}.md`))) io.stderr.write(`vaultrunner: warning: blocked_by ${JSON.stringify(dep)}: no such task yet; this task waits until one exists and is done\n`);
    }

    let body = typeof values.body === 'string' ? values.body : '';
    if (typeof values.body !== 'string' && !io.stdin.isTTY) body = await readAll(io.stdin);
    const text = renderNewTask(
      { title, type, priority, blockedBy, workingDir, agent, model, due, timeout, requiresReview: Boolean(values['requires-review']), requiresApproval: Boolean(values['requires-approval']), created: obsidianDateTime(Date.now()) },
      body,
    );
    // Our own output must be a valid task; this catches a type like "true" rendered wrong.
    const v = validateTask(title, parseFrontmatterData(text));
    if (!v.ok) throw new UsageError(`the task would be invalid: ${describeProblems(v.problems)}`);

    const path = join(paths.needsAction, file);
    try {
      await store.create(path, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new TaskExistsError(relative(io.cwd, path) || path);
      throw err;
    }
    io.stdout.write(`${relative(io.cwd, path) || path}\n`);
    return 0;
  },
};

/**
 * Why `dir` may not be a task's working_dir (the executor's WORKSPACE_DENIED rule), or undefined.
 * Symlinks are resolved as far as the path exists, so a link inside a root cannot lead out of it.
 */
async function outsideRoots(dir: string, config: Config): Promise<string | undefined> {
  if (config.workspaceRoots.length === 0) {
    return `--dir ${dir} cannot be used: WORKSPACE_ROOTS is empty, so tasks run in a scratch folder; set WORKSPACE_ROOTS in .env to allow working dirs, or leave out --dir`;
  }
  const real = await realpathAsFarAsExists(dir);
  for (const root of config.workspaceRoots) {
    const r = relative(await realpath(root).catch(() => root), real);
    if (r === '' || (!r.startsWith('..') && !isAbsolute(r))) return undefined;
  }
  return `--dir ${dir} is outside WORKSPACE_ROOTS (${config.workspaceRoots.join(', ')}); the task would fail with WORKSPACE_DENIED. Pick a dir inside them or add its root to WORKSPACE_ROOTS`;
}

async function realpathAsFarAsExists(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    const parent = dirname(p);
    return parent === p ? p : join(await realpathAsFarAsExists(parent), basename(p));
  }
}

/** An existing note with this file name (case-insensitive, as Obsidian's links are) in a task folder. */
async function findName(paths: ReturnType<typeof openVault>['paths'], file: string): Promise<string | undefined> {
  const lower = file.toLowerCase();
  for (const folder of SEARCH_FOLDERS) {
    const dir = folderPath(paths, folder);
    const names = await readdir(dir).catch(() => [] as string[]);
    const hit = names.find((n) => n.toLowerCase() === lower);
    if (hit) return join(dir, hit);
  }
  return undefined;
}

/** The data of a note text, parsed exactly as the store parses every note. */
function parseFrontmatterData(text: string): Record<string, unknown> {
  const r = parseSnapshot({ path: '', text, stamp: { size: 0, mtimeMs: 0, ctimeMs: 0, ino: 0 }, hash: '' });
  return r.ok ? r.data : {};
}
