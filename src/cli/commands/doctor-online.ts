// `doctor --online`: one minimal authenticated request to the Anthropic API (or ANTHROPIC_BASE_URL)
// with the credentials claude would use: GET /v1/models?limit=1, which costs no tokens. Only the
// endpoint's origin and the credential's name are printed, never the secret.
import { readFile } from 'node:fs/promises';
import type { CheckResult } from './doctor.js';

export const DEFAULT_API = 'https://api.anthropic.com';
const TIMEOUT_MS = 10_000;

export interface Credential {
  /** What to call it in output: a key name or the login file. */
  name: string;
  headers: Record<string, string>;
  secret: string;
}

/** The credential claude would use: ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, else a /login token. */
export async function findCredential(env: NodeJS.ProcessEnv, credentialsFile: string): Promise<Credential | undefined> {
  const key = env.ANTHROPIC_API_KEY?.trim();
  if (key) return { name: 'ANTHROPIC_API_KEY', headers: { 'x-api-key': key }, secret: key };
  const token = env.ANTHROPIC_AUTH_TOKEN?.trim();
  if (token) return { name: 'ANTHROPIC_AUTH_TOKEN', headers: { authorization: `Bearer ${token}` }, secret: token };
  try {
    const creds = JSON.parse(await readFile(credentialsFile, 'utf8')) as { claudeAiOauth?: { accessToken?: unknown } };
    const access = creds.claudeAiOauth?.accessToken;
    if (typeof access === 'string' && access) {
      return { name: `the login in ${credentialsFile}`, headers: { authorization: `Bearer ${access}`, 'anthropic-beta': 'oauth-2025-04-20' }, secret: access };
    }
  } catch {
    /* no login file */
  }
  return undefined;
}

/** The endpoint without credentials in it (a base URL may carry user:password). */
function publicEndpoint(base: URL): string {
  return `${base.protocol}//${base.host}${base.pathname.replace(/\/$/, '')}`;
}

export async function checkOnline(env: NodeJS.ProcessEnv, credentialsFile: string, envSource: string): Promise<CheckResult> {
  const fail = (line: string, details?: string[]): CheckResult => ({ ok: false, line, details });
  const cred = await findCredential(env, credentialsFile);
  if (!cred) return fail('Claude API (online): no credentials to try; see the credentials line above');
  const raw = env.ANTHROPIC_BASE_URL?.trim() || DEFAULT_API;
  let base: URL;
  try {
    base = new URL(raw.endsWith('/') ? raw : `${raw}/`);
  } catch {
    return fail(`Claude API (online): ANTHROPIC_BASE_URL is not a URL`, [`fix ANTHROPIC_BASE_URL in ${envSource}`]);
  }
  const where = publicEndpoint(base);
  const url = new URL('v1/models?limit=1', base);
  url.username = '';
  url.password = '';
  const redact = (s: string) => s.split(cred.secret).join('…');
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { ...cred.headers, 'anthropic-version': '2023-06-01' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000}s` : (cause?.code ?? cause?.message ?? (err as Error).message);
    return fail(`Claude API (online): cannot reach ${where}: ${redact(String(why))}`, ['check the network (a proxy or firewall) and ANTHROPIC_BASE_URL']);
  }
  const body = await res.text().catch(() => '');
  const message = redact(apiErrorMessage(body)).slice(0, 200);
  if (res.ok) return { ok: true, line: `Claude API (online): ${where} accepted ${cred.name} (HTTP ${res.status})` };
  if (res.status === 401 || res.status === 403) {
    return fail(`Claude API (online): ${where} rejected ${cred.name} (HTTP ${res.status}${message ? `: ${message}` : ''})`, [
      cred.name.startsWith('ANTHROPIC_')
        ? `fix: set a valid ${cred.name} in ${envSource}, or remove it and log in with 'claude' → /login`
        : "fix: log in again with 'claude' → /login, or set ANTHROPIC_API_KEY in .env",
    ]);
  }
  return fail(`Claude API (online): ${where} answered HTTP ${res.status} to GET /v1/models${message ? ` (${message})` : ''}; the credentials could not be confirmed`, [
    'if ANTHROPIC_BASE_URL points at a proxy, check that it forwards /v1/models',
  ]);
}

function apiErrorMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown } };
    return typeof j.error?.message === 'string' ? j.error.message : '';
  } catch {
    return '';
  }
}
