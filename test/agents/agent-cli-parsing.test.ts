// Pure parts of the agent adapters: argv/config builders, line parsing (malformed and spliced
// lines), outcome classification. Sample lines are copied from the real CLIs' output.
import { describe, expect, it } from 'vitest';
import { clampBudgetUsd } from '../../src/agents/budget.js';
import { buildClaudeArgs } from '../../src/agents/claude/claude-args.js';
import { judgeClaudeResult, parseClaudeLines, ResultSchema } from '../../src/agents/claude/stream-events.js';
import { buildCodexLaunch, CODEX_SANDBOX } from '../../src/agents/codex/codex-args.js';
import { createCodexAgent } from '../../src/agents/codex/codex-agent.js';
import { classifyCodex, CodexEventParser, codexErrorInfoFromRollout } from '../../src/agents/codex/codex-events.js';
import { buildGeminiLaunch } from '../../src/agents/gemini/gemini-args.js';
import { classifyGemini, GeminiEventParser, statusFromExitCode } from '../../src/agents/gemini/gemini-events.js';
import type { ExitFacts } from '../../src/agents/json-cli-run.js';
import { jsonObjectsInLine } from '../../src/agents/json-lines.js';
import { buildOpencodeLaunch } from '../../src/agents/opencode/opencode-args.js';
import { classifyOpencode, OpencodeEventParser } from '../../src/agents/opencode/opencode-events.js';
import { AgentError } from '../../src/errors.js';

const exit = (over: Partial<ExitFacts> = {}): ExitFacts => ({ exitCode: 0, stderrTail: '', endedByUs: false, ...over });

describe('jsonObjectsInLine', () => {
  it('returns a whole object, splits spliced ones, and reports the rest as skipped', () => {
    expect(jsonObjectsInLine('{"a":1}')).toEqual({ objects: [{ a: 1 }], skipped: false });
    expect(jsonObjectsInLine('{"a":"}{"}{"b":2}')).toEqual({ objects: [{ a: '}{' }, { b: 2 }], skipped: false });
    expect(jsonObjectsInLine('garbage {"a":"x\\"}"} tail')).toEqual({ objects: [{ a: 'x"}' }], skipped: true });
    expect(jsonObjectsInLine('{"a":1')).toEqual({ objects: [], skipped: true });
    expect(jsonObjectsInLine('[1,2]')).toEqual({ objects: [], skipped: true });
    expect(jsonObjectsInLine('')).toEqual({ objects: [], skipped: true });
  });
});

describe('claude hardening', () => {
  const result = (o: object) => ResultSchema.parse({ type: 'result', subtype: 'success', is_error: false, ...o });

  it('a spliced line yields both events; garbage is one non_json entry, never fatal', () => {
    const line = '{"type":"assistant","message":{"content":[{"type":"text","text":"hi"}]}}{"type":"result","subtype":"success","is_error":false,"result":"hi"}';
    expect(parseClaudeLines(line).map((e) => e.kind)).toEqual(['assistant', 'result']);
    expect(parseClaudeLines('{"type":"result","subtype":"succ').map((e) => e.kind)).toEqual(['non_json']);
    expect(parseClaudeLines('oops{"type":"system","subtype":"init","session_id":"s"}').map((e) => e.kind)).toEqual(['system_init', 'non_json']);
  });

  it('judges by is_error, not subtype', () => {
    expect(judgeClaudeResult(result({ subtype: 'success', is_error: true, api_error_status: 500 }))).toEqual({ ok: false, reason: 'api_error', status: 500, retryable: true });
    expect(judgeClaudeResult(result({ subtype: 'success', is_error: true, api_error_status: 400 }))).toMatchObject({ ok: false, retryable: false });
    expect(judgeClaudeResult(result({ subtype: 'success', is_error: true }))).toEqual({ ok: false, reason: 'error', subtype: 'success', retryable: true });
    expect(judgeClaudeResult(result({ subtype: 'error_during_execution', is_error: false }))).toEqual({ ok: true });
    expect(judgeClaudeResult(result({ subtype: 'error_max_turns', is_error: true }))).toMatchObject({ ok: false, reason: 'max_turns', retryable: false });
  });

  it('error_max_budget_usd is a permanent failure carrying the spend', () => {
    expect(judgeClaudeResult(result({ subtype: 'error_max_budget_usd', is_error: true, total_cost_usd: 0.42 }))).toEqual({ ok: false, reason: 'max_budget', retryable: false, costUsd: 0.42 });
  });

  it('--max-budget-usd comes from the task budget clamped by the operator max', () => {
    expect(clampBudgetUsd(undefined, undefined)).toBeUndefined();
    expect(clampBudgetUsd(2, undefined)).toBe(2);
    expect(clampBudgetUsd(undefined, 5)).toBe(5);
    expect(clampBudgetUsd(10, 5)).toBe(5);
    expect(clampBudgetUsd(0.5, 5)).toBe(0.5);
    expect(() => clampBudgetUsd(-1, 5)).toThrow(AgentError);
    expect(() => clampBudgetUsd(1, Number.NaN)).toThrow(/MAX_BUDGET_USD/);
    expect(buildClaudeArgs({ permissionMode: 'default', maxBudgetUsd: clampBudgetUsd(10, 0.25) })).toEqual([
      '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'default', '--setting-sources', 'user', '--strict-mcp-config', '--max-budget-usd', '0.25',
    ]);
    expect(() => buildClaudeArgs({ permissionMode: 'default', maxBudgetUsd: 0 })).toThrow(AgentError);
  });
});

