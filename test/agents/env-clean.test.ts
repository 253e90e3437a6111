// The agents' environment never carries the operator's own secrets: the queue's URL (Redis'
// password) and the webhook's URL (a Slack or ntfy token is part of it).
import { describe, expect, it } from 'vitest';
import { agentEnv, cleanEnv } from '../../src/agents/process/index.js';

describe('agent environment', () => {
  it('drops QUEUE_URL and NOTIFY_URL, keeps the rest', () => {
    const base = { PATH: '/usr/bin', QUEUE_URL: 'redis://:secret@10.0.0.5:6379', NOTIFY_URL: 'https://hooks.slack.com/services/T0/B0/SECRET', HOME: '/home/x' };
    expect(cleanEnv(base)).toEqual({ PATH: '/usr/bin', HOME: '/home/x' });
    for (const vendor of ['anthropic', 'openai', 'gemini'] as const) {
      const env = agentEnv(base, vendor);
      expect(env.QUEUE_URL).toBeUndefined();
      expect(env.NOTIFY_URL).toBeUndefined();
    }
  });
});
