// The agent's final summary in the task note, appended once at the transition to done/in_review:
// `## Result` the first time, `## Result (after feedback, <when>)` for each later review round (so
// the note reads as the conversation it was). Quoted and escaped: agent text cannot start a section of the note
// (a `## Feedback` of its own), a link, a tag or an unclosed fence to the person's note.
import { hasResult } from '../domain/feedback.js';
import { quote } from './markdown-safe.js';

export const RESULT_MAX_CHARS = 8_000;

/** What to append to `body`, or undefined when there is no summary. `when` is an Obsidian date-time. */
export function resultSection(body: string, summary: string | undefined, when: string): string | undefined {
  if (!summary?.trim()) return undefined;
  const heading = hasResult(body) ? `## Result (after feedback, ${when})` : '## Result';
  return `${heading}\n\n${quote(summary.trim(), RESULT_MAX_CHARS)}\n`;
}
