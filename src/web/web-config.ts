// Operator keys of the web view and the notification webhook, validated like the rest of the
// config (one line naming the key, the value and what is allowed). Separate from config.ts until
// the lead folds them in.
import { ConfigError } from '../errors.js';
import { STATUSES, type Status } from '../domain/status.js';

export interface WebConfig {
  /** undefined: no web view. 0: any free port. */
  port: number | undefined;
  host: string;
  /** The address people use when it is not http://host:port (a reverse proxy), without a trailing slash. */
  publicUrl: string | undefined;
  notifyUrl: string | undefined;
  notifyFormat: 'json' | 'ntfy';
  notifyOn: readonly Status[];
}

export const WEB_DEFAULTS = {
  WEB_PORT: '',
  WEB_HOST: '127.0.0.1',
  WEB_PUBLIC_URL: '',
  NOTIFY_URL: '',
  NOTIFY_FORMAT: 'json',
  NOTIFY_ON: 'done,failed,in_review,awaiting_approval',
} as const;
export type WebConfigKey = keyof typeof WEB_DEFAULTS;

export function loadWebConfig(env: NodeJS.ProcessEnv, overrides: Partial<Record<WebConfigKey, string>> = {}): WebConfig {
  const get = (k: WebConfigKey) => (overrides[k] ?? env[k] ?? WEB_DEFAULTS[k]).trim();
  const rawPort = get('WEB_PORT');
  let port: number | undefined;
  if (rawPort !== '') {
    port = Number(rawPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`WEB_PORT=${JSON.stringify(rawPort)} is not allowed; use a port number from 1 to 65535 (0: any free port)`);
  }
  const host = get('WEB_HOST');
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) throw new ConfigError(`WEB_HOST=${JSON.stringify(host)} is not allowed; use an address such as 127.0.0.1 or ::1`);
  const publicUrl = httpUrl('WEB_PUBLIC_URL', get('WEB_PUBLIC_URL'))?.replace(/\/+$/, '');
  const notifyUrl = httpUrl('NOTIFY_URL', get('NOTIFY_URL'));
  const format = get('NOTIFY_FORMAT');
  if (format !== 'json' && format !== 'ntfy') throw new ConfigError(`NOTIFY_FORMAT=${JSON.stringify(format)} is not allowed; use json or ntfy`);
  const notifyOn = get('NOTIFY_ON').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = notifyOn.find((s) => !(STATUSES as readonly string[]).includes(s));
  if (bad !== undefined) throw new ConfigError(`NOTIFY_ON=${JSON.stringify(get('NOTIFY_ON'))} is not allowed; use statuses from ${STATUSES.join(', ')}, separated by commas`);
  return Object.freeze({ port, host, publicUrl, notifyUrl, notifyFormat: format, notifyOn: Object.freeze(notifyOn as Status[]) });
}

function httpUrl(key: string, raw: string): string | undefined {
  if (raw === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    // The value may hold a secret (a Slack webhook path): name the key, not the value.
    throw new ConfigError(`${key} is not a URL; use http://… or https://…`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${key} must be an http:// or https:// URL`);
  return u.toString();
}

/** Loopback addresses: anything else exposes the page to the network. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
