// node:crypto, loaded on first use: its load (WebCrypto set-up) is ~7 ms of every CLI call, and a
// read-only command such as `list` usually hashes nothing and writes no temp file.
import type { Hash } from 'node:crypto';

let mod: typeof import('node:crypto') | undefined;

function crypto(): typeof import('node:crypto') {
  return (mod ??= process.getBuiltinModule('node:crypto'));
}

export function createHash(algorithm: string): Hash {
  return crypto().createHash(algorithm);
}

export function randomBytes(size: number): Buffer {
  return crypto().randomBytes(size);
}
