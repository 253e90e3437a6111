// The review loop's reading of a task note's body: the person's `## Feedback` sections (what a
// follow-up run is asked to do) and whether a `## Result` was already written. Pure.

export interface Section {
  /** The heading's text after the hashes, trimmed ("Feedback", "Result (after feedback, …)"). */
  title: string;
  /** The section's text up to the next heading of the same or a higher level, trimmed. */
  text: string;
}

/** Level-2 sections of a Markdown body; headings inside fenced code blocks are not headings. */
export function level2Sections(body: string): Section[] {
  const out: Section[] = [];
  let cur: { title: string; lines: string[] } | undefined;
  let fence: string | undefined;
  const close = () => cur && out.push({ title: cur.title, text: cur.lines.join('\n').trim() });
  for (const line of body.replace(/\r\n?/g, '\n').split('\n')) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (f && (!fence || (f[1]![0] === fence[0] && f[1]!.length >= fence.length))) fence = fence ? undefined : f[1];
    const h = fence ? null : /^ {0,3}(#{1,2})[ \t]+(.*?)[ \t#]*$/.exec(line);
    if (h) {
      close();
      cur = h[1] === '##' ? { title: h[2]!.trim(), lines: [] } : undefined;
      continue;
    }
    cur?.lines.push(line);
  }
  close();
  return out;
}

const isFeedback = (title: string) => /^feedback\b/i.test(title);

/** The text of every `## Feedback` section, in order, empty ones left out. */
export function feedbackSections(body: string): string[] {
  return level2Sections(body).flatMap((s) => (isFeedback(s.title) && s.text ? [s.text] : []));
}

/** Has a run already written its `## Result` into this body? */
export function hasResult(body: string): boolean {
  return level2Sections(body).some((s) => /^result\b/i.test(s.title));
}

/**
 * Feedback not yet sent to the agent: each section that is new, or what was added to a section
 * already sent (a person appending to the same `## Feedback`). `all` is what to remember as sent.
 */
export function unsentFeedback(body: string, sent: readonly string[]): { text: string; all: string[] } | undefined {
  const all = feedbackSections(body);
  const parts: string[] = [];
  for (const s of all) {
    if (sent.includes(s)) continue;
    const grown = sent.filter((old) => s.startsWith(old)).sort((a, b) => b.length - a.length)[0];
    const add = grown ? s.slice(grown.length).trim() : s;
    if (add) parts.push(add);
  }
  return parts.length ? { text: parts.join('\n\n'), all } : undefined;
}
