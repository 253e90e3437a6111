// The malformed notes of the bad-input torture, each with what the service must do with it:
// unreadable (logged with a reason, bytes untouched), invalid (an `error:` line naming the key),
// rejected (an `error:` line, never run: unsafe working_dir, bad dependency), failed (status
// failed with an error), conflict (a sync-conflict copy: logged, untouched), done (odd but valid).
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Expect = 'unreadable' | 'invalid' | 'rejected' | 'failed' | 'conflict' | 'done';
export type CorpusItem = { name: string; expect: Expect; why: string } & ({ content: string | Buffer } | { symlink: string });

const note = (fm: string, body = 'Body.\n') => `---\n${fm}\n---\n${body}`;

export function corpus(dirs: { root: string; workspace: string; outside: string; hugeMb: number }): CorpusItem[] {
  const { root, workspace, outside } = dirs;
  const marker = (m: string) => join(root, `${m}.marker`);
  // A valid task note outside the vault, and a symlink inside the workspace that leads out of it.
  const outsideNote = join(outside, 'outside-task.md');
  writeFileSync(outsideNote, note('type: claude_code\ntitle: I live outside the vault'));
  symlinkSync('/etc', join(workspace, 'link-out'));
  const binary = Buffer.alloc(4096);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 7919) % 256;
  const huge = Buffer.alloc(dirs.hugeMb * 1024 * 1024, 'a');
  Buffer.from('---\ntype: claude_code\n---\n').copy(huge);
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefg'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`), 'type: claude_code'].join('\n');
  const u = (name: string, content: string | Buffer, why: string): CorpusItem => ({ name, content, expect: 'unreadable', why });
  const i = (name: string, fm: string, why: string): CorpusItem => ({ name, content: note(fm), expect: 'invalid', why });
  const r = (name: string, fm: string, why: string): CorpusItem => ({ name, content: note(fm), expect: 'rejected', why });
  return [
    u('yaml-unclosed.md', note('type: [claude_code'), 'broken YAML: unclosed flow sequence'),
    u('yaml-nested.md', note('type: claude_code\ntitle: a: b: c'), 'broken YAML: nested compact mapping'),
    u('yaml-tabs.md', note('type: claude_code\n\tpriority: high'), 'broken YAML: tab indentation'),
    u('yaml-duplicate.md', note('type: claude_code\ntype: other'), 'duplicate keys'),
    u('yaml-bomb.md', note(bomb), 'billion-laughs aliases'),
    u('yaml-list.md', note('- type\n- claude_code'), 'frontmatter is a list'),
    u('yaml-scalar.md', note('just some text'), 'frontmatter is a scalar'),
    u('unclosed-frontmatter.md', '---\ntype: claude_code\nno closing line\n', 'no closing ---'),
    u('no-frontmatter.md', '# Just a heading\n\nSome text.\n', 'no frontmatter at all'),
    u('binary.md', binary, 'binary bytes with NULs'),
    u('latin1.md', Buffer.concat([Buffer.from('---\ntype: claude_code\ntitle: caf'), Buffer.from([0xe9]), Buffer.from('\n---\n')]), 'not UTF-8'),
    u('huge.md', huge, `${dirs.hugeMb} MB, over the size limit`),
    u('empty.md', '', 'empty file'),
    u('whitespace.md', '  \n\n\t\n', 'whitespace only'),
    u('bom-crlf-broken.md', `\uFEFF---\r\ntype: [claude_code\r\n---\r\nBody\r\n`, 'BOM + CRLF + broken YAML'),
    u('js-frontmatter.md', `---js\n{ type: (require('fs').writeFileSync(${JSON.stringify(marker('js-payload'))}, 'x'), 'claude_code') }\n---\n`, '---js frontmatter with a payload'),
    u('javascript-frontmatter.md', `---javascript\nmodule.exports = { type: require('fs').writeFileSync(${JSON.stringify(marker('js-payload'))}, 'x') }\n---\n`, '---javascript frontmatter'),
    u('coffee-frontmatter.md', '---coffee\ntype: "claude_code"\n---\n', '---coffee frontmatter'),
    { name: 'passwd-link.md', symlink: '/etc/passwd', expect: 'unreadable', why: 'symlink to /etc/passwd' },
    { name: 'outside-link.md', symlink: outsideNote, expect: 'unreadable', why: 'symlink to a valid task outside the vault' },
    { name: 'dangling-link.md', symlink: join(outside, 'nope.md'), expect: 'unreadable', why: 'dangling symlink' },
    i('wrong-priority.md', 'type: claude_code\npriority: 7', 'priority is a number'),
    i('wrong-max-attempts.md', 'type: claude_code\nmax_attempts: three', 'max_attempts is text'),
    i('wrong-blocked-by.md', 'type: claude_code\nblocked_by: {a: 1}', 'blocked_by is a map'),
    i('wrong-timeout.md', 'type: claude_code\ntimeout: forever', 'timeout is not a duration'),
    i('wrong-bool.md', 'type: claude_code\nrequires_review: maybe', 'requires_review is not a boolean'),
    i('wrong-due.md', 'type: claude_code\ndue: tomorrow', 'due is not a date'),
    i('missing-type.md', 'title: no type here', 'type is missing'),
    i('empty-type.md', 'type: ""', 'type is empty'),
    i('unknown-status.md', 'type: claude_code\nstatus: sleeping', 'unknown status'),
    i('self-dep.md', 'type: claude_code\nblocked_by: self-dep', 'blocked by itself'),
    i('wrong-permission.md', 'type: claude_code\npermission_mode: yolo', 'unknown permission mode'),
    i('negative-attempts.md', 'type: claude_code\nattempts: -1', 'negative attempts'),
    r('wd-outside.md', 'type: claude_code\nworking_dir: /etc', 'working_dir outside WORKSPACE_ROOTS'),
    r('wd-relative.md', 'type: claude_code\nworking_dir: src', 'relative working_dir'),
    r('wd-dotdot.md', `type: claude_code\nworking_dir: ${workspace}/../..`, 'working_dir escaping with ../..'),
    r('wd-symlink-out.md', `type: claude_code\nworking_dir: ${workspace}/link-out`, 'working_dir symlink leading out of the root'),
    r('wd-missing.md', `type: claude_code\nworking_dir: ${workspace}/nope`, 'working_dir that does not exist'),
    r('cycle-a.md', 'type: claude_code\nblocked_by: cycle-b', 'cyclic dependency'),
    r('cycle-b.md', 'type: claude_code\nblocked_by: "[[cycle-a]]"', 'cyclic dependency'),
    r('missing-dep.md', 'type: claude_code\nblocked_by: [does-not-exist]', 'missing dependency'),
    { name: 'unknown-agent.md', content: note('type: claude_code\nagent: evil'), expect: 'failed', why: 'agent not configured' },
    { name: 'permission-above.md', content: note('type: claude_code\npermission_mode: bypassPermissions'), expect: 'failed', why: 'permission above the ceiling' },
    { name: 'conflicted.sync-conflict-20240101-123456-ABCDEF.md', content: note('type: claude_code'), expect: 'conflict', why: 'Syncthing conflict copy' },
    { name: "conflicted (Bob's conflicted copy 2024-01-01).md", content: note('type: claude_code'), expect: 'conflict', why: 'Dropbox conflict copy' },
    // Odd but valid: these must run and finish.
    { name: 'Ünïcødé täsk 日本語.md', content: note('type: claude_code'), expect: 'done', why: 'unicode name' },
    { name: 'name with  spaces.md', content: note('type: claude_code'), expect: 'done', why: 'spaces in the name' },
    { name: 'bom-crlf-valid.md', content: `\uFEFF---\r\ntype: claude_code\r\n---\r\nBody\r\n`, expect: 'done', why: 'BOM + CRLF, valid' },
    { name: 'shell-meta.md', content: note(`type: claude_code\ntitle: "$(touch ${marker('shell-payload')}) \`touch ${marker('shell-payload')}\`"`, `Run $(touch ${marker('shell-payload')}) and \`touch ${marker('shell-payload')}\`; ${'"'}'; rm -rf /tmp/nothing\n`), expect: 'done', why: 'shell metacharacters in title and body' },
    { name: 'yaml-js-tag.md', content: note(`type: claude_code\ntitle: !!js/function 'function () { require("fs").writeFileSync(${JSON.stringify(marker('tag-payload'))}, "x") }'`), expect: 'done', why: 'a !!js/function tag (kept as text)' },
  ];
}

