// The review's diff laid out unified or side by side (a toggle, remembered in this browser).
// Built from the parsed diff the server sends ({ files: [{ hunks: [{ lines }] }] }) with DOM
// text nodes only: a line of code is never parsed as HTML, whatever it holds.
import { el } from './common.js';

const MODE_KEY = 'vaultrunner-diff-mode';
const SIGN = { add: '+', del: '-', ctx: ' ' };

export function diffMode() {
  return localStorage.getItem(MODE_KEY) === 'split' ? 'split' : 'unified';
}

/** The toggle and the view; `onMode` re-renders. */
export function diffView(diff, mode, onMode) {
  const toggle = el('div', { class: 'diff-mode', role: 'group', ariaLabel: 'diff layout' },
    ...[['unified', 'Unified'], ['split', 'Side by side']].map(([m, label]) =>
      el('button', { type: 'button', 'data-mode': m, text: label, ariaPressed: String(m === mode), onclick: () => { localStorage.setItem(MODE_KEY, m); onMode(m); } })));
  const adds = diff.files.reduce((n, f) => n + f.additions, 0);
  const dels = diff.files.reduce((n, f) => n + f.deletions, 0);
  const head = el('div', { class: 'diff-head' }, toggle,
    el('span', { class: 'muted', text: `${diff.files.length} file${diff.files.length === 1 ? '' : 's'}, +${adds} −${dels} · from ${diff.source}` }));
  const box = el('div', { class: 'diff-view', 'data-mode': mode }, head);
  if (diff.note) box.append(el('p', { class: 'muted', text: diff.note }));
  for (const f of diff.files) box.append(fileView(f, mode));
  if (diff.truncated) box.append(el('p', { class: 'muted', text: 'The diff is cut here; the full patch is in the vault.' }));
  return box;
}

function fileName(f) {
  if (f.change === 'renamed') return `${f.oldPath} → ${f.newPath}`;
  return f.newPath ?? f.oldPath ?? '?';
}

function fileView(f, mode) {
  const head = el('div', { class: 'diff-file-head' },
    el('span', { class: 'diff-path', text: fileName(f) }),
    f.change !== 'modified' ? el('span', { class: `badge ch-${f.change}`, text: f.change }) : null,
    el('span', { class: 'muted', text: f.binary ? 'binary' : `+${f.additions} −${f.deletions}` }));
  const cols = mode === 'split' ? 4 : 3;
  // Fixed layout takes its widths from the first row (a hunk header spanning all): say them here.
  const widths = mode === 'split' ? ['ln', 'code', 'ln', 'code'] : ['ln', 'ln', 'code'];
  const table = el('table', { class: `diff-table ${mode}` }, el('colgroup', {}, ...widths.map((c) => el('col', { class: `c-${c}` }))));
  if (f.binary && f.hunks.length === 0) table.append(el('tr', {}, el('td', { class: 'd-note', colSpan: cols, text: 'binary file, not shown' })));
  for (const h of f.hunks) {
    table.append(el('tr', { class: 'hunk' }, el('td', { class: 'd-hunk', colSpan: cols, text: h.header })));
    if (mode === 'split') splitRows(table, h.lines);
    else for (const l of h.lines) table.append(unifiedRow(l));
  }
  return el('section', { class: 'diff-file', 'data-path': f.newPath ?? f.oldPath ?? '' }, head, table);
}

const num = (n) => el('td', { class: 'ln', text: n === null || n === undefined ? '' : String(n) });
const code = (l) => el('td', { class: `code d-${l.kind}`, text: `${SIGN[l.kind]}${l.text}` });
const empty = () => el('td', { class: 'code d-empty' });
const note = (l, cols) => el('tr', {}, el('td', { class: 'd-note', colSpan: cols, text: `\\ ${l.text}` }));

function unifiedRow(l) {
  if (l.kind === 'note') return note(l, 3);
  return el('tr', { class: `l-${l.kind}` }, num(l.old), num(l.new), code(l));
}

/** Context on both sides; a run of removals beside the run of additions that follows it. */
function splitRows(table, lines) {
  for (let i = 0; i < lines.length;) {
    const l = lines[i];
    if (l.kind === 'note') { table.append(note(l, 4)); i++; continue; }
    if (l.kind === 'ctx') { table.append(el('tr', { class: 'l-ctx' }, num(l.old), code(l), num(l.new), code(l))); i++; continue; }
    const dels = [];
    const adds = [];
    while (i < lines.length && lines[i].kind === 'del') dels.push(lines[i++]);
    while (i < lines.length && lines[i].kind === 'add') adds.push(lines[i++]);
    for (let k = 0; k < Math.max(dels.length, adds.length); k++) {
      const d = dels[k];
      const a = adds[k];
      table.append(el('tr', { class: 'l-change' }, num(d?.old), d ? code(d) : empty(), num(a?.new), a ? code(a) : empty()));
    }
  }
}
