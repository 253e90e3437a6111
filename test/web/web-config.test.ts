// The web and notification keys: defaults, clear one-line errors that never echo a webhook URL,
// and where send-back feedback lands in a note.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, loadWebConfig, WEB_DEFAULTS } from '../../src/web/web-config.js';
import { withFeedback } from '../../src/web/service-adapter.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('web config', () => {
  it('.env.example and the README document every key, with valid values', () => {
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const env: Record<string, string> = {};
    for (const key of Object.keys(WEB_DEFAULTS)) {
      const m = new RegExp(`^${key}=(.*)$`, 'm').exec(example);
      expect(m, key).not.toBeNull();
      env[key] = m![1]!;
      expect(readme, key).toContain(`| \`${key}\` |`);
    }
    expect(loadWebConfig(env)).toEqual(loadWebConfig({}));
  });

  it('is off by default, loopback, notifying the four statuses', () => {
    const c = loadWebConfig({});
    expect(c).toMatchObject({ port: undefined, host: '127.0.0.1', notifyUrl: undefined, notifyFormat: 'json', notifyOn: ['done', 'failed', 'in_review', 'awaiting_approval'] });
    expect(loadWebConfig({ WEB_PORT: '8080' }, { WEB_PORT: '9090' }).port).toBe(9090);
    expect(loadWebConfig({ WEB_PUBLIC_URL: 'https://runner.example.org/' }).publicUrl).toBe('https://runner.example.org');
  });

  it('names the key and what is allowed, never the secret in a URL', () => {
    expect(() => loadWebConfig({ WEB_PORT: 'eighty' })).toThrow(/WEB_PORT="eighty" is not allowed/);
    expect(() => loadWebConfig({ WEB_PORT: '70000' })).toThrow(/1 to 65535/);
    expect(() => loadWebConfig({ WEB_HOST: 'a b' })).toThrow(/WEB_HOST/);
    expect(() => loadWebConfig({ NOTIFY_ON: 'done,finished' })).toThrow(/NOTIFY_ON=.*statuses/);
    expect(() => loadWebConfig({ NOTIFY_FORMAT: 'xml' })).toThrow(/json or ntfy/);
    let msg = '';
    try {
      loadWebConfig({ NOTIFY_URL: 'ftp://hooks.example/T0/s3cr3t' });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toContain('NOTIFY_URL');
    expect(msg).not.toContain('s3cr3t');
  });

  it('tells loopback from network addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '192.168.1.5', '::', 'example.org']) expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('send-back feedback', () => {
  it('adds a ## Feedback section at the end, or appends inside the existing one', () => {
    expect(withFeedback('---\ntype: x\n---\nDo it.\n', 'More tests.')).toBe('---\ntype: x\n---\nDo it.\n\n## Feedback\n\nMore tests.\n');
    const text = '---\ntype: x\n---\nDo it.\n\n## Feedback\n\nFirst round.\n\n## Notes\n\nkeep\n';
    expect(withFeedback(text, 'Second round.')).toBe('---\ntype: x\n---\nDo it.\n\n## Feedback\n\nFirst round.\n\nSecond round.\n\n## Notes\n\nkeep\n');
    expect(withFeedback('---\r\ntype: x\r\n---\r\nDo it.\r\n', 'a\nb')).toBe('---\r\ntype: x\r\n---\r\nDo it.\r\n\r\n## Feedback\r\n\r\na\r\nb\r\n');
  });
});
