// Tests drive the real CLI (node dist/cli.js), so build it once before they run. Type errors
// are reported but do not stop the run (tsc still emits); `npm ci` / `npm run build` gate on them.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  // Incremental, with its record inside dist/ (gone with it): after `npm ci` or `npm run build`
  // (same flags) this is a check of ~3 s instead of a ~11 s build before the first test starts.
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--incremental', '--tsBuildInfoFile', join(root, 'dist', '.tsbuildinfo')], { encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`warning: tsc reported errors while building dist/:\n${r.stdout}${r.stderr}\n`);
  // The web client's plain JS/CSS files beside the compiled server, as `npm run build` does.
  spawnSync(process.execPath, [join(root, 'scripts', 'copy-web-static.mjs')], { stdio: 'inherit' });
}
