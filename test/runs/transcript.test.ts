import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createRunTranscript, type RunTranscriptOptions } from '../../src/runs/transcript.js';

let vault: string;
beforeEach(async () => {
  vault = await mkdtemp(join(tmpdir(), 'vr-transcript-'));
});
afterEach(async () => {
  await rm(vault, { recursive: true, force: true });
});

const START = Date.UTC(2025, 0, 2, 3, 4, 5);
function open(extra: Partial<RunTranscriptOptions> = {}) {
  return createRunTranscript({
    runsDir: join(vault, 'Logs', 'runs'),
    vaultRoot: vault,
    taskId: 'fix-the-bug',
    attempt: 2,
    header: { agent: 'claude', model: 'sonnet', workingDir: '/work/proj', startedAt: START, permissionMode: 'acceptEdits', resumedFrom: 'sess-0' },
    now: () => START + 65_000,
    ...extra,
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Frontmatter split off, and the body checked for fences that stay open past where they started. */
function structure(md: string) {
  expect(md.startsWith('---\n')).toBe(true);
  const end = md.indexOf('\n---\n', 4);
  const fm = parseYaml(md.slice(4, end)) as Record<string, unknown>;
  const body = md.slice(end + 5);
  // A minimal CommonMark fence tracker: top-level lines and each blockquote run separately.
  let top: string | undefined;
  let inQuote: string | undefined;
  const headingsOutsideFences: string[] = [];
  for (const raw of body.split('\n')) {
    const quoted = raw.startsWith('>');
    if (!quoted && inQuote) throw new Error('a fence inside a quote was left open');
    const line = quoted ? raw.replace(/^> ?/, '') : raw;
    const m = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    const state = quoted ? inQuote : top;
    let next = state;
    if (state) {
      if (m && m[1]![0] === state[0] && m[1]!.length >= state.length && m[2]!.trim() === '') next = undefined;
    } else if (m && !(m[1]![0] === '`' && m[2]!.includes('`'))) next = m[1]!;
    else if (!quoted && /^#{1,6} /.test(line)) headingsOutsideFences.push(line);
    if (quoted) inQuote = next;
    else top = next;
  }
  return { fm, body, openFenceAtEnd: top ?? inQuote, headings: headingsOutsideFences };
}

describe('run transcript', () => {
  it('creates the .md with our own frontmatter and header, and an empty .jsonl beside it', async () => {
    const t = await open();
    expect(t.mdPath).toBe(join(vault, 'Logs', 'runs', 'fix-the-bug', 'attempt-2.md'));
    expect(t.jsonlPath).toBe(join(vault, 'Logs', 'runs', 'fix-the-bug', 'attempt-2.jsonl'));
    expect(t.link).toBe('Logs/runs/fix-the-bug/attempt-2');
    const md = await readFile(t.mdPath, 'utf8');
    const { fm, body } = structure(md);
    expect(fm).toMatchObject({ task: '[[fix-the-bug]]', attempt: 2, agent: 'claude' });
    expect(fm).not.toHaveProperty('status');
    for (const s of ['[[fix-the-bug]]', 'attempt 2', '`sonnet`', '`/work/proj`', '`acceptEdits`', '`sess-0`', '## Transcript']) expect(body).toContain(s);
    expect(await readFile(t.jsonlPath, 'utf8')).toBe('');
    await t.finish({ status: 'ok', durationMs: 10 });
  });

  it('rejects a task id that would leave the runs folder', async () => {
    await expect(open({ taskId: '../escape' })).rejects.toThrow(/not a task id/);
    await expect(open({ taskId: '..' })).rejects.toThrow(/not a task id/);
  });

  it('renders each event kind compactly', async () => {
    const t = await open();
    t.onEvent({ kind: 'init', sessionId: 'sess-42', model: 'opus', cwd: '/w' });
    t.onEvent({ kind: 'text', text: 'I will **fix** it.\nSecond line.' });
    t.onEvent({ kind: 'tool_use', id: 'tu1', name: 'Write', input: { file_path: '/w/a.ts', content: 'x'.repeat(5000) } });
    t.onEvent({ kind: 'tool_use', name: 'Bash', input: { command: `echo ${'y'.repeat(400)}` } });
    t.onEvent({ kind: 'tool_use', name: 'mcp__x__lookup', input: { q: 'z'.repeat(400), n: 1 } });
    t.onEvent({ kind: 'tool_result', toolUseId: 'tu1', isError: false, content: 'r'.repeat(1000) });
    t.onEvent({ kind: 'tool_result', isError: true, content: 'permission denied: rm -rf /' });
    t.onEvent({ kind: 'tool_result', isError: false, content: '' });
    t.onEvent({ kind: 'stderr', text: 'warning: \x1b[31mred\x1b[0m thing' });
    t.onEvent({ kind: 'other', type: 'rate_limit_event' });
    t.note('paused by person');
    await t.finish({ status: 'ok', durationMs: 1200 });
    const { body, openFenceAtEnd } = structure(await readFile(t.mdPath, 'utf8'));
    expect(openFenceAtEnd).toBeUndefined();
    expect(body).toContain('- session `sess-42` (model `opus`, cwd `/w`)');
    expect(body).toContain('> I will **fix** it.\n> Second line.');
    expect(body).toContain('- 🔧 **Write** `/w/a.ts`');
    expect(body).not.toContain('xxxxx'); // Write content is not shown
    const bash = /- 🔧 \*\*Bash\*\* `(echo y+…)`/.exec(body);
    expect(bash?.[1]?.length).toBe(200);
    const other = /- 🔧 \*\*mcp\\_\\_x\\_\\_lookup\*\* `(\{"q":"z+…)`/.exec(body);
    expect(other?.[1]?.length).toBe(200);
    expect(body).toContain(`↳ result:\n\`\`\`\n${'r'.repeat(300)}\n\`\`\`\n*… 700 more chars*`);
    expect(body).not.toContain('r'.repeat(301));
    expect(body).toContain('**✗ error:**\n```\npermission denied: rm -rf /\n```');
    expect(body).toContain('- ↳ result: *(empty)*');
    expect(body).toContain('- stderr: `warning: red thing`');
    expect(body).not.toContain('rate_limit_event');
    expect(body).toMatch(/- ⓘ \*vaultrunner \d\d:\d\d:\d\d:\* paused by person/);
  });

  it('writes raw lines to the .jsonl, one per line', async () => {
    const t = await open();
    t.onRawLine('{"type":"system"}');
    t.onRawLine('plain text\nwith a newline');
    await t.finish({ status: 'ok', durationMs: 1 });
    expect(await readFile(t.jsonlPath, 'utf8')).toBe('{"type":"system"}\nplain text\\nwith a newline\n');
  });

  it('batches appends: nothing reaches the file before flushMs, then one append carries it all', async () => {
    const t = await open({ flushMs: 300 });
    const headerSize = (await stat(t.mdPath)).size;
    const sizes = new Set<number>();
    const startedAt = Date.now();
    let i = 0;
    // 60 events over ~600 ms.
    while (Date.now() - startedAt < 600) {
      t.onEvent({ kind: 'text', text: `event ${i++}` });
      sizes.add((await stat(t.mdPath)).size);
      await sleep(10);
    }
    expect(i).toBeGreaterThan(20);
    await sleep(350);
    sizes.add((await stat(t.mdPath)).size);
    // Every distinct size is one append (or the header): a handful, not one per event.
    expect(sizes.size).toBeLessThanOrEqual(5);
    expect(Math.min(...sizes)).toBe(headerSize);
    const md = await readFile(t.mdPath, 'utf8');
    expect(md).toContain(`> event ${i - 1}`);
    await t.finish({ status: 'ok', durationMs: 1 });
  });

  it('keeps events in memory until flushed; finish flushes everything at once', async () => {
    const t = await open({ flushMs: 10_000 });
    const headerSize = (await stat(t.mdPath)).size;
    for (let i = 0; i < 100; i++) t.onEvent({ kind: 'stderr', text: `line ${i}` });
    await sleep(50);
    expect((await stat(t.mdPath)).size).toBe(headerSize);
    expect(t.tail(30)).toContain('line 99');
    await t.finish({ status: 'ok', durationMs: 1 });
    const md = await readFile(t.mdPath, 'utf8');
    expect(md).toContain('- stderr: `line 0`\n- stderr: `line 1`\n');
    expect(md).toContain('line 99');
  });

  it('stays within maxBytes and a few MB of heap when fed 50 MB of events', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const t = await open({ flushMs: 50 });
    gc();
    const before = process.memoryUsage().heapUsed;
    const chunk = 'word '.repeat(2000); // 10 KB
    const events = 5000; // 50 MB
    for (let i = 0; i < events; i++) {
      t.onEvent({ kind: 'text', text: `${i} ${chunk}` });
      t.onRawLine(`{"i":${i},"text":"${chunk}"}`);
      if (i % 50 === 0) await sleep(1); // let appends run between chunks, as a real stream would
    }
    await t.finish({ status: 'failed', durationMs: 99_000, error: 'boom' });
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(4 * 1024 * 1024);

    const md = await readFile(t.mdPath, 'utf8');
    const summaryAt = md.indexOf('\n## Summary');
    expect(summaryAt).toBeGreaterThan(0);
    expect(Buffer.byteLength(md.slice(0, summaryAt))).toBeLessThanOrEqual(1024 * 1024);
    const shown = (md.match(/^> \d+ word/gm) ?? []).length;
    expect(shown).toBeGreaterThan(50);
    const cut = /… transcript truncated: (\d+) more events \((\d+) bytes\) not shown; see the \.jsonl/.exec(md);
    expect(cut).not.toBeNull();
    expect(Number(cut![1])).toBe(events - shown);
    expect(Number(cut![2])).toBeGreaterThan(40 * 1024 * 1024);
    expect(md.slice(summaryAt)).toContain('**Status:** failed');
    expect(structure(md).openFenceAtEnd).toBeUndefined();

    const raw = await readFile(t.jsonlPath, 'utf8');
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(8 * 1024 * 1024 + 200);
    // Every line is either in the file or counted by a truncation/gap line (timing decides which).
    const rawLines = raw.trimEnd().split('\n');
    const kept = rawLines.filter((l) => l.startsWith('{"i":')).length;
    const counted = rawLines.filter((l) => l.startsWith('{"vaultrunner"')).reduce((n, l) => n + (JSON.parse(l) as { lines: number }).lines, 0);
    expect(kept).toBeGreaterThan(100);
    expect(kept + counted).toBe(events);
    expect(rawLines.at(-1)).toMatch(/^\{"vaultrunner":"(truncated|dropped)"/);
  });

  it('drops and counts what a slow writer cannot take, instead of queueing without bound', async () => {
    const t = await open({ maxBytes: 8 * 1024 * 1024 });
    const line = 'z'.repeat(10 * 1024);
    // 3 MB in one synchronous burst: no append can complete meanwhile, so the 1 MiB queues overflow.
    for (let i = 0; i < 300; i++) {
      t.onEvent({ kind: 'text', text: `${i} ${line}` });
      t.onRawLine(`${i} ${line}`);
    }
    await sleep(50);
    t.onEvent({ kind: 'stderr', text: 'after the burst' });
    await t.finish({ status: 'ok', durationMs: 1 });
    const md = await readFile(t.mdPath, 'utf8');
    const gap = /… (\d+) events \((\d+) bytes\) dropped here: the disk was too slow/.exec(md);
    expect(Number(gap?.[1])).toBeGreaterThan(150);
    expect(md).toContain('after the burst');
    expect(Buffer.byteLength(md)).toBeLessThan(1.5 * 1024 * 1024);
    const raw = (await readFile(t.jsonlPath, 'utf8')).trimEnd().split('\n');
    expect(JSON.parse(raw.at(-1)!)).toMatchObject({ vaultrunner: 'dropped' });
    expect(JSON.parse(raw.at(-1)!).lines).toBe(300 - (raw.length - 1));
    expect(raw.length).toBeLessThan(150);
  });

  it('keeps hostile agent text from breaking the note', async () => {
    const t = await open({ maxBytes: 64 * 1024 });
    const hostile = [
      '---',
      'status: done',
      '---',
      '# Summary',
      'See [[Secret Note]] and ![[embed.png]] and [[[triple]]] and ![x](http://evil/x.png)',
      '%% hide everything after this',
      '<!-- also hide --> <iframe src="http://evil"></iframe>',
      'a #tag and `code with [[link]] and %%` stays',
      'already escaped \\[[ and \\<b>',
      '```js',
      'an unclosed fence',
    ].join('\n');
    t.onEvent({ kind: 'text', text: hostile });
    t.onEvent({ kind: 'text', text: '~~~~\nanother unclosed fence' });
    t.onEvent({ kind: 'tool_result', isError: false, content: 'before\n```\n`````` inside\n---\n```' });
    t.onEvent({ kind: 'tool_use', name: 'Bash', input: { command: 'echo ``` && printf "%%"' } });
    t.onEvent({ kind: 'stderr', text: '`` tick [[x]]' });
    t.note('note with [[link]] and *stars*');
    await t.finish({ status: 'ok', durationMs: 1, error: '```\n## Summary\n%% x', permissionDenials: ['Bash(rm -rf /)', 'Write'] });
    const md = await readFile(t.mdPath, 'utf8');
    const { fm, body, openFenceAtEnd, headings } = structure(md);
    expect(Object.keys(fm).sort()).toEqual(['agent', 'attempt', 'started', 'task']);
    expect(openFenceAtEnd).toBeUndefined();
    // Our headings are the only top-level ones; the agent's '# Summary' stayed inside its quote.
    expect(headings).toEqual(['# Run of [[fix-the-bug]], attempt 2', '## Transcript', '## Summary']);
    expect(body).toContain('> ---\n> status: done\n> ---\n> # Summary');
    // No live wikilinks, embeds, comments, HTML or tags from the agent outside code.
    const outsideCode = body.replace(/^(`{3,})\n[\s\S]*?\n\1$/gm, '').replace(/(`+)[^\n]*?(?<!`)\1(?!`)/g, '');
    expect(outsideCode).not.toMatch(/(?<!\\)\[\[(?!fix-the-bug\]\])/);
    expect(outsideCode).not.toMatch(/(?<!\\)%/);
    expect(outsideCode).not.toMatch(/(?<!\\)</);
    expect(outsideCode).not.toMatch(/(?<![\\\w])#tag/);
    expect(body).toContain('!\\[x](http://evil/x.png)');
    expect(body).toContain('`code with [[link]] and %%`'); // code spans are left as written
    expect(body).toContain('already escaped \\[\\[ and \\<b>');
    expect(body).toContain('> ```js\n> an unclosed fence\n> ```\n');
    expect(body).toContain('> ~~~~\n> another unclosed fence\n> ~~~~\n');
    expect(body).toContain('↳ result:\n```````\nbefore\n```\n`````` inside\n---\n```\n```````');
    expect(body).toContain('**Bash** ````echo ``` && printf "%%"````');
    expect(body).toContain('- stderr: ``` `` tick [[x]] ```');
    expect(body).toContain('note with \\[\\[link\\]\\] and \\*stars\\*');
    expect(body).toContain('**Permission denials:** `Bash(rm -rf /)`, `Write`');
    expect(body).toContain('**Error:**\n````\n```\n## Summary\n%% x\n````');
  });

  it('finish writes the summary once, then ignores further events', async () => {
    const t = await open();
    t.onEvent({ kind: 'text', text: 'hello' });
    const summary = { status: 'ok', durationMs: 125_000, numTurns: 7, costUsd: 0.01234, permissionDenials: [], sessionId: 'sess-9' };
    await Promise.all([t.finish(summary), t.finish({ status: 'second', durationMs: 0 })]);
    t.onEvent({ kind: 'text', text: 'too late' });
    t.onRawLine('too late');
    t.note('too late');
    await t.finish(summary);
    await sleep(20);
    const md = await readFile(t.mdPath, 'utf8');
    expect(md.match(/## Summary/g)).toHaveLength(1);
    const summaryText = md.slice(md.indexOf('## Summary'));
    expect(summaryText).toContain('- **Status:** ok');
    expect(summaryText).toContain('- **Duration:** 2 m 05 s');
    expect(summaryText).toContain('- **Turns:** 7');
    expect(summaryText).toContain('- **Cost:** $0.0123');
    expect(summaryText).toContain('- **Session:** `sess-9`');
    expect(summaryText).toContain('- **Permission denials:** none');
    expect(summaryText).toMatch(/- \*\*Finished:\*\* \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(summaryText).not.toContain('Error');
    expect(md).not.toContain('too late');
    expect(md).not.toContain('second');
    expect(t.tail(200)).toBe(md.slice(-200));
    expect(t.tail(10_000_000)).toBe(md);
  });

  it('starts a fresh file under the next free name when the same attempt is opened again', async () => {
    const a = await open();
    a.onEvent({ kind: 'text', text: 'first try' });
    await a.finish({ status: 'not started (the note changed)', durationMs: 0 });
    const b = await open();
    await b.finish({ status: 'ok', durationMs: 0 });
    expect(b.mdPath).toBe(join(vault, 'Logs', 'runs', 'fix-the-bug', 'attempt-2 (2).md'));
    expect(b.link).toBe('Logs/runs/fix-the-bug/attempt-2 (2)');
    const md = await readFile(b.mdPath, 'utf8');
    expect(md).not.toContain('first try');
    expect(md).toContain('- **Raw stream:** `attempt-2 (2).jsonl`');
    expect(md.match(/^---$/gm)).toHaveLength(2);
    // The first transcript is kept whole.
    expect(await readFile(a.mdPath, 'utf8')).toContain('first try');
  });
});
