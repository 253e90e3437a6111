// Rendering untrusted text (agent output) into Markdown that cannot break the note: fences longer
// than any backtick run inside, wikilink/embed/tag/comment syntax escaped, control characters removed.

/** Agent text as a blockquote, cut at `max` chars; an unclosed code fence is closed at the end. */
export function quote(text: string, max: number): string {
  const body = clean(clip(text, max));
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of body.split('\n')) {
    const m = /^ *(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length && line.slice(m[0].length).trim() === '') fence = undefined;
      out.push(line);
    } else if (m && !(m[1]![0] === '`' && line.slice(m[0].length).includes('`'))) {
      fence = m[1]!;
      out.push(line);
    } else out.push(escapeOutsideCode(line));
  }
  if (fence) out.push(fence);
  return out.map((l) => (l ? `> ${l}` : '>')).join('\n');
}

/** Escapes one Markdown line, leaving inline code spans alone (Obsidian parses nothing in them). */
function escapeOutsideCode(line: string): string {
  let out = '';
  let i = 0;
  while (i < line.length) {
    const tick = line.indexOf('`', i);
    if (tick < 0) return out + escapeSegment(line.slice(i));
    out += escapeSegment(line.slice(i, tick));
    let n = tick;
    while (line[n] === '`') n++;
    const close = findRun(line, n, n - tick);
    if (close < 0) {
      out += line.slice(tick, n); // an unmatched run is literal text
      i = n;
    } else {
      out += line.slice(tick, close + n - tick);
      i = close + n - tick;
    }
  }
  return out;
}

function findRun(s: string, from: number, len: number): number {
  for (let i = s.indexOf('`', from); i >= 0; i = s.indexOf('`', i)) {
    let j = i;
    while (s[j] === '`') j++;
    if (j - i === len) return i;
    i = j;
  }
  return -1;
}

// What could reach outside the note: wikilinks/embeds (`[[`, `![`), comments (`%%`), HTML, #tags.
const HOSTILE = /(\\*)(%|<|#(?=[^\s#])|\[(?=\[)|(?<=[[!])\[)/g;

function escapeSegment(s: string): string {
  // An odd run of backslashes already escapes the character.
  return s.replace(HOSTILE, (m: string, bs: string, c: string) => (bs.length % 2 ? m : `${bs}\\${c}`));
}

/** Plain text inside our own Markdown: every punctuation that could mean something is escaped. */
export function escapeText(s: string): string {
  return clean(s).replace(/\s*\n\s*/g, ' ').replace(/[\\`*_[\]<>#|%~=$^&]/g, '\\$&');
}

/** An inline code span that its content cannot close. */
export function code(s: string): string {
  const body = clean(s).replace(/\n/g, ' ⏎ ');
  if (body.trim() === '') return '*(empty)*';
  const ticks = '`'.repeat(longestRun(body, '`') + 1);
  const pad = body.startsWith('`') || body.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${body}${pad}${ticks}`;
}

/** A fenced block longer than any backtick run inside, so its content cannot close it; `info` is
 *  the info string after the opening fence (a language such as `diff`). */
export function fenced(s: string, info = ''): string {
  const fence = '`'.repeat(Math.max(3, longestRun(s, '`') + 1));
  return `${fence}${info.replace(/[`\s]/g, '')}\n${s.replace(/\n+$/, '')}\n${fence}`;
}

function longestRun(s: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    run = s[i] === ch ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/** Normalised newlines; no ANSI colour codes or control characters. */
export function clean(s: string): string {
  return s
    .replace(/\r\n?/g, '\n')
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

export function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

