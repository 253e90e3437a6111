// Shared by the board and the task page: API calls with the CSRF token, the flash line, the
// connection badge, browser notifications (opt-in) and small formatters. No build step.
export const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

export async function api(method, url, body) {
  const res = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(method === 'GET' ? {} : { 'x-csrf-token': csrf }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  return { ok: res.ok, status: res.status, data };
}

let flashTimer;
export function flash(text, kind = 'info') {
  const el = document.getElementById('flash');
  if (!el) return;
  el.textContent = text;
  el.className = `flash ${kind}`;
  el.hidden = false;
  clearTimeout(flashTimer);
  if (kind !== 'error' && kind !== 'conflict') flashTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

export function setConnected(ok) {
  const el = document.getElementById('conn');
  if (!el) return;
  el.textContent = ok ? 'live' : 'reconnecting…';
  el.className = ok ? 'conn ok' : 'conn';
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
}

export function age(ms) {
  if (ms === null || ms === undefined) return '?';
  const s = Math.max(0, Math.floor((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export const NOTIFY_STATUSES = new Set(['done', 'failed', 'in_review', 'awaiting_approval']);
const NOTIFY_KEY = 'vaultrunner-notify';

/** The opt-in button: asks for permission once; notifications only when the person said yes. */
export function setupNotifications() {
  const btn = document.getElementById('notify');
  if (!btn) return;
  const supported = 'Notification' in window;
  const refresh = () => {
    const on = supported && Notification.permission === 'granted' && localStorage.getItem(NOTIFY_KEY) === '1';
    btn.textContent = on ? 'Notifications on' : 'Enable notifications';
    btn.setAttribute('aria-pressed', String(on));
  };
  btn.hidden = !supported;
  btn.addEventListener('click', async () => {
    if (localStorage.getItem(NOTIFY_KEY) === '1' && Notification.permission === 'granted') localStorage.removeItem(NOTIFY_KEY);
    else if ((await Notification.requestPermission()) === 'granted') localStorage.setItem(NOTIFY_KEY, '1');
    refresh();
  });
  refresh();
}

export function notifyTransition(t) {
  if (!NOTIFY_STATUSES.has(t.to) || !('Notification' in window)) return;
  if (Notification.permission !== 'granted' || localStorage.getItem(NOTIFY_KEY) !== '1') return;
  const n = new Notification(`${t.id}: ${t.to.replace('_', ' ')}`, { body: t.reason ? String(t.reason).slice(0, 200) : `was ${t.from ?? 'new'}`, tag: `vr-${t.id}` });
  n.onclick = () => { window.focus(); location.href = `/task/${encodeURIComponent(t.id)}`; };
}

/** The board's event stream: rows as they change, and transitions for notifications. */
export function boardEvents(handlers) {
  const es = new EventSource('/events');
  let opened = false;
  es.addEventListener('hello', () => { setConnected(true); if (opened) handlers.resync?.(); opened = true; });
  es.addEventListener('resync', () => handlers.resync?.());
  es.addEventListener('task', (e) => handlers.task?.(JSON.parse(e.data)));
  es.addEventListener('remove', (e) => handlers.remove?.(JSON.parse(e.data).id));
  es.addEventListener('transition', (e) => { const t = JSON.parse(e.data); notifyTransition(t); handlers.transition?.(t); });
  es.onerror = () => setConnected(false);
  return es;
}
