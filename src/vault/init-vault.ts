// Create a vault's layout anywhere; existing files are never overwritten.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXAMPLES, TASK_TEMPLATE } from './bundled.js';
import { VAULT_FOLDERS } from './layout.js';

export interface InitResult {
  created: string[];
  kept: string[];
}

export async function initVault(root: string, opts: { examples?: boolean } = {}): Promise<InitResult> {
  const result: InitResult = { created: [], kept: [] };
  for (const f of VAULT_FOLDERS) await mkdir(join(root, f), { recursive: true });
  const files: [string, string][] = [[join(root, 'Templates', 'Task.md'), TASK_TEMPLATE]];
  if (opts.examples !== false) for (const [name, text] of Object.entries(EXAMPLES)) files.push([join(root, 'Needs_Action', name), text]);
  for (const [path, text] of files) {
    try {
      await writeFile(path, text, { flag: 'wx' }); // 'wx': fail rather than overwrite
      result.created.push(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      result.kept.push(path);
    }
  }
  return result;
}
