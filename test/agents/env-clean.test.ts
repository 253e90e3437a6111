// The agents' environment never carries the queue's URL (it may hold Redis' password).
import { describe, expect, it } from 'vitest';
import { agentEnv, cleanEnv } from '../../src/agents/process/index.js';

describe('agent environment', () => {
  it('drops QUEUE_URL, keeps the rest', () => {
    const base = { PATH: '/usr/bin', QUEUE_URL: 'redis://:secret@10.0.0.5:6379', HOME: '/home/x' };
    expect(cleanEnv(base)).toEqual({ PATH: '/usr/bin', HOME: '/home/x' });
    expect(agentEnv(base, 'anthropic').QUEUE_URL).toBeUndefined();
  });
});
