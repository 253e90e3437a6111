#!/usr/bin/env node
// A person editing task notes while the service works on them, as a separate process:
// EDITOR_RATE edits per second on random notes of EDITOR_IDS (wherever they are now), each adding
// a unique marker: a body line or a frontmatter tag. Writes alternate between in-place (open
// r+, truncate, write: Obsidian's way) and temp file + rename (vim, VS Code). Prints one JSON line
// per edit that reached the disk; stops on "stop" on stdin.
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const vault = process.env.EDITOR_VAULT;
const ids = JSON.parse(process.env.EDITOR_IDS ?? '[]');
const rate = Number(process.env.EDITOR_RATE ?? 5);
let seed = Number(process.env.EDITOR_SEED ?? 1) >>> 0;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

function locate(id) {
  for (const folder of ['Needs_Action', 'Pending_Approval', 'Done']) {
    const p = join(vault, folder, `${id}.md`);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The note with the marker added, or undefined when it is not a note we can edit safely. */
function addMarker(text, marker, kind) {
  const m = /^---\r?\n([\s\S]*?)\r?\n---(\r?\n|$)/.exec(text);
  if (!m) return undefined;
  if (kind === 'body') return `${text}${text.endsWith('\n') ? '' : '\n'}edit ${marker}\n`;
  const yaml = m[1];
  const tags = /^tags: \[(.*)\]$/m.exec(yaml);
  const next = tags ? yaml.replace(/^tags: \[(.*)\]$/m, `tags: [${tags[1] ? `${tags[1]}, ` : ''}${marker}]`) : `${yaml}\ntags: [${marker}]`;
  return `---\n${next}\n---${m[2]}${text.slice(m[0].length)}`;
}

let n = 0;
let stopped = false;
process.stdin.on('data', (d) => {
  if (String(d).includes('stop')) stopped = true;
});

while (!stopped) {
  await new Promise((r) => setTimeout(r, (1000 / rate) * (0.5 + rand())));
  const id = ids[Math.floor(rand() * ids.length)];
  const path = locate(id);
  if (!path) continue;
  n++;
  const marker = `m${process.pid}x${n}`;
  const kind = n % 2 === 0 ? 'tag' : 'body';
  const mode = Math.floor(n / 2) % 2 === 0 ? 'in-place' : 'rename';
  try {
    // Read and write back to back, as an editor's save would.
    const next = addMarker(readFileSync(path, 'utf8'), marker, kind);
    if (next === undefined) continue;
    if (mode === 'in-place') {
      const fd = openSync(path, 'r+'); // fails if the note moved away meanwhile
      try {
        ftruncateSync(fd, 0);
        writeSync(fd, next, 0);
      } finally {
        closeSync(fd);
      }
    } else {
      const tmp = join(path, '..', `.${id}.md.edit-${n}.tmp`);
      writeFileSync(tmp, next);
      if (!existsSync(path)) continue; // moved meanwhile: a real editor would ask; we drop the edit
      renameSync(tmp, path);
    }
    process.stdout.write(`${JSON.stringify({ id, marker, kind, mode, path })}\n`);
  } catch {
    /* the note moved between our read and write: the edit did not happen */
  }
}
