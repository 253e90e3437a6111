// The transcript stream over plain HTTP: ids are byte offsets; reconnecting with Last-Event-ID
// resumes exactly there. Nothing lost, nothing repeated, multi-byte characters never split.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8Boundary } from '../../src/web/file-tail.js';
import { startWebHarness, type WebHarness } from './web-harness.js';

let w: WebHarness;
let cookie = '';
let file = '';

beforeAll(async () => {
  w = await startWebHarness();
  w.h.drop('Streamed', 'type: claude_code\nstatus: executing\nattempts: 1');
  const res = await fetch(w.web.urlWithToken, { redirect: 'manual' });
  cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  mkdirSync(join(w.h.vault, 'Logs', 'runs', 'Streamed'), { recursive: true });
  file = join(w.h.vault, 'Logs', 'runs', 'Streamed', 'attempt-1.md');
  writeFileSync(file, '# Run\n\n');
});
afterAll(async () => w?.stop());

interface Ev { event: string; id?: string; data: string }

/** Open the stream and hand each event to `onEvent` until it returns true; then disconnect. */
async function readStream(headers: Record<string, string>, onEvent: (e: Ev) => boolean | void, query = ''): Promise<void> {
  const ac = new AbortController();
  const res = await fetch(`${w.web.url}/api/tasks/Streamed/attempts/1/stream${query}`, { headers: { cookie, ...headers }, signal: ac.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const ev: Ev = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          const i = line.indexOf(':');
          const [k, v] = i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1).replace(/^ /, '')];
          if (k === 'event') ev.event = v;
          else if (k === 'id') ev.id = v;
          else if (k === 'data') ev.data += v;
        }
        if (onEvent(ev)) return;
      }
    }
  } finally {
    ac.abort();
    await reader.cancel().catch(() => undefined);
  }
}

describe('transcript stream', () => {
  it('resumes exactly at Last-Event-ID: nothing lost, nothing duplicated', async () => {
    const chunks: { text: string; id: number }[] = [];
    let lastId = 0;
    let appended = 0;
    const writeLines = (n: number) => {
      for (let i = 0; i < n; i++) appendFileSync(file, `- line ${++appended}: ✓ ünïcödé 日本 ${'.'.repeat(appended % 13)}\n`);
    };
    writeLines(5);
    // First connection: read until line 5 arrived, writing more meanwhile, then drop it.
    await readStream({}, (e) => {
      if (e.event !== 'chunk') return false;
      chunks.push({ text: JSON.parse(e.data) as string, id: Number(e.id) });
      lastId = Number(e.id);
      return chunks.map((c) => c.text).join('').includes('line 5:');
    });
    writeLines(20); // written while nobody listens
    const bytes = () => Buffer.byteLength(chunks.map((c) => c.text).join(''));
    expect(lastId).toBe(bytes());
    // Second connection resumes where the first stopped, while the file keeps growing.
    await readStream({ 'Last-Event-ID': String(lastId) }, (e) => {
      if (e.event === 'open') {
        expect(JSON.parse(e.data).from).toBe(lastId);
        writeLines(10);
        return false;
      }
      if (e.event !== 'chunk') return false;
      chunks.push({ text: JSON.parse(e.data) as string, id: Number(e.id) });
      return chunks.map((c) => c.text).join('').includes(`line ${35}:`);
    });
    const { readFileSync } = await import('node:fs');
    const whole = readFileSync(file, 'utf8');
    expect(chunks.map((c) => c.text).join('')).toBe(whole);
    // Ids are the byte offset after each chunk, strictly increasing.
    let at = 0;
    for (const c of chunks) {
      at += Buffer.byteLength(c.text);
      expect(c.id).toBe(at);
    }
    // Resuming from any id gives exactly the rest of the file.
    for (const c of chunks.slice(0, 4)) {
      let rest = '';
      await readStream({ 'Last-Event-ID': String(c.id) }, (e) => {
        if (e.event === 'chunk') rest += JSON.parse(e.data) as string;
        return Buffer.byteLength(rest) >= Buffer.byteLength(whole) - c.id;
      });
      expect(rest).toBe(Buffer.from(whole).subarray(c.id).toString('utf8'));
    }
  });

  it('sends a last line without a newline once it is stable, never splitting a character', async () => {
    const { statSync } = await import('node:fs');
    const start = statSync(file).size;
    appendFileSync(file, '**Error:** 日本語のエラー');
    let got = '';
    await readStream({}, (e) => {
      if (e.event === 'chunk') got += JSON.parse(e.data) as string;
      return got.endsWith('エラー');
    }, `?from=${start}`);
    expect(got).toBe('**Error:** 日本語のエラー');
    const b = Buffer.from('ab日', 'utf8');
    expect(utf8Boundary(b)).toBe(5);
    expect(utf8Boundary(b.subarray(0, 4))).toBe(2);
    expect(utf8Boundary(b.subarray(0, 3))).toBe(2);
  });

  it('answers 404 for a task id that tries to leave the runs folder', async () => {
    const res = await fetch(`${w.web.url}/api/tasks/..%2F..%2Fetc/attempts/1/stream`, { headers: { cookie } });
    expect(res.status).toBe(404);
  });
});
