// The template planner: no model, just the task's own structure (title, headings, checkboxes).
import type { Planner, PlanInput } from './planner.js';

export function createTemplatePlanner(): Planner {
  return { name: 'template', plan: async (input) => templatePlan(input) };
}

export function templatePlan({ task, body }: PlanInput): string {
  const lines = body.split(/\r?\n/);
  const headings = lines.map((l) => /^#{1,6}\s+(.*\S)\s*$/.exec(l)?.[1]).filter((h): h is string => Boolean(h));
  const checks = lines.map((l) => /^\s*[-*]\s+\[[ xX]\]\s+(.*\S)\s*$/.exec(l)?.[1]).filter((c): c is string => Boolean(c));
  const summary = lines.find((l) => l.trim() && !l.startsWith('#') && !/^\s*[-*]\s/.test(l))?.trim();
  const out: string[] = [];
  out.push(`# Plan: ${task.title ?? task.id}`, '');
  if (summary) out.push(`> ${summary}`, '');
  out.push('## Steps', '');
  const steps = headings.filter((h) => !/acceptance|criteria|done when/i.test(h));
  if (steps.length === 0) out.push('1. Read the task and the code it concerns.', '2. Make the change.', '3. Check the result against the acceptance criteria.');
  else steps.forEach((h, i) => out.push(`${i + 1}. ${h}`));
  out.push('', '## Acceptance criteria', '');
  if (checks.length === 0) out.push('- [ ] The task as described is done.');
  else for (const c of checks) out.push(`- [ ] ${c}`);
  out.push('', '## Context', '', `- Type: ${task.type}`, `- Priority: ${task.priority}`);
  if (task.workingDir) out.push(`- Working dir: \`${task.workingDir}\``);
  if (task.branch) out.push(`- Branch: \`${task.branch}\``);
  if (task.blockedBy.length) out.push(`- After: ${task.blockedBy.map((b) => `[[${b}]]`).join(', ')}`);
  return `${out.join('\n')}\n`;
}
