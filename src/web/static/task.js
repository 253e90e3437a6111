// One task: properties, the note rendered, plan, review diff, attempts, the buttons for what can
// be done now, and the live transcript. The transcript streams over SSE; each event's id is a
// byte offset, and the browser's automatic reconnect sends it back, so nothing is lost or repeated.
import { api, boardEvents, el, flash, setupNotifications } from './common.js';
import { diffMode, diffView } from './diff.js';

const id = document.body.dataset.task;
let current = null;
let stream = null;
let streamKey = '';
let reloadTimer = 0;

const BUTTONS = [
  ['pause', 'Pause', (s) => ['new', 'planned', 'executing', 'awaiting_approval'].includes(s)],
  ['resume', 'Resume', (s) => s === 'paused'],
  ['approve', 'Approve', (s, fm) => ['awaiting_approval', 'planned', 'new', 'paused'].includes(s) && !(fm.approved === true || fm.approved === 'true')],
  ['acceptReview', 'Accept review', (s) => s === 'in_review'],
  ['sendBack', 'Send back…', (s) => s === 'in_review'],
  ['retry', 'Retry', (s) => ['failed', 'done', 'cancelled', 'paused', 'planned', 'new'].includes(s) && s !== 'executing'],
  ['cancel', 'Cancel', (s) => !['cancelled', 'done'].includes(s)],
];

function show(v) {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

async function act(action, extra = {}) {
  const r = await api('POST', `/api/tasks/${encodeURIComponent(id)}/actions/${action}`, { version: current?.row.version, ...extra });
  if (r.ok) flash(r.data.message, 'ok');
  else flash(r.data?.error ?? `failed (${r.status})`, r.status === 409 ? 'conflict' : 'error');
  await load();
}

function renderActions(row, fm) {
  const box = document.getElementById('actions');
  const buttons = BUTTONS.filter(([, , when]) => when(row.status, fm)).map(([action, label]) =>
    el('button', { type: 'button', 'data-action': action, text: label, onclick: () => (action === 'sendBack' ? toggleFeedback() : void act(action)) }));
  box.replaceChildren(el('span', { class: `status st-${row.status}`, text: row.status }), el('span', { class: `reason rd-${row.readiness.kind}`, text: row.readiness.reason }), ...buttons);
}

function toggleFeedback() {
  let form = document.getElementById('feedback');
  if (form) return form.remove();
  const text = el('textarea', { name: 'feedback', rows: 5, placeholder: 'What should the agent change? This goes under ## Feedback in the note.' });
  form = el('form', { id: 'feedback', class: 'feedback' }, text, el('button', { type: 'submit', text: 'Send back to the agent' }));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); void act('sendBack', { feedback: text.value }); });
  document.getElementById('actions').after(form);
  text.focus();
}

async function load() {
  const r = await api('GET', `/api/tasks/${encodeURIComponent(id)}`);
  if (!r.ok) {
    document.getElementById('title').textContent = id;
    return flash(r.data?.error ?? `could not load (${r.status})`, 'error');
  }
  current = r.data;
  const { row, frontmatter } = current;
  document.title = `${row.title || id} — vaultrunner`;
  document.getElementById('title').textContent = row.title || id;
  renderActions(row, frontmatter);
  const props = document.getElementById('props');
  props.replaceChildren(
    el('tr', {}, el('th', { text: 'note' }), el('td', { text: current.notePath })),
    ...Object.entries(frontmatter).map(([k, v]) => el('tr', { 'data-key': k }, el('th', { text: k }), el('td', { text: show(v) }))));
  const problem = document.getElementById('problem');
  problem.hidden = !current.problem;
  problem.textContent = current.problem ?? '';
  // Rendered on the server from Markdown with every raw HTML tag escaped.
  document.getElementById('body').innerHTML = current.bodyHtml;
  document.getElementById('plan').innerHTML = current.plan ? current.plan.html : '<p class="muted">not planned yet</p>';
  document.getElementById('review-box').hidden = !current.review;
  document.getElementById('review').innerHTML = current.review ? current.review.html : '';
  showDiff(diffMode());
  const attempts = document.getElementById('attempts');
  attempts.replaceChildren(...(current.attempts.length ? current.attempts.map((a) =>
    el('button', { type: 'button', class: `attempt${a.live ? ' live' : ''}`, 'data-attempt': String(a.n), text: `attempt ${a.n}${a.live ? ' · live' : ''} · ${Math.ceil(a.bytes / 1024)} KiB`, onclick: () => follow(a.n, a.live) }))
    : [el('span', { class: 'muted', text: 'no run yet' })]));
  const latest = current.attempts.at(-1);
  if (latest && !streamKey.startsWith(`${latest.n}:`)) follow(latest.n, latest.live);
}

/** The diff from the server's parsed form, where the note's own ```diff block was (else at the end). */
function showDiff(mode) {
  const review = document.getElementById('review');
  const shown = review.querySelector('.diff-view');
  if (!current?.diff) return shown?.remove();
  const view = diffView(current.diff, mode, showDiff);
  const fences = review.querySelectorAll('pre.diff');
  const spot = shown ?? fences[fences.length - 1];
  if (spot) spot.replaceWith(view);
  else review.append(view);
}

function follow(n, live) {
  const key = `${n}:`;
  if (stream && streamKey === key) return;
  stream?.close();
  streamKey = key;
  const pre = document.getElementById('transcript');
  pre.textContent = '';
  document.getElementById('t-label').textContent = `attempt ${n}${live ? ' (live)' : ''}`;
  stream = new EventSource(`/api/tasks/${encodeURIComponent(id)}/attempts/${n}/stream`);
  stream.addEventListener('chunk', (e) => {
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    pre.append(document.createTextNode(JSON.parse(e.data)));
    pre.dataset.offset = e.lastEventId;
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  });
  stream.addEventListener('reset', () => { pre.textContent = ''; });
  stream.addEventListener('open', () => { pre.dataset.opens = String(Number(pre.dataset.opens ?? 0) + 1); });
}

function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => void load(), 150);
}

setupNotifications();
boardEvents({
  task: (row) => { if (row.id === id) reloadSoon(); },
  remove: (rid) => { if (rid === id) reloadSoon(); },
  resync: reloadSoon,
});
void load();
