// tsc compiles only .ts: the web client's plain JS/CSS files are copied beside the compiled server.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const from = join(root, 'src', 'web', 'static');
const to = join(root, 'dist', 'web', 'static');
if (existsSync(to)) rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
