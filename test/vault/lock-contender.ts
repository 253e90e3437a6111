// A child process for service-lock.test.ts: waits for "go" on stdin, then tries to take each
// lock file in turn, prints what it got, and holds its locks (stays alive) until stdin closes.
import { createInterface } from 'node:readline';
import { acquireServiceLock } from '../../src/vault/service-lock.js';

const [dir, rounds] = [process.argv[2]!, Number(process.argv[3])];
const lines = createInterface({ input: process.stdin });
const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
process.stdout.write('ready\n');
await go;
const won: number[] = [];
const errors: string[] = [];
for (let r = 0; r < rounds; r++) {
  try {
    await acquireServiceLock(`${dir}/lock-${r}/service.lock`);
    won.push(r);
  } catch (err) {
    if ((err as { code?: string }).code !== 'LOCK_HELD') errors.push(`${r}: ${(err as Error).stack}`);
  }
}
process.stdout.write(`${JSON.stringify({ pid: process.pid, won, errors })}\n`);
await new Promise((resolve) => lines.once('close', resolve));
