// Access rules over plain HTTP: the token, the cookie, CSRF and same-origin checks, the headers,
// and the token file's safety. Every refused request is shown to change nothing on disk.
import { lstatSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebToken, readWebToken } from '../../src/web/access-token.js';
import { startWebHarness, type WebHarness } from './web-harness.js';

let w: WebHarness;
let cookie = '';
let csrf = '';

beforeAll(async () => {
  w = await startWebHarness();
  w.h.drop('Guarded', 'type: claude_code\nstatus: planned\npriority: high');
  await waitFor(async () => (await w.web.model.listTasks()).rows.some((r) => r.id === 'Guarded'));
  const res = await fetch(w.web.urlWithToken, { redirect: 'manual' });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/');
  const set = res.headers.get('set-cookie') ?? '';
  expect(set).toMatch(/HttpOnly/i);
  expect(set).toMatch(/SameSite=Strict/i);
  cookie = set.split(';')[0]!;
  const page = await (await fetch(`${w.web.url}/`, { headers: { cookie } })).text();
  csrf = /name="csrf-token" content="([^"]+)"/.exec(page)![1]!;
});
afterAll(async () => w?.stop());

async function waitFor(fn: () => Promise<boolean>, ms = 5000) {
  const until = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const note = () => readFileSync(join(w.h.vault, 'Needs_Action', 'Guarded.md'), 'utf8');

describe('web access', () => {
  it('answers 401 to every request without the token, pages, API, events and static files alike', async () => {
    for (const path of ['/', '/task/Guarded', '/api/tasks', '/api/tasks/Guarded', '/events', '/static/board.js', '/api/tasks/Guarded/attempts/1/stream']) {
      const res = await fetch(`${w.web.url}${path}`);
      expect(res.status, path).toBe(401);
      expect(await res.text()).not.toContain('Guarded\n---');
    }
    expect((await fetch(`${w.web.url}/?token=wrong`, { redirect: 'manual' })).status).toBe(401);
    expect((await fetch(`${w.web.url}/api/tasks`, { headers: { cookie: 'vr_x=nothing' } })).status).toBe(401);
  });

  it('serves the board with the cookie, with strict security headers', async () => {
    const res = await fetch(`${w.web.url}/`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
  });

  it('refuses a POST without the CSRF token, from another origin, or cross-site, and writes nothing', async () => {
    const before = note();
    const post = (headers: Record<string, string>) =>
      fetch(`${w.web.url}/api/tasks/Guarded/actions/pause`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: '{}' });
    const origin = w.web.url;
    expect((await post({ origin })).status).toBe(403); // no CSRF token
    expect((await post({ origin, 'x-csrf-token': 'forged' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': csrf })).status).toBe(403); // no Origin
    expect((await post({ 'x-csrf-token': csrf, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': csrf, origin, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const created = await fetch(`${w.web.url}/api/tasks`, { method: 'POST', headers: { cookie, origin, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Sneaky', type: 'claude_code' }) });
    expect(created.status).toBe(403);
    expect(note()).toBe(before);
    expect(() => statSync(join(w.h.vault, 'Needs_Action', 'Sneaky.md'))).toThrow();
    // The same request with both checks passes: the refusals above were the checks, not the route.
    const ok = await post({ 'x-csrf-token': csrf, origin, 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(200);
    expect(note()).toMatch(/^status: paused$/m);
    // The read model reports it as a transition (what feeds notifications until the engine does).
    await waitFor(async () => w.transitions.some((t) => t.id === 'Guarded' && t.from === 'planned' && t.to === 'paused'));
  });

  it('refuses a Host it does not serve (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(w.web.url);
      const req = request({ host: u.hostname, port: u.port, path: '/api/tasks', headers: { host: 'attacker.example:80', cookie } }, (res) => (res.resume(), resolve(res.statusCode ?? 0)));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('keeps the token in a 0600 file made once, and refuses a symlinked or readable one', async () => {
    const file = join(w.h.vault, '.vaultrunner', 'web-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(w.web.urlWithToken).toContain(readFileSync(file, 'utf8').trim());
    const dir = mkdtempSync(join(tmpdir(), 'vr-token-'));
    try {
      const first = await ensureWebToken(dir);
      expect(await ensureWebToken(dir)).toBe(first); // created once
      unlinkSync(join(dir, 'web-token'));
      writeFileSync(join(dir, 'target'), 'x'.repeat(43));
      symlinkSync(join(dir, 'target'), join(dir, 'web-token'));
      await expect(ensureWebToken(dir)).rejects.toThrow(/symbolic link/);
      expect(lstatSync(join(dir, 'web-token')).isSymbolicLink()).toBe(true);
      unlinkSync(join(dir, 'web-token'));
      writeFileSync(join(dir, 'web-token'), `${'a'.repeat(43)}\n`, { mode: 0o644 });
      await expect(readWebToken(dir)).rejects.toThrow(/other users/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