describe('codex', () => {
  const base = { stateDir: '/state/codex', env: { PATH: '/bin', OPENAI_BASE_URL: 'http://gw.local/v1/', OPENAI_API_KEY: 'k', CODEX_HOME: '/home/me/.codex', CLAUDECODE: '1' } };

  it('puts every option before `resume`, the prompt on stdin, CODEX_HOME ours', () => {
    const l = buildCodexLaunch({ ...base, permissionMode: 'acceptEdits', model: 'gpt-5.1', resumeSessionId: '01a2-33', apiRetries: 0 });
    expect(l.args).toEqual(['exec', '--json', '-s', 'workspace-write', '--skip-git-repo-check', '-m', 'gpt-5.1', 'resume', '01a2-33', '-']);
    expect(l.env.CODEX_HOME).toBe('/state/codex');
    expect(l.env.CLAUDECODE).toBeUndefined();
    expect(l.files[0]!.path).toBe('/state/codex/config.toml');
    expect(l.files[0]!.content).toContain('base_url = "http://gw.local/v1"');
    expect(l.files[0]!.content).toContain('request_max_retries = 0');
    expect(CODEX_SANDBOX).toEqual({ plan: 'read-only', default: 'read-only', acceptEdits: 'workspace-write', bypassPermissions: 'danger-full-access' });
    expect(() => buildCodexLaunch({ ...base, permissionMode: 'default', model: '--yolo' })).toThrow(AgentError);
    expect(() => buildCodexLaunch({ ...base, permissionMode: 'wide' as never })).toThrow(/permission mode/);
    expect(() => buildCodexLaunch({ ...base, env: { OPENAI_BASE_URL: 'file:///etc' }, permissionMode: 'default' })).toThrow(/http/);
  });

  it('parses a run, skipping a malformed line, and judges it by turn.completed', () => {
    const p = new CodexEventParser();
    const lines = [
      '{"type":"thread.started","thread_id":"01a2"}',
      '{"type":"turn.started"}',
      'not json at all',
      '{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"","exit_code":null,"status":"in_progress"}}',
      '{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"a.txt\\n","exit_code":0,"status":"completed"}}{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"done"}}',
      '{"type":"turn.completed","usage":{"input_tokens":20,"cached_input_tokens":4,"output_tokens":10}}',
    ];
    const events = lines.flatMap((l) => p.push(l));
    expect(events.filter((e) => e.kind !== 'other')).toEqual([
      { kind: 'init', sessionId: '01a2' },
      { kind: 'tool_use', id: 'item_1', name: 'shell', input: { command: 'bash -lc ls' } },
      { kind: 'tool_result', toolUseId: 'item_1', isError: false, content: 'a.txt\n' },
      { kind: 'text', text: 'done' },
    ]);
    expect(p.skippedLines).toBe(1);
    expect(p.end).toBe('soon');
    expect(classifyCodex(p, exit(), 'codex')).toMatchObject({ ok: true, sessionId: '01a2', result: 'done', tokens: { input: 20, output: 10, cached: 4 } });
    // it lingered after turn.completed and we ended it: still done
    expect(classifyCodex(p, exit({ exitCode: null, signal: 'SIGTERM', endedByUs: true }), 'codex').ok).toBe(true);
  });

  it('an error event codex recovered from (its own reconnect, then turn.completed) is not a failure', () => {
    const run = (tail: string[]) => {
      const p = new CodexEventParser();
      const events = [
        '{"type":"thread.started","thread_id":"t1"}',
        '{"type":"turn.started"}',
        '{"type":"error","message":"Reconnecting... 1/3 (stream disconnected before completion: transient)"}',
        ...tail,
      ].flatMap((l) => p.push(l));
      return { p, events };
    };
    const recovered = run(['{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"all done"}}', '{"type":"turn.completed","usage":{"input_tokens":5,"output_tokens":2}}']);
    expect(classifyCodex(recovered.p, exit(), 'codex')).toMatchObject({ ok: true, sessionId: 't1', result: 'all done' });
    // the reconnect stays in the transcript as context
    expect(recovered.events).toContainEqual({ kind: 'stderr', text: 'codex error: Reconnecting... 1/3 (stream disconnected before completion: transient)' });
    expect(recovered.p.recoveredError).toContain('Reconnecting... 1/3');
    // no turn.completed after it: still a failure
    const gaveUp = classifyCodex(run([]).p, exit({ exitCode: 1 }), 'codex');
    expect(gaveUp.ok === false && gaveUp.error.message).toContain('Reconnecting... 1/3');
    const turnFailed = classifyCodex(run(['{"type":"turn.failed","error":{"message":"stream disconnected"}}']).p, exit({ exitCode: 1 }), 'codex');
    expect(turnFailed.ok === false && turnFailed.error.code).toBe('AGENT_FAILED');
    // an error after the turn completed is not overruled by it
    const late = classifyCodex(run(['{"type":"turn.completed","usage":{}}', '{"type":"error","message":"late"}']).p, exit(), 'codex');
    expect(late.ok).toBe(false);
    // the same classifier reads a saved stdout back after a restart
    const adapter = createCodexAgent({ bin: 'codex', stateDir: '/nonexistent' });
    const saved = [
      '{"type":"thread.started","thread_id":"t2"}',
      '{"type":"error","message":"Reconnecting... 1/3 (stream disconnected before completion: transient)"}',
      '{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"all done"}}',
      '{"type":"turn.completed","usage":{"input_tokens":5,"output_tokens":2}}',
    ].join('\n');
    expect(adapter.recoverOutcome?.(saved)).toMatchObject({ ok: true, sessionId: 't2', result: 'all done' });
  });

  it('classifies failures by codex_error_info, not message text', () => {
    const p = new CodexEventParser();
    p.push('{"type":"thread.started","thread_id":"t"}');
    p.push('{"type":"error","message":"We are currently experiencing high demand"}');
    p.push('{"type":"turn.failed","error":{"message":"We are currently experiencing high demand"}}');
    const rollout = (info: string) => `{"type":"x"}\n{"timestamp":"t","type":"event_msg","payload":{"type":"task_complete","error":{"message":"m","codex_error_info":${info}}}}\n`;
    const judge = (info: string) => {
      const o = classifyCodex(p, exit({ exitCode: 1 }), 'codex', codexErrorInfoFromRollout(rollout(info)));
      if (o.ok) throw new Error('expected failure');
      return [o.error.code, o.error.retryable];
    };
    expect(judge('"internal_server_error"')).toEqual(['AGENT_FAILED', true]);
    expect(judge('"other"')).toEqual(['AGENT_FAILED', false]);
    expect(judge('{"http_connection_failed":{"http_status_code":401}}')).toEqual(['AGENT_AUTH', false]);
    expect(judge('{"response_too_many_failed_attempts":{"http_status_code":429}}')).toEqual(['AGENT_FAILED', true]);
    expect(judge('{"http_connection_failed":{"http_status_code":404}}')).toEqual(['AGENT_FAILED', false]);
    expect(judge('"unauthorized"')).toEqual(['AGENT_AUTH', false]);
    const none = classifyCodex(p, exit({ exitCode: 1 }), 'codex');
    expect(none.ok === false && none.error.retryable).toBe(true); // nothing structured: unknown, try again
  });
});

