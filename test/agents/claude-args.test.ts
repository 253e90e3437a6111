import { describe, expect, it } from 'vitest';
import { PERMISSION_MODES } from '../../src/agents/agent.js';
import { buildClaudeArgs, childEnv } from '../../src/agents/claude/claude-args.js';
import { clampPermissionMode } from '../../src/agents/permission.js';
import { parseClaudeLine, salvageCutResult, toAgentEvents } from '../../src/agents/claude/stream-events.js';
import { AgentError } from '../../src/errors.js';

describe('buildClaudeArgs', () => {
  it('builds the minimal print-mode argv', () => {
    expect(buildClaudeArgs({ permissionMode: 'default' })).toEqual([
      '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'default', '--setting-sources', 'user', '--strict-mcp-config',
    ]);
  });

  it('adds model, allowedTools (= form) and resume', () => {
    const args = buildClaudeArgs({
      permissionMode: 'acceptEdits',
      model: 'claude-sonnet-4-5',
      allowedTools: ['Read', ' Bash(git diff:*) ', ''],
      resumeSessionId: '715810fb-1b68-4926-9f49-b24f858f127a',
    });
    expect(args).toEqual([
      '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '--setting-sources', 'user', '--strict-mcp-config',
      '--model', 'claude-sonnet-4-5',
      '--allowedTools=Read,Bash(git diff:*)',
      '--resume', '715810fb-1b68-4926-9f49-b24f858f127a',
    ]);
  });

  it('never skips permissions, even for bypassPermissions', () => {
    const args = buildClaudeArgs({ permissionMode: 'bypassPermissions' });
    expect(args.join(' ')).not.toContain('dangerously');
    expect(args).toContain('bypassPermissions');
  });

  it('omits empty options and rejects flag-like values', () => {
    expect(buildClaudeArgs({ permissionMode: 'plan', model: '', allowedTools: [], resumeSessionId: '' })).toHaveLength(9);
    expect(() => buildClaudeArgs({ permissionMode: 'plan', model: '--dangerously-skip-permissions' })).toThrow(AgentError);
    expect(() => buildClaudeArgs({ permissionMode: 'plan', resumeSessionId: '--x' })).toThrow(AgentError);
    expect(() => buildClaudeArgs({ permissionMode: 'yolo' as never })).toThrow(AgentError);
  });
});

describe('clampPermissionMode', () => {
  it('allows anything at or below the ceiling', () => {
    for (const [i, ceiling] of PERMISSION_MODES.entries()) {
      for (const requested of PERMISSION_MODES.slice(0, i + 1)) {
        expect(clampPermissionMode(requested, ceiling)).toBe(requested);
      }
    }
  });

  it('refuses more than the ceiling with PERMISSION_DENIED, not retryable', () => {
    try {
      clampPermissionMode('acceptEdits', 'default');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AgentError);
      const e = err as AgentError;
      expect(e.code).toBe('PERMISSION_DENIED');
      expect(e.retryable).toBe(false);
      expect(e.message).toContain('acceptEdits');
      expect(e.message).toContain('default');
    }
    expect(() => clampPermissionMode('bypassPermissions', 'acceptEdits')).toThrow(/ceiling/);
    expect(() => clampPermissionMode('default', 'plan')).toThrow(AgentError);
  });
});

describe('childEnv', () => {
  it('strips enclosing Claude Code markers and keeps the rest', () => {
    const base = {
      PATH: '/usr/bin',
      HOME: '/home/x',
      ANTHROPIC_API_KEY: 'k',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:1',
      CLAUDECODE: '1',
      CLAUDE_CODE_ENTRYPOINT: 'cli',
      CLAUDE_CODE_SSE_PORT: '1234',
      CLAUDE_CODE_SESSION_ID: 'abc',
      CLAUDE_CODE_CHILD_SESSION: '1',
      CLAUDE_CODE_EXECPATH: '/x/claude',
      CLAUDE_EFFORT: 'high',
      AI_AGENT: 'claude-code_2-1-197_agent',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      UNDEF: undefined,
    };
    const env = childEnv(base);
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/x',
      ANTHROPIC_API_KEY: 'k',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    });
    expect(base.CLAUDECODE).toBe('1'); // input untouched
    expect(childEnv({ AI_AGENT: 'other-tool' })).toEqual({ AI_AGENT: 'other-tool' });
  });
});

