// Which .env every command reads (--env-file, VAULTRUNNER_ENV, else ./.env), doctor saying so,
// and `doctor --online` against a model endpoint of ours on 127.0.0.1.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCliVault, type CliVault } from '../helpers/cli-vault.js';

let v: CliVault;
afterEach(() => v?.cleanup());

// A .env in its own folder naming another vault by a relative path; the CLI runs from v.root,
// whose ./vault (VAULT_DIR unset) is a different, empty vault.
function setupElsewhere() {
  v = createCliVault();
  delete v.env.VAULT_DIR;
  const conf = join(v.root, 'conf');
  mkdirSync(conf);
  for (const f of ['Needs_Action', 'Plans', 'Done', 'Pending_Approval', 'Logs', 'Templates']) mkdirSync(join(v.root, 'other', f), { recursive: true });
  writeFileSync(join(v.root, 'other', 'Needs_Action', 'from-env-file.md'), '---\ntype: claude_code\n---\nx\n');
  writeFileSync(join(conf, '.env'), 'VAULT_DIR=../other\n');
  return { file: join(conf, '.env') };
}

const ids = (r: { code: number | null; stdout: string; stderr: string }) => {
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { id: string }[]).map((row) => row.id);
};

describe('--env-file and VAULTRUNNER_ENV', () => {
  it('name the .env for a command run from another folder; its relative paths are relative to it', async () => {
    const { file } = setupElsewhere();
    const [byFlag, byVar, neither] = await Promise.all([
      v.runAsync(['list', '--json', '--env-file', file]),
      v.runAsync(['list', '--json'], { env: { VAULTRUNNER_ENV: file } }),
      v.runAsync(['list', '--json']),
    ]);
    expect(ids(byFlag)).toEqual(['from-env-file']);
    expect(ids(byVar)).toEqual(['from-env-file']);
    expect(ids(neither)).toEqual([]); // ./vault of the working directory
  });

  it('a named file that does not exist: one line and no run, for every command', async () => {
    v = createCliVault();
    const commands = [['list'], ['start'], ['new', 'x', '--type', 'claude_code'], ['logs']];
    const byVar = await Promise.all(commands.map((args) => v.runAsync(args, { env: { VAULTRUNNER_ENV: 'nope.env' } })));
    const byFlag = await Promise.all(commands.map((args) => v.runAsync([...args, '--env-file', 'nope.env'])));
    commands.forEach((args, i) => {
      expect(byVar[i]!.code, args.join(' ')).toBe(2);
      expect(byVar[i]!.stderr.trim()).toBe(`vaultrunner: invalid configuration: VAULTRUNNER_ENV="nope.env" names no file (${join(v.root, 'nope.env')})`);
      const flag = byFlag[i]!;
      // Node 20 itself scans argv for --env-file and exits 9 on a missing file before we run.
      if (flag.code === 9) expect(flag.stderr.trim()).toMatch(/node: nope\.env: not found$/);
      else {
        expect(flag.code).toBe(2);
        expect(flag.stderr.trim()).toBe(`vaultrunner: invalid configuration: --env-file "nope.env" names no file (${join(v.root, 'nope.env')})`);
      }
    });
    expect(v.run(['list', '--json']).stdout).toBe('[]\n'); // `new` wrote nothing
  });

  it('doctor says which .env it read, or none', async () => {
    const { file } = setupElsewhere();
    const [named, byVar, none, missing] = await Promise.all([
      v.runAsync(['doctor', '--env-file', file]),
      v.runAsync(['doctor'], { env: { VAULTRUNNER_ENV: file } }),
      v.runAsync(['doctor']),
      v.runAsync(['doctor'], { env: { VAULTRUNNER_ENV: 'gone.env' } }),
    ]);
    expect(named.stdout).toContain(`✓ .env: read ${file} (named by --env-file)`);
    expect(named.stdout).toContain(`vault layout present and writable (${join(v.root, 'other')})`);
    expect(byVar.stdout).toContain(`✓ .env: read ${file} (named by VAULTRUNNER_ENV)`);
    expect(none.stdout).toContain(`✓ .env: none (no .env in ${v.root};`);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^✗ \.env: VAULTRUNNER_ENV="gone\.env" names no file .*; checking without it$/m);
    writeFileSync(join(v.root, '.env'), 'LOG_LEVEL=warn\n');
    const here = await v.runAsync(['doctor']);
    expect(here.stdout).toContain(`✓ .env: read ${join(v.root, '.env')} (the working directory's)`);
  });
});

describe('doctor --online', () => {
  const KEY = 'sk-ant-test-0123456789-secret';
  let server: Server;
  let url: string;
  const seen: { path?: string; headers: IncomingHttpHeaders }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url, headers: req.headers });
      const ok = req.headers['x-api-key'] === KEY && req.headers['anthropic-version'];
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(ok ? '{"data":[{"id":"claude-test","type":"model"}],"has_more":true}' : `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ${String(req.headers['x-api-key'])}"}}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const line = (out: string) => out.split('\n').find((l) => l.includes('Claude API (online)')) ?? '(no online line)';

  it('without --online, credentials are only "present", never claimed valid, and no request is made', async () => {
    v = createCliVault({ env: { ANTHROPIC_API_KEY: 'wrong', ANTHROPIC_BASE_URL: url } });
    const before = seen.length;
    const r = await v.runAsync(['doctor']);
    expect(r.stdout).toContain("✓ Claude credentials: ANTHROPIC_API_KEY is set (environment); present, not verified ('doctor --online' tries them)");
    expect(r.stdout).not.toContain('Claude API (online)');
    expect(seen.length).toBe(before);
  });

  it('a key the endpoint accepts: ✓ (one GET /v1/models with the key and a version header)', async () => {
    v = createCliVault({ env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url, VAULTRUNNER_DOCTOR_MIN_WATCHES: '1' } });
    const before = seen.length;
    const r = await v.runAsync(['doctor', '--online']);
    expect(line(r.stdout)).toBe(`✓ Claude API (online): ${url} accepted ANTHROPIC_API_KEY (HTTP 200)`);
    expect(r.code, r.stdout).toBe(0);
    expect(seen.slice(before).map((s) => s.path)).toEqual(['/v1/models?limit=1']);
    expect(r.stdout + r.stderr).not.toContain(KEY);
  });

  it('a key from the .env that the endpoint rejects: ✗ with a fix line, the secret never printed', async () => {
    v = createCliVault({ env: { ANTHROPIC_BASE_URL: url } });
    writeFileSync(join(v.root, '.env'), 'ANTHROPIC_API_KEY=sk-ant-revoked-secret-key\n');
    const r = await v.runAsync(['doctor', '--online']);
    expect(r.code).toBe(1);
    expect(line(r.stdout)).toBe(`✗ Claude API (online): ${url} rejected ANTHROPIC_API_KEY (HTTP 401: invalid x-api-key …)`);
    expect(r.stdout).toContain(`    fix: set a valid ANTHROPIC_API_KEY in ${join(v.root, '.env')}, or remove it and log in with 'claude' → /login`);
    expect(r.stdout + r.stderr).not.toContain('sk-ant-revoked-secret-key');
  });

  it('an unreachable endpoint: ✗ naming it, not ✓', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    v = createCliVault({ env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: dead } });
    const r = await v.runAsync(['doctor', '--online']);
    expect(r.code).toBe(1);
    expect(line(r.stdout)).toBe(`✗ Claude API (online): cannot reach ${dead}: ECONNREFUSED`);
    expect(r.stdout).toContain('    check the network');
  });
});
