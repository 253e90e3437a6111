import { relative, resolve } from 'node:path';
import { initVault } from '../../vault/init-vault.js';
import type { Command } from '../command.js';

export const initCommand: Command = {
  name: 'init',
  summary: 'create a vault (folders, Templates/Task.md, example tasks); never overwrites',
  usage: 'init [dir] [--no-examples]',
  options: { 'no-examples': { type: 'boolean' } },
  positionals: [0, 1],
  async run({ io, values, positionals }) {
    const dir = resolve(io.cwd, positionals[0] ?? (typeof values.vault === 'string' ? values.vault : 'vault'));
    const r = await initVault(dir, { examples: !values['no-examples'] });
    for (const p of r.created) io.stdout.write(`created ${relative(io.cwd, p) || p}\n`);
    for (const p of r.kept) io.stdout.write(`kept    ${relative(io.cwd, p) || p} (already there)\n`);
    io.stdout.write(`vault ready at ${dir}\n`);
    return 0;
  },
};