describe('parseClaudeLine / toAgentEvents', () => {
  it('normalises init, assistant blocks and tool results', () => {
    const init = parseClaudeLine('{"type":"system","subtype":"init","session_id":"s1","model":"m","cwd":"/w","extra":1}');
    expect(toAgentEvents(init)).toEqual([{ kind: 'init', sessionId: 's1', model: 'm', cwd: '/w' }]);
    const asst = parseClaudeLine(JSON.stringify({
      type: 'assistant',
      message: { content: [{ type: 'thinking', thinking: 'hmm' }, { type: 'text', text: 'hi' }, { type: 'tool_use', id: 't1', name: 'Write', input: { a: 1 } }] },
    }));
    expect(toAgentEvents(asst)).toEqual([
      { kind: 'other', type: 'assistant/thinking' },
      { kind: 'text', text: 'hi' },
      { kind: 'tool_use', id: 't1', name: 'Write', input: { a: 1 } },
    ]);
    const user = parseClaudeLine(JSON.stringify({
      type: 'user',
      message: { content: [
        { type: 'tool_result', tool_use_id: 't1', is_error: true, content: 'denied' },
        { type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: 'a' }, { type: 'image' }] },
      ] },
    }));
    expect(toAgentEvents(user)).toEqual([
      { kind: 'tool_result', toolUseId: 't1', isError: true, content: 'denied' },
      { kind: 'tool_result', toolUseId: 't2', isError: false, content: 'a\n[image]' },
    ]);
  });

  it('keeps unknown and malformed events without throwing', () => {
    expect(parseClaudeLine('not json')).toMatchObject({ kind: 'non_json', line: 'not json' });
    expect(parseClaudeLine('[1]')).toMatchObject({ kind: 'non_json' });
    expect(parseClaudeLine('{"type":"stream_event","x":1}')).toMatchObject({ kind: 'unknown', type: 'stream_event', data: { x: 1 } });
    expect(parseClaudeLine('{"type":"result","subtype":"success"}')).toMatchObject({ kind: 'unknown', type: 'result' });
    const r = parseClaudeLine('{"type":"result","subtype":"success","is_error":false,"result":"ok","total_cost_usd":0.1,"new_field":true}');
    expect(r.kind).toBe('result');
    if (r.kind === 'result') expect(r.data.new_field).toBe(true);
    const retry = parseClaudeLine('{"type":"system","subtype":"api_retry","attempt":1,"error_status":401,"error":"authentication_failed"}');
    expect(retry.kind).toBe('api_retry');
  });
});

describe('salvageCutResult', () => {
  it('reads the verdict from the start of a cut result line, and counts its denials', () => {
    const full = JSON.stringify({ type: 'result', subtype: 'success', is_error: false, num_turns: 2, result: 'said "no" \\ twice', session_id: 's-1', total_cost_usd: 0.25, permission_denials: [{ tool_name: 'Write', tool_input: { content: 'x'.repeat(5000) } }] });
    const r = salvageCutResult(full.slice(0, 300))!;
    expect(r).toMatchObject({ type: 'result', subtype: 'success', is_error: false, num_turns: 2, result: 'said "no" \\ twice', session_id: 's-1', total_cost_usd: 0.25 });
    expect(r.permission_denials).toHaveLength(1);
    expect(salvageCutResult(full.slice(0, 30))).toBeUndefined(); // no is_error yet
    expect(salvageCutResult('{"type":"assistant","subtype":"x","is_error":false')).toBeUndefined();
  });
});

