// The prompt an agent gets on stdin: the task note's body and its plan, or, when resuming a
// session, a short "continue" plus whatever a person added to the note since the last run.
import type { Task } from '../lifecycle/task.js';

export function taskPrompt(task: Task, body: string, planBody: string | undefined, cwd: string): string {
  const parts = [
    `You are working on the task "${task.title ?? task.id}" from the vaultrunner queue (type ${task.type}, priority ${task.priority}).`,
    `Work in ${cwd}.${task.branch ? ` Use the git branch ${task.branch}.` : ''}`,
    '',
    '## Task',
    '',
    body.trim() || '(the task note has no body; its title is the task)',
  ];
  if (planBody?.trim()) parts.push('', '## Plan', '', planBody.trim());
  parts.push('', 'When you are done, reply with a short summary of what you changed.');
  return `${parts.join('\n')}\n`;
}

export function resumePrompt(bodyAtStart: string | undefined, bodyNow: string): string {
  const lines = ['Continue the task where you left off. When you are done, reply with a short summary of what you changed.'];
  const added = addedText(bodyAtStart, bodyNow);
  if (added) lines.push('', 'The person added these instructions to the task note since:', '', added);
  return `${lines.join('\n')}\n`;
}

/** What was appended to the body, or the whole new body when it was rewritten. */
export function addedText(before: string | undefined, now: string): string | undefined {
  if (before === undefined || before === now) return undefined;
  const b = before.trimEnd();
  if (now.startsWith(b)) return now.slice(b.length).trim() || undefined;
  return now.trim();
}

/** A review round: the person's new feedback, sent to the session that did the work. */
export function feedbackPrompt(feedback: string): string {
  return [
    'The person reviewed your work on this task and sends it back with this feedback:',
    '',
    feedback.trim(),
    '',
    'Make the changes they ask for in the same working folder. When you are done, reply with a short summary of what you changed.',
    '',
  ].join('\n');
}
