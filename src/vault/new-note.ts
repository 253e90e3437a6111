// A new task note's file name rules and its text, shared by `vaultrunner new` and the web page's
// "new task" (both write a note exactly like a person would, in Obsidian's property formats).
import { formatScalar } from './frontmatter.js';
import { isConflictName, isTempName } from './ignore-rules.js';

const MAX_TITLE_CHARS = 120;
// File systems allow 255 bytes; our temp names (`.<name>.md.vr-<hex>.tmp`) and sync tools'
// conflict suffixes (`.sync-conflict-<date>-<time>-<id>`) need room on top of the name.
const MAX_NAME_BYTES = 200;
// Reserved on Windows/macOS file systems, or meaningful inside [[wikilinks]] (#heading, ^block, |alias).
const RESERVED_CHARS = /[\\/:*?"<>|#^[\]]/;
const WINDOWS_NAMES = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;

/** Why a title cannot be a task's file name, or undefined when it can. */
export function unsafeTitleReason(title: string): string | undefined {
  if (title.trim() === '') return 'the title is empty';
  if (/[\x00-\x1f\x7f]/.test(title)) return 'the title contains control characters';
  const bad = RESERVED_CHARS.exec(title);
  if (bad) return `the title contains ${JSON.stringify(bad[0])}; file names and [[links]] cannot hold any of \\ / : * ? " < > | # ^ [ ]`;
  if (title.includes('..')) return 'the title contains ".."';
  if (title.startsWith('.')) return 'the title starts with "." (a hidden file that Obsidian and vaultrunner ignore)';
  if (/[. ]$/.test(title) || /^\s/.test(title)) return 'the title starts or ends with a space, or ends with "." (not portable across file systems)';
  if (WINDOWS_NAMES.test(title)) return `${JSON.stringify(title)} is a reserved file name on Windows`;
  if ([...title].length > MAX_TITLE_CHARS) return `the title is longer than ${MAX_TITLE_CHARS} characters`;
  if (Buffer.byteLength(title) > MAX_NAME_BYTES) return `the title is longer than ${MAX_NAME_BYTES} bytes`;
  // A name the service would take for a sync tool's conflict copy or a temp file would never run.
  if (isConflictName(`${title}.md`) || isTempName(`${title}.md`)) return `the title ${JSON.stringify(title)} looks like a sync conflict copy or a temp file, which vaultrunner ignores`;
  return undefined;
}

export interface NewTaskFields {
  title: string;
  type: string;
  priority?: string;
  blockedBy: string[];
  workingDir?: string;
  agent?: string;
  due?: string;
  model?: string;
  timeout?: string;
  requiresReview?: boolean;
  requiresApproval?: boolean;
  created: string;
}

/** The note text: frontmatter in Obsidian's formats (block lists, quoted links), then the body. */
export function renderNewTask(f: NewTaskFields, body: string): string {
  const lines = ['---', `type: ${formatScalar(f.type)}`, 'status: new', `title: ${JSON.stringify(f.title)}`, `priority: ${f.priority ?? 'medium'}`];
  if (f.blockedBy.length > 0) lines.push('blocked_by:', ...f.blockedBy.map((b) => `  - ${JSON.stringify(`[[${b}]]`)}`));
  if (f.workingDir) lines.push(`working_dir: ${/^\/[A-Za-z0-9_.\/-]*$/.test(f.workingDir) ? f.workingDir : formatScalar(f.workingDir)}`);
  if (f.agent) lines.push(`agent: ${formatScalar(f.agent)}`);
  if (f.model) lines.push(`model: ${formatScalar(f.model)}`);
  if (f.due) lines.push(`due: ${f.due}`);
  if (f.timeout) lines.push(`timeout: ${/^\d+(ms|s|m|h)$/.test(f.timeout) ? f.timeout : formatScalar(f.timeout)}`); // 20m, as a person types it
  if (f.requiresReview) lines.push('requires_review: true');
  if (f.requiresApproval) lines.push('requires_approval: true');
  lines.push(`created: ${f.created}`, '---', '');
  const text = body.replace(/\r\n/g, '\n');
  return `${lines.join('\n')}${text === '' || text.endsWith('\n') ? text : `${text}\n`}`;
}
