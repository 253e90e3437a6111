// The readable console lines are written once the current turn of the event loop is over (off
// the pickup path), in order, and none is lost when the process exits at once; the JSON file in
// Logs/ gets each line as it is logged.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/config.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('console log lines', () => {
  it('come after the turn, in order, all of them on an immediate exit; the file has each line at once', () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-log-'));
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      import { join } from 'node:path';
      import { createLogger } from ${JSON.stringify(join(PACKAGE_ROOT, 'src', 'log', 'logger.ts'))};
      let consoleWrites = 0;
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = (chunk, ...rest) => { consoleWrites++; return write(chunk, ...rest); };
      const { logger } = createLogger({ vaultDir: ${JSON.stringify(dir)}, level: 'info', console: true });
      for (let i = 1; i <= 3; i++) logger.info({ component: 'test' }, 'line ' + i);
      const logs = join(${JSON.stringify(dir)}, 'Logs');
      const inFile = readFileSync(join(logs, readdirSync(logs)[0]), 'utf8').trim().split('\\n').length;
      process.stdout.write(JSON.stringify({ inFile, consoleWrites }));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // In the logging turn: all three lines in the file, nothing on the console yet.
    expect(JSON.parse(r.stdout)).toEqual({ inFile: 3, consoleWrites: 0 });
    // At exit: all three on the console, in order.
    const lines = r.stderr.split('\n').filter((l) => /line \d/.test(l));
    expect(lines.map((l) => /line (\d)/.exec(l)![1])).toEqual(['1', '2', '3']);
  });
});
