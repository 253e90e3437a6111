// Human-readable rendering of our JSON log lines (terminal output and `vaultrunner logs`).
const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
export const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component', 'task', 'from', 'to', 'v']);

export function formatLogLine(obj: Record<string, unknown>, color = false): string {
  const t = typeof obj.time === 'number' ? new Date(obj.time) : new Date();
  const time = t.toTimeString().slice(0, 8);
  const level = LEVEL_NAMES[Number(obj.level)] ?? String(obj.level ?? '');
  const comp = obj.component ? `[${String(obj.component)}] ` : '';
  const msg = String(obj.msg ?? '');
  // Messages usually name the task and the move already; don't say it twice.
  const task = obj.task && !msg.includes(String(obj.task)) ? `${String(obj.task)} ` : '';
  const move = (obj.from !== undefined || obj.to !== undefined) && !msg.includes('→') ? `${String(obj.from ?? '?')} → ${String(obj.to ?? '?')} ` : '';
  const extras = Object.entries(obj)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const lvl = color ? paint(level) : level.padEnd(5);
  return `${time} ${lvl} ${comp}${task}${move}${msg}${extras ? `  ${extras}` : ''}`;
}

function paint(level: string): string {
  const code = level === 'ERROR' || level === 'FATAL' ? 31 : level === 'WARN' ? 33 : level === 'INFO' ? 32 : 90;
  return `\u001b[${code}m${level.padEnd(5)}\u001b[0m`;
}
