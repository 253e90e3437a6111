// The template planner: no model, just the task's own structure. The plan quotes the note's first
// paragraph in full, turns each of its sections (headings with their list items) into a step and
// its acceptance checkboxes into the criteria; generic steps only for a note with no structure.
import type { Planner, PlanInput } from './planner.js';

export function createTemplatePlanner(): Planner {
  return { name: 'template', plan: async (input) => templatePlan(input) };
}

interface Section {
  /** Undefined for what comes before the first heading. */
  heading?: string;
  acceptance: boolean;
  /** List items (bullets, numbered, checkboxes) in full, indentation kept relative to the list. */
  items: Item[];
}

interface Item {
  depth: number;
  text: string;
  checkbox: boolean;
}

const ACCEPTANCE = /acceptance|criteria|done when|definition of done/i;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const ITEM = /^(\s*)(?:[-*+]|\d{1,9}[.)])\s+(?:\[([ xX])\]\s+)?(.*\S)\s*$/;
const FENCE = /^\s*(```|~~~)/;

/** The note body split into its first paragraph and its sections; fenced code is skipped. */
export function outline(body: string): { summary: string[]; sections: Section[] } {
  const summary: string[] = [];
  let inSummary = false;
  const sections: Section[] = [{ acceptance: false, items: [] }];
  let fence: string | undefined;
  let lastItem: Item | undefined;
  let seenContent = false;
  for (const line of body.split(/\r?\n/)) {
    const f = FENCE.exec(line)?.[1];
    if (fence || f) {
      if (!fence) fence = f;
      else if (f === fence) fence = undefined;
      inSummary = false;
      lastItem = undefined;
      seenContent = true;
      continue;
    }
    if (line.trim() === '') {
      inSummary = false;
      lastItem = undefined;
      continue;
    }
    const h = HEADING.exec(line);
    if (h) {
      inSummary = false;
      lastItem = undefined;
      // A level-1 heading before anything else is the note's title, not a step.
      if (h[2] && !(h[1] === '#' && !seenContent)) sections.push({ heading: h[2], acceptance: ACCEPTANCE.test(h[2]), items: [] });
      seenContent = true;
      continue;
    }
    seenContent = true;
    const item = ITEM.exec(line);
    if (item) {
      inSummary = false;
      lastItem = { depth: item[1]!.replace(/\t/g, '    ').length, text: item[3]!, checkbox: item[2] !== undefined };
      sections[sections.length - 1]!.items.push(lastItem);
      continue;
    }
    if (lastItem && /^\s/.test(line)) {
      lastItem.text += ` ${line.trim()}`; // a wrapped list item
      continue;
    }
    lastItem = undefined;
    const text = line.replace(/^\s*>\s?/, '').trim();
    if (inSummary) summary.push(text);
    else if (summary.length === 0) {
      summary.push(text);
      inSummary = true;
    }
  }
  return { summary, sections };
}

export function templatePlan({ task, body }: PlanInput): string {
  const { summary, sections } = outline(body);
  const hasAcceptanceSection = sections.some((s) => s.acceptance);
  // Checkboxes are the criteria: those under an acceptance heading, or all of them when the note has none.
  const isCriterion = (s: Section, i: Item) => i.checkbox && (hasAcceptanceSection ? s.acceptance : true);
  const criteria = sections.flatMap((s) => s.items.filter((i) => isCriterion(s, i)));

  const out: string[] = [`# Plan: ${task.title ?? task.id}`, ''];
  if (summary.length) out.push(...summary.map((l) => `> ${l}`), '');
  out.push('## Steps', '');
  const steps: string[] = [];
  let n = 0;
  for (const s of sections) {
    if (s.acceptance) continue;
    const items = s.items.filter((i) => !isCriterion(s, i));
    const base = Math.min(...items.map((i) => i.depth), Number.POSITIVE_INFINITY);
    // Under a numbered step, list items indent by 3; deeper items keep their relative indentation.
    const sub = (i: Item) => `${' '.repeat(3 + i.depth - base)}- ${i.checkbox ? '[ ] ' : ''}${i.text}`;
    if (s.heading !== undefined) {
      steps.push(`${++n}. ${s.heading}`, ...items.map(sub));
    } else {
      // Items before any heading are steps of their own; nested ones stay under their parent.
      for (const i of items) steps.push(i.depth === base ? `${++n}. ${i.checkbox ? '[ ] ' : ''}${i.text}` : sub(i));
    }
  }
  if (steps.length === 0) {
    out.push('1. Read the task and the code it concerns.', '2. Make the change.', '3. Check the result against the acceptance criteria.');
  } else out.push(...steps);
  out.push('', '## Acceptance criteria', '');
  if (criteria.length === 0) out.push('- [ ] The task as described is done.');
  else for (const c of criteria) out.push(`- [ ] ${c.text}`);
  out.push('', '## Context', '', `- Type: ${task.type}`, `- Priority: ${task.priority}`);
  if (task.due) out.push(`- Due: ${task.due}`);
  if (task.workingDir) out.push(`- Working dir: \`${task.workingDir}\``);
  if (task.branch) out.push(`- Branch: \`${task.branch}\``);
  if (task.blockedBy.length) out.push(`- After: ${task.blockedBy.map((b) => `[[${b}]]`).join(', ')}`);
  return `${out.join('\n')}\n`;
}
