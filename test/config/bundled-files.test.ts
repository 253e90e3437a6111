// The shipped files stay true to the code: .env.example documents every config key, and the
// repo's vault/ as committed holds exactly the demo that `vaultrunner demo` writes (template,
// examples, marker). Read from git, never from the working copy's vault/, which `npm start`
// moves along.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../src/config/config.js';
import { DEMO_FILES, EXAMPLES, TASK_TEMPLATE } from '../../src/vault/bundled.js';
import { parseSnapshot, hashText } from '../../src/vault/note-store.js';
import { validateTask } from '../../src/domain/task.js';
import { committedVault } from '../helpers/cli-demo.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('.env.example', () => {
  const text = readFileSync(join(ROOT, '.env.example'), 'utf8');
  it.each(Object.keys(DEFAULTS))('documents %s', (key) => expect(text).toMatch(new RegExp(`^${key}=`, 'm')));
  it('is itself a valid configuration', () => {
    const env = Object.fromEntries(text.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const c = loadConfig(env, {}, ROOT);
    expect(c.commandAgents.demo).toEqual(['node', join(ROOT, 'scripts', 'demo-agent.mjs')]);
  });
});

describe('the bundled vault', () => {
  it('as committed, is exactly the demo files (template, examples init writes, marker)', () => {
    const committed = committedVault();
    expect(Object.keys(committed).sort()).toEqual(Object.keys(DEMO_FILES).sort());
    for (const [rel, text] of Object.entries(DEMO_FILES)) expect(committed[rel], rel).toBe(text);
    expect(committed['Templates/Task.md']).toBe(TASK_TEMPLATE);
    for (const [name, text] of Object.entries(EXAMPLES)) expect(committed[`Needs_Action/${name}`]).toBe(text);
  });
  it.each(Object.entries(EXAMPLES))('example %s is a valid task', (name, text) => {
    const r = parseSnapshot({ path: name, text, stamp: { size: 0, mtimeMs: 0, ctimeMs: 0, ino: 0 }, hash: hashText(text) });
    expect(r.ok).toBe(true);
    if (r.ok) expect(validateTask(name.replace(/\.md$/, ''), r.data).ok).toBe(true);
  });
  it('the template, filled in as Obsidian would, is a valid task', () => {
    const filled = TASK_TEMPLATE.replace('{{title}}', 'My task').replace('{{date:YYYY-MM-DD}}', '2026-11-21').replace('{{time:HH:mm:ss}}', '10:00:00');
    const r = parseSnapshot({ path: 'x.md', text: filled, stamp: { size: 0, mtimeMs: 0, ctimeMs: 0, ino: 0 }, hash: hashText(filled) });
    expect(r.ok && validateTask('x', r.data).ok).toBe(true);
  });
});
