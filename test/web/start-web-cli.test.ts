// `vaultrunner start --web` as a person runs it (the real CLI as a child process): the banner's
// one line with the token, `web-url`, the token kept out of the vault, the webhook told of a task
// reaching done by the engine (a receiver on 127.0.0.1), and shutdown ending the page's streams.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, runCliAsync, spawnService, type ServiceProcess } from '../helpers/cli-process.js';
import { fixtureAgent, waitFor } from '../helpers/vault-harness.js';

const SECRET = 'sk-ant-test-SECRET-never-sent-0123456789';
let root: string;
let receiver: Server | undefined;
const services: ServiceProcess[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) if (s.child.exitCode === null && s.child.signalCode === null) (s.child.kill('SIGKILL'), await s.exited);
  receiver?.closeAllConnections();
  receiver?.close();
  receiver = undefined;
  rmSync(root, { recursive: true, force: true });
});

function setup() {
  root = mkdtempSync(join(tmpdir(), 'vr-web-cli-'));
  const vault = join(root, 'v');
  expect(runCli(['init', vault, '--no-examples'], { cwd: root }).code).toBe(0);
  return vault;
}

async function startReceiver(): Promise<{ url: string; posts: { headers: Record<string, unknown>; body: string }[] }> {
  const posts: { headers: Record<string, unknown>; body: string }[] = [];
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      posts.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook/T0KEN-in-path`, posts };
}

function start(vault: string, args: string[], env: Record<string, string>): ServiceProcess {
  const s = spawnService(['--vault', vault, ...args], { cwd: root, env: { COMMAND_AGENTS: JSON.stringify({ ok: fixtureAgent('ok') }), AGENT: 'ok', ...absent(), ...env } });
  services.push(s);
  return s;
}

/** The banner and doctor probe every agent CLI; the built-in ones are not used here (their start-up is slow on a busy machine). */
const absent = () => Object.fromEntries(['CLAUDE_BIN', 'CODEX_BIN', 'GEMINI_BIN', 'OPENCODE_BIN'].map((k) => [k, join(root, 'not-installed')]));

const bannerUrl = (out: string) => /^ {2}web {9}(http:\/\/127\.0\.0\.1:\d+\/\?token=([A-Za-z0-9_-]+))$/m.exec(out);

/** Every file under dir except the token file itself, as text. */
function allFiles(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allFiles(p));
    else if (name !== 'web-token') out.push({ path: p, text: readFileSync(p, 'utf8') });
  }
  return out;
}

describe('vaultrunner start --web', { timeout: 60_000 }, () => {
  it('prints the address with the token on the terminal only, notifies the webhook once when a task is done, and stops the page on SIGTERM', async () => {
    const vault = setup();
    const hook = await startReceiver();
    const s = start(vault, ['--web'], { NOTIFY_URL: hook.url, ANTHROPIC_API_KEY: SECRET });
    await waitFor(() => bannerUrl(s.output()) !== null && s.output().includes('vaultrunner started'), 'the banner with the web address', 45_000);
    const [, urlWithToken, token] = bannerUrl(s.output())!;
    const base = new URL(urlWithToken!).origin;
    expect(s.output()).not.toContain('warning     WEB_HOST');
    // The webhook's path may hold a secret: the banner names its host only.
    expect(s.output()).toContain(`  notify      ${new URL(hook.url).host} on done, failed, in_review, awaiting_approval`);
    expect(s.output()).not.toContain('T0KEN-in-path');

    // `web-url` prints the same line again.
    const again = await runCliAsync(['web-url', '--vault', vault], { cwd: root });
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(urlWithToken);

    // The token signs in; without it, 401.
    expect((await fetch(`${base}/api/tasks`)).status).toBe(401);
    const signIn = await fetch(urlWithToken!, { redirect: 'manual' });
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const tasks = await fetch(`${base}/api/tasks`, { headers: { cookie } });
    expect(tasks.status).toBe(200);

    // A task runs to done with the command agent: the engine's transition reaches the webhook.
    writeFileSync(join(vault, 'Needs_Action', 'ship it.md'), '---\ntype: claude_code\n---\nWrite RESULT.md.\n');
    await waitFor(() => hook.posts.length > 0, 'the webhook POST for done', 30_000);
    const post = hook.posts[0]!;
    expect(post.headers['content-type']).toBe('application/json');
    const payload = JSON.parse(post.body) as Record<string, unknown>;
    expect(payload).toEqual({ task: 'ship it', from: 'executing', to: 'done', reason: null, link: `${base}/task/ship%20it`, text: `vaultrunner: ship it executing → done ${base}/task/ship%20it` });
    expect(post.body).not.toContain(SECRET);
    expect(post.body).not.toContain(token!);
    await waitFor(() => existsSync(join(vault, 'Done', 'ship it.md')), 'the note filed in Done/');

    // An open event stream ends when the service stops, and the process exits cleanly.
    const events = await fetch(`${base}/events`, { headers: { cookie } });
    expect(events.status).toBe(200);
    const reader = events.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('event: hello');
    s.child.kill('SIGTERM');
    for (let r = await reader.read(); !r.done; r = await reader.read());
    expect((await s.exited).code).toBe(0);
    expect(existsSync(join(vault, '.vaultrunner', 'web.json'))).toBe(false);
    const stale = await runCliAsync(['web-url', '--vault', vault], { cwd: root });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('the web view is not running');

    // Started, run, stopped: one POST (planned/executing are not in NOTIFY_ON), and the token is
    // nowhere in the vault (Logs/, notes, transcripts, state) but its own file.
    expect(hook.posts).toHaveLength(1);
    const files = allFiles(vault);
    expect(files.some((f) => f.path.includes(`${join(vault, 'Logs')}`))).toBe(true);
    expect(files.filter((f) => f.text.includes(token!)).map((f) => f.path)).toEqual([]);
    expect(files.filter((f) => f.text.includes('T0KEN-in-path')).map((f) => f.path)).toEqual([]);
  });

  it('takes the port after --web, warns when WEB_HOST is not loopback, and refuses a stray argument', async () => {
    const vault = setup();
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const s = start(vault, ['--web', String(port)], { WEB_HOST: '0.0.0.0' });
    // The address and its warning come in one write; waited for as a fact all the same.
    await waitFor(() => s.output().includes('vaultrunner started') && s.output().includes('  warning     WEB_HOST=0.0.0.0 is not loopback'), 'the banner with its warning', 45_000);
    expect(new URL(bannerUrl(s.output())![1]!).port).toBe(String(port));
    s.child.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);

    const stray = runCli(['start', '--vault', vault, '8080'], { cwd: root });
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain("did you mean 'start --web 8080'?");
    const badPort = runCli(['start', '--vault', vault, '--web', 'eighty'], { cwd: root });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('WEB_PORT="eighty" is not allowed');
  });

  it('doctor reports the web view and warns about a non-loopback WEB_HOST', () => {
    const vault = setup();
    const off = runCli(['doctor', '--vault', vault], { cwd: root, env: { COMMAND_AGENTS: '{}', ...absent() } });
    expect(off.stdout).toContain("✓ web view off (WEB_PORT or 'start --web' turns it on); no webhook (NOTIFY_URL)");
    const open = runCli(['doctor', '--vault', vault], { cwd: root, env: { COMMAND_AGENTS: '{}', ...absent(), WEB_PORT: '8080', WEB_HOST: '0.0.0.0', NOTIFY_URL: 'https://hooks.example.org/services/SECRETPATH' } });
    expect(open.stdout).toContain('✓ web view on 0.0.0.0:8080; warning: WEB_HOST=0.0.0.0 is not loopback');
    expect(open.stdout).toContain('webhook to hooks.example.org on done, failed, in_review, awaiting_approval');
    expect(open.stdout).not.toContain('SECRETPATH');
    const bad = runCli(['doctor', '--vault', vault], { cwd: root, env: { COMMAND_AGENTS: '{}', ...absent(), NOTIFY_FORMAT: 'xml' } });
    expect(bad.stdout).toContain('✗ web view / notifications: NOTIFY_FORMAT="xml" is not allowed');
  });
});
