// The note template and example tasks that `vaultrunner init` writes and the repo's vault/ ships.
export const TASK_TEMPLATE = `---
type: claude_code
status: draft # change to new when the note is written; the service ignores drafts
title: "{{title}}"
priority: medium
due:
blocked_by: []
working_dir:
agent:
requires_review: false
requires_approval: false
created: "{{date:YYYY-MM-DD}}T{{time:HH:mm:ss}}"
---

Describe the task here: what to change, where, and why.

## Acceptance criteria

- [ ] The change works as described
- [ ] Tests cover it
`;

export const EXAMPLES: Record<string, string> = {
  'Try the demo agent.md': `---
type: claude_task
title: Try the demo agent
priority: high
agent: demo
---

This task runs the bundled **demo agent** (configured in \`.env.example\` as
\`COMMAND_AGENTS\`), so it works without any Claude credentials.

Watch it move \`new → planned → executing → done\` in this note's properties,
then find it in \`Done/\`, its plan in \`Plans/\` and its transcript in \`Logs/runs/\`.

## Acceptance criteria

- [ ] The demo agent writes a summary file into its working folder
`,
  'A task that waits.md': `---
type: claude_task
title: A task that waits for another
priority: medium
agent: demo
blocked_by:
  - "[[Try the demo agent]]"
---

This task starts only after [[Try the demo agent]] is done (\`blocked_by\`).
`,
  'Needs approval.md': `---
type: shell_script
title: A task type that is not whitelisted
agent: demo
---

Its \`type\` is not in \`EXECUTOR_TYPES\`, so vaultrunner plans it and moves it
to \`Pending_Approval/\`. Set \`approved: true\` in its properties to release it,
or \`status: cancelled\` to drop it.
`,
  'Ask Claude.md': `---
type: claude_code
title: Ask Claude Code for a haiku
priority: low
permission_mode: plan
---

Write a haiku about task queues.

This one runs the real \`claude\` CLI. Without credentials it fails fast with
a message that says how to log in (\`claude\`, then \`/login\`) or set
\`ANTHROPIC_API_KEY\` in \`.env\`.
`,
};

/** Marks a vault as the bundled demo, the only kind `vaultrunner demo --reset` will wipe. */
export const DEMO_MARKER = '.vaultrunner-demo';

/**
 * The bundled demo vault, file by file (vault-relative paths): what the repo's vault/ holds and
 * what `vaultrunner demo` writes. Empty .gitkeep files keep the empty folders in git.
 */
export const DEMO_FILES: Readonly<Record<string, string>> = {
  [DEMO_MARKER]: "This vault is vaultrunner's bundled demo. `vaultrunner demo --reset` restores it,\ndeleting every other task, plan, log and state in it. Use your own vault for real work.\n",
  '.obsidian/templates.json': '{ "folder": "Templates" }\n',
  'Templates/Task.md': TASK_TEMPLATE,
  ...Object.fromEntries(Object.entries(EXAMPLES).map(([name, text]) => [`Needs_Action/${name}`, text])),
  'Done/.gitkeep': '',
  'Logs/.gitkeep': '',
  'Pending_Approval/.gitkeep': '',
  'Plans/.gitkeep': '',
};
