// Where a helper process's program is: compiled beside the module asking, or, when that module
// runs from the sources (tests), the build's copy in dist/ (the tests build it first).
import { existsSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `file` (a .js name) next to the module at `moduleUrl`, else the same path under dist/. */
export function compiledScript(moduleUrl: string, file: string): string {
  const here = fileURLToPath(new URL(`./${file}`, moduleUrl));
  if (existsSync(here)) return here;
  return here.replace(`${sep}src${sep}`, `${sep}dist${sep}`);
}
