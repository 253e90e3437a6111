// Secrets never reach Logs/: the real logger (pino, the daily JSON file) censors the secret keys at
// the top level of a logged object and one level down, an error holding one keeps its message and
// stack, the caller's objects are left as they were, and an object with no secret is not copied.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { CENSOR, redactSecrets } from '../../src/log/redact.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function logLines(vault: string): { text: string; lines: Record<string, unknown>[] } {
  const logs = join(vault, 'Logs');
  const text = readdirSync(logs)
    .map((f) => readFileSync(join(logs, f), 'utf8'))
    .join('');
  return { text, lines: text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('log redaction', () => {
  it('censors secrets at the top level and one level down, in the file pino writes', () => {
    dir = mkdtempSync(join(tmpdir(), 'vr-redact-'));
    const { logger, close } = createLogger({ vaultDir: dir, level: 'info', console: false });
    const env = { ANTHROPIC_API_KEY: 'sk-ant-secret-1', PATH: '/usr/bin' };
    const run = { pid: 42, token: 'tok-secret-2', authorization: 'Bearer secret-3' };
    const err = Object.assign(new Error('the agent failed'), { code: 'AGENT_FAILED', env: { OPENAI_API_KEY: 'sk-secret-4' } });
    logger.info({ component: 'executor', env }, 'top-level env');
    logger.info({ component: 'executor', run }, 'nested token');
    logger.warn({ apiKey: 'secret-5', ANTHROPIC_AUTH_TOKEN: 'secret-6', task: 't1' }, 'keys at the top');
    logger.error({ component: 'executor', err }, 'an error holding its env');
    logger.info({ component: 'executor', task: 't2', detail: { attempt: 2 } }, 'nothing secret');
    close();

    const { text, lines } = logLines(dir);
    for (const secret of ['sk-ant-secret-1', 'tok-secret-2', 'secret-3', 'sk-secret-4', 'secret-5', 'secret-6']) expect(text).not.toContain(secret);
    const byMsg = new Map(lines.map((l) => [l.msg as string, l]));
    expect(byMsg.get('top-level env')).toMatchObject({ component: 'executor', env: CENSOR });
    expect(byMsg.get('nested token')).toMatchObject({ run: { pid: 42, token: CENSOR, authorization: CENSOR } });
    expect(byMsg.get('keys at the top')).toMatchObject({ apiKey: CENSOR, ANTHROPIC_AUTH_TOKEN: CENSOR, task: 't1' });
    // The error serializer still sees an Error: its type, message, stack and other fields are kept.
    const logged = byMsg.get('an error holding its env')!.err as Record<string, unknown>;
    expect(logged).toMatchObject({ type: 'Error', message: 'the agent failed', code: 'AGENT_FAILED', env: CENSOR });
    expect(String(logged.stack)).toContain('the agent failed');
    expect(byMsg.get('nothing secret')).toMatchObject({ task: 't2', detail: { attempt: 2 } });
    // What the caller logged is untouched.
    expect(env.ANTHROPIC_API_KEY).toBe('sk-ant-secret-1');
    expect(run.token).toBe('tok-secret-2');
    expect(err.env.OPENAI_API_KEY).toBe('sk-secret-4');
  });

  it('returns an object holding no secret as it is (no copy per log line)', () => {
    const obj = { component: 'index', file: '/v/Needs_Action/a.md', detail: { size: 3, kind: 'note' }, list: ['env'] };
    expect(redactSecrets(obj)).toBe(obj);
    const withOne = { component: 'index', detail: { env: { A: '1' } } };
    const out = redactSecrets(withOne);
    expect(out).not.toBe(withOne);
    expect(out).toEqual({ component: 'index', detail: { env: CENSOR } });
    expect(withOne.detail.env).toEqual({ A: '1' });
  });
});