describe('gemini', () => {
  it('always passes -m, maps the ceiling to --approval-mode, owns its home and system settings', () => {
    const l = buildGeminiLaunch({ permissionMode: 'bypassPermissions', stateDir: '/state/gemini', env: { GEMINI_API_KEY: 'k', GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9/', HOME: '/home/me' }, resumeSessionId: 'cf1e-77', maxAttempts: 1 });
    expect(l.args).toEqual(['--output-format', 'stream-json', '-m', 'gemini-2.5-pro', '--approval-mode', 'yolo', '--skip-trust', '--resume', 'cf1e-77']);
    expect(l.env).toMatchObject({ GEMINI_CLI_HOME: '/state/gemini', GEMINI_CLI_SYSTEM_SETTINGS_PATH: '/state/gemini/system-settings.json', GEMINI_CLI_NO_RELAUNCH: 'true', HOME: '/home/me', GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9' });
    expect(l.files.map((f) => f.path)).toEqual(['/state/gemini/.gemini/settings.json', '/state/gemini/system-settings.json']);
    expect(JSON.parse(l.files[0]!.content)).toMatchObject({ security: { auth: { selectedType: 'gemini-api-key' } }, general: { maxAttempts: 1 } });
    const modes = (['plan', 'default', 'acceptEdits'] as const).map((m) => buildGeminiLaunch({ permissionMode: m, stateDir: '/s', env: {} }).args[5]);
    expect(modes).toEqual(['plan', 'default', 'auto_edit']);
  });

  it('joins text deltas, survives a bad line, judges by result and the exit code', () => {
    const p = new GeminiEventParser();
    const events = [
      '{"type":"init","session_id":"cf1e","model":"gemini-test"}',
      '{"type":"message","role":"user","content":"hi"}',
      '{"type":"message","role":"assistant","content":"hel","delta":true}',
      '{"type":"message","role":"assistant","content":"lo","delta":true}',
      '{"type":"tool_use","tool_name":"write_file","tool_id":"w1","parameters":{"file_path":"/x","content":"y"}}',
      '{"type":"tool_result","tool_id":"w1","status":"error","error":{"type":"x","message":"denied"}}',
      '{"type":"res',
      '{"type":"result","status":"success","stats":{"input_tokens":20,"output_tokens":10,"cached":0}}',
    ].flatMap((l) => p.push(l));
    expect(events.filter((e) => e.kind !== 'other')).toEqual([
      { kind: 'init', sessionId: 'cf1e', model: 'gemini-test' },
      { kind: 'text', text: 'hello' },
      { kind: 'tool_use', id: 'w1', name: 'write_file', input: { file_path: '/x', content: 'y' } },
      { kind: 'tool_result', toolUseId: 'w1', isError: true, content: 'denied' },
    ]);
    expect(classifyGemini(p, exit(), 'gemini')).toMatchObject({ ok: true, result: 'hello', tokens: { input: 20, output: 10 } });
    expect(statusFromExitCode(144)).toBe(400);
    expect(statusFromExitCode(244)).toBe(500);
    expect(statusFromExitCode(1)).toBeUndefined();
    const bad = new GeminiEventParser();
    bad.push('{"type":"result","status":"error","error":{"type":"unknown","message":"[API Error]"}}');
    const codeOf = (code: number) => {
      const o = classifyGemini(bad, exit({ exitCode: code }), 'gemini');
      return o.ok ? 'ok' : `${o.error.code}/${o.error.retryable}`;
    };
    expect([codeOf(144), codeOf(244), codeOf(173), codeOf(145), codeOf(41), codeOf(1)]).toEqual([
      'AGENT_FAILED/false', 'AGENT_FAILED/true', 'AGENT_FAILED/true', 'AGENT_AUTH/false', 'AGENT_AUTH/false', 'AGENT_FAILED/true',
    ]);
    // exits 0 on SIGTERM: no result → not done
    expect(classifyGemini(new GeminiEventParser(), exit({ exitCode: 0 }), 'gemini').ok).toBe(false);
  });

  it('gives the last error event as the reason when the result has none, not a stray stderr line', () => {
    // Seen with gemini 0.61.0 on a stream that ended early: `result` has no error, stderr ends with a warning.
    const p = new GeminiEventParser();
    p.push('{"type":"error","severity":"error","message":"Model stream ended without a finish reason."}');
    p.push('{"type":"result","status":"error","stats":{"input_tokens":1,"output_tokens":0}}');
    const o = classifyGemini(p, exit({ exitCode: 0, stderrTail: 'Ripgrep is not available. Falling back to GrepTool.\n' }), 'gemini');
    expect(o.ok).toBe(false);
    if (!o.ok) expect(o.error.message).toBe('gemini failed: Model stream ended without a finish reason.');
  });
});

describe('opencode', () => {
  it('declares our provider and model, maps the ceiling to permission rules, ignores the project config', () => {
    const l = buildOpencodeLaunch({ permissionMode: 'plan', model: 'gpt-4.1', cwd: '/work/x', stateDir: '/state/oc', runId: 'r1', env: { OPENAI_API_KEY: 'k', PWD: '/elsewhere', OPENCODE_CONFIG_CONTENT: '{"permission":"allow"}' }, resumeSessionId: 'ses_abc' });
    expect(l.args).toEqual(['run', '--format', 'json', '-m', 'vaultrunner/gpt-4.1', '--agent', 'plan', '-s', 'ses_abc']);
    // each run its own config file (permissions, model); the session database stays shared for -s
    expect(l.env).toMatchObject({ PWD: '/work/x', OPENCODE_CONFIG: '/state/oc/runs/r1/opencode.json', OPENCODE_DISABLE_PROJECT_CONFIG: 'true', XDG_DATA_HOME: '/state/oc/data' });
    expect(l.runDir).toBe('/state/oc/runs/r1');
    expect(l.files[0]!.path).toBe('/state/oc/runs/r1/opencode.json');
    // the shared global config is a deny-all floor, read before the run's own file
    const floor = l.files.find((f) => f.path === '/state/oc/config/opencode/opencode.json');
    expect(JSON.parse(floor!.content).permission).toEqual({ edit: 'deny', bash: 'deny', webfetch: 'deny', external_directory: 'deny' });
    expect(() => buildOpencodeLaunch({ permissionMode: 'default', model: 'm', cwd: '/w', stateDir: '/s', runId: '../x', env: {} })).toThrow(AgentError);
    expect(l.env.OPENCODE_CONFIG_CONTENT).toBeUndefined();
    const cfg = JSON.parse(l.files[0]!.content);
    expect(cfg.provider.vaultrunner.options.baseURL).toBe('https://api.openai.com/v1');
    expect(cfg.provider.vaultrunner.models['gpt-4.1'].tool_call).toBe(true);
    expect(cfg.permission).toEqual({ edit: 'deny', bash: 'deny', webfetch: 'deny', external_directory: 'deny' });
    const perm = (m: 'default' | 'acceptEdits' | 'bypassPermissions') => JSON.parse(buildOpencodeLaunch({ permissionMode: m, model: 'm', cwd: '/w', stateDir: '/s', runId: 'r', env: {} }).files[0]!.content).permission;
    expect(perm('default').edit).toBe('deny');
    expect(perm('acceptEdits')).toEqual({ edit: 'allow', bash: 'deny', webfetch: 'deny', external_directory: 'deny' });
    expect(perm('bypassPermissions').bash).toBe('allow');
    expect(() => buildOpencodeLaunch({ permissionMode: 'default', model: 'm', cwd: '/w', stateDir: '/s', runId: 'r', env: {}, resumeSessionId: '-x' })).toThrow(AgentError);
  });

  it('seeds its config dir so it installs no plugin, and keeps it out of the person\'s ~/.opencode', () => {
    const l = buildOpencodeLaunch({ permissionMode: 'default', model: 'm', cwd: '/w', stateDir: '/s', runId: 'r', env: { OPENCODE_TEST_HOME: '/root' } });
    expect(l.env.XDG_CONFIG_HOME).toBe('/s/config');
    expect(l.env.OPENCODE_TEST_HOME).toBe('/s/home');
    const lock = l.files.find((f) => f.path === '/s/config/opencode/package-lock.json');
    expect(JSON.parse(lock!.content).packages[''].dependencies).toHaveProperty('@opencode-ai/plugin');
    expect(l.files.map((f) => f.path)).toContain('/s/config/opencode/node_modules/.vaultrunner');
  });

  it('has no result event: a clean exit after a "stop" step is success; an error event decides the failure', () => {
    const p = new OpencodeEventParser();
    [
      '{"type":"step_start","sessionID":"ses_1","part":{"type":"step-start"}}',
      '{"type":"tool_use","sessionID":"ses_1","part":{"type":"tool","tool":"write","callID":"c1","state":{"status":"completed","input":{"filePath":"/x"},"output":"Wrote file successfully."}}}',
      '{"type":"step_finish","sessionID":"ses_1","part":{"reason":"tool-calls","tokens":{"input":10,"output":5,"cache":{"read":1}},"cost":0.01}}',
      '\u0000\u0000',
      '{"type":"text","sessionID":"ses_1","part":{"type":"text","text":"done"}}',
      '{"type":"step_finish","sessionID":"ses_1","part":{"reason":"stop","tokens":{"input":10,"output":5,"cache":{"read":0}},"cost":0.02}}',
    ].forEach((l) => p.push(l));
    expect(classifyOpencode(p, exit(), 'opencode')).toMatchObject({ ok: true, sessionId: 'ses_1', result: 'done', numTurns: 1, tokens: { input: 20, output: 10, cached: 1 }, costUsd: 0.03 });
    expect(classifyOpencode(p, exit({ exitCode: null, signal: 'SIGKILL' }), 'opencode').ok).toBe(false);

    const stopped = new OpencodeEventParser();
    stopped.push('{"type":"step_finish","sessionID":"ses_2","part":{"reason":"tool-calls"}}');
    const s = classifyOpencode(stopped, exit(), 'opencode');
    expect(s.ok === false && [s.error.code, s.error.retryable]).toEqual(['AGENT_FAILED', false]);

    const judge = (err: object) => {
      const q = new OpencodeEventParser();
      q.push(JSON.stringify({ type: 'error', sessionID: 'ses_3', error: err }));
      expect(q.end).toBe('soon');
      const o = classifyOpencode(q, exit({ exitCode: 1 }), 'opencode');
      return o.ok ? 'ok' : `${o.error.code}/${o.error.retryable}`;
    };
    expect(judge({ name: 'APIError', data: { message: 'x', statusCode: 400, isRetryable: false } })).toBe('AGENT_FAILED/false');
    expect(judge({ name: 'APIError', data: { message: 'x', statusCode: 503, isRetryable: true } })).toBe('AGENT_FAILED/true');
    expect(judge({ name: 'APIError', data: { message: 'x', statusCode: 401, isRetryable: false } })).toBe('AGENT_AUTH/false');
    expect(judge({ name: 'ProviderAuthError', data: { message: 'x' } })).toBe('AGENT_AUTH/false');
    expect(judge({ name: 'APIError', data: { message: 'x', isRetryable: true } })).toBe('AGENT_FAILED/true');
    expect(judge({ name: 'MessageOutputLengthError', data: {} })).toBe('AGENT_FAILED/false');
  });
});
