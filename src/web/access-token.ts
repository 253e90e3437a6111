// The web view's access token: 32 random bytes in `.vaultrunner/web-token`, created once with
// mode 0600 by exclusive create, never through a symbolic link. Whoever can read the file (the
// operator) can open the page; the token never goes into a log or a note.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { VaultrunnerError } from '../errors.js';

export const TOKEN_FILE = 'web-token';
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export class WebTokenError extends VaultrunnerError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('CONFIG_INVALID', message, opts);
  }
}

/** Read the token, creating it on first start. `stateDir` is the vault's `.vaultrunner/`. */
export async function ensureWebToken(stateDir: string): Promise<string> {
  const file = join(stateDir, TOKEN_FILE);
  const token = randomBytes(32).toString('base64url');
  try {
    const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
    try {
      await fh.writeFile(`${token}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new WebTokenError(`cannot create ${file}: ${(err as Error).message}`, { cause: err });
  }
  return readWebToken(stateDir);
}

/** The existing token; a clear error when it is missing, a link, readable by others or malformed. */
export async function readWebToken(stateDir: string): Promise<string> {
  const file = join(stateDir, TOKEN_FILE);
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new WebTokenError(`no web token yet (${file}); start the service with --web once`, { cause: err });
    if (code === 'ELOOP') throw new WebTokenError(`${file} is a symbolic link; remove it (it is re-created on the next start)`, { cause: err });
    throw new WebTokenError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new WebTokenError(`${file} is not a regular file; remove it`);
    if ((st.mode & 0o077) !== 0) throw new WebTokenError(`${file} can be read by other users (mode ${(st.mode & 0o777).toString(8)}); remove it, a new one is made on the next start`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new WebTokenError(`${file} belongs to another user; remove it`);
    const text = (await fh.readFile('utf8')).trim();
    if (!TOKEN_RE.test(text)) throw new WebTokenError(`${file} does not hold a token; remove it, a new one is made on the next start`);
    return text;
  } finally {
    await fh.close();
  }
}

/** Constant-time comparison of a presented token with the real one. */
export function sameSecret(presented: string | undefined, secret: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/** The CSRF token embedded in pages: derived from the secret, so it needs no server state. */
export function csrfTokenFor(secret: string): string {
  return createHmac('sha256', secret).update('vaultrunner-csrf-v1').digest('base64url');
}

/** A cookie name per vault (cookies are not kept apart by port), not revealing the token. */
export function cookieNameFor(secret: string): string {
  return `vr_${createHash('sha256').update(`cookie:${secret}`).digest('hex').slice(0, 10)}`;
}
