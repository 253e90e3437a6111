// --max-budget-usd through the REAL claude CLI: the request's budget reaches the CLI, which stops
// with `error_max_budget_usd`; judgeClaudeResult makes that a permanent failure with its spend.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { clampBudgetUsd } from '../../src/agents/budget.js';
import { createClaudeAgent } from '../../src/agents/claude/claude-agent.js';
import { judgeClaudeResult, parseClaudeLines } from '../../src/agents/claude/stream-events.js';
import { claudeTestEnv, startModelServer, toolUse, type ModelServer } from '../fixtures/model-server.js';

const CLAUDE = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));
let server: ModelServer;
let home: string;
let cwd: string;

beforeEach(async () => {
  server = await startModelServer();
  home = mkdtempSync(join(tmpdir(), 'vr-claude-home-'));
  cwd = realpathSync(mkdtempSync(join(tmpdir(), 'vr-claude-wd-')));
});
afterEach(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

it('a budget clamped by the operator max stops the run: error_max_budget_usd, permanent, with the spend', { timeout: 120_000 }, async () => {
  writeFileSync(join(cwd, 'a.txt'), 'a');
  // A model that never stops calling tools: only the budget can end this run.
  server.script(() => toolUse('Read', { file_path: join(cwd, 'a.txt') }));
  const raw: string[] = [];
  const run = createClaudeAgent({ bin: CLAUDE }).start({
    taskId: 't',
    attempt: 1,
    prompt: 'read a.txt forever',
    cwd,
    permissionMode: 'default',
    maxBudgetUsd: clampBudgetUsd(5, 0.000001),
    env: claudeTestEnv(server.url, home, { CLAUDE_CODE_MAX_RETRIES: '0' }),
    onRawLine: (l) => raw.push(l),
  });
  const o = await run.outcome;
  expect(o.ok).toBe(false);
  const result = raw.flatMap(parseClaudeLines).find((e) => e.kind === 'result');
  if (result?.kind !== 'result') throw new Error('no result event');
  expect(result.data.subtype).toBe('error_max_budget_usd');
  const verdict = judgeClaudeResult(result.data);
  expect(verdict).toMatchObject({ ok: false, reason: 'max_budget', retryable: false });
  expect(verdict.ok === false && verdict.reason === 'max_budget' && verdict.costUsd).toBeGreaterThan(0);
  expect(server.messageRequests().length).toBeLessThan(5);
});
