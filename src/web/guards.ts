// Access rules of the web view as Hono middleware: security headers on every answer, the token
// (once in the URL, then an HttpOnly cookie), a Host check against DNS rebinding, and for every
// state-changing request a CSRF token plus a same-origin check.
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { cookieNameFor, csrfTokenFor, sameSecret } from './access-token.js';

export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  const h = c.res.headers;
  h.set('Content-Security-Policy', CSP);
  h.set('Referrer-Policy', 'no-referrer');
  h.set('X-Content-Type-Options', 'nosniff');
  h.set('X-Frame-Options', 'DENY');
  h.set('Cross-Origin-Opener-Policy', 'same-origin');
  h.set('Cross-Origin-Resource-Policy', 'same-origin');
  h.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
  if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
};

export interface AccessOptions {
  secret: string;
  /** Host header values accepted; undefined: any (bound to a non-loopback address). */
  allowedHosts: () => ReadonlySet<string> | undefined;
  /** Origin of the public URL behind a reverse proxy, if any. */
  publicOrigin?: string;
  secureCookie: boolean;
}

export function accessGuard(opts: AccessOptions): MiddlewareHandler {
  const cookie = cookieNameFor(opts.secret);
  const csrf = csrfTokenFor(opts.secret);
  return async (c, next) => {
    const hosts = opts.allowedHosts();
    const host = c.req.header('host') ?? '';
    if (hosts && !hosts.has(host.toLowerCase())) return deny(c, 403, 'unknown Host: open the page by the address vaultrunner printed');
    const url = new URL(c.req.url);
    const presented = url.searchParams.get('token');
    if (presented !== null && c.req.method === 'GET') {
      if (!sameSecret(presented, opts.secret)) return deny(c, 401, 'wrong token: run `vaultrunner web-url` for the current link');
      setCookie(c, cookie, opts.secret, { httpOnly: true, sameSite: 'Strict', path: '/', secure: opts.secureCookie, maxAge: 30 * 86_400 });
      // The token leaves the address bar (and history) at once.
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    if (!sameSecret(getCookie(c, cookie), opts.secret)) return deny(c, 401, 'not signed in: open the link that `vaultrunner web-url` prints');
    if (!['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) {
      if (!sameSecret(c.req.header('x-csrf-token'), csrf)) return deny(c, 403, 'missing or wrong CSRF token: reload the page');
      const origin = c.req.header('origin');
      const okOrigins = new Set([`http://${host}`, `https://${host}`, ...(opts.publicOrigin ? [opts.publicOrigin] : [])]);
      if (!origin || !okOrigins.has(origin)) return deny(c, 403, 'cross-origin request refused');
      const site = c.req.header('sec-fetch-site');
      if (site !== undefined && site !== 'same-origin') return deny(c, 403, 'cross-site request refused');
    }
    await next();
  };
}

function deny(c: Context, status: 401 | 403, message: string) {
  const wantsJson = (c.req.header('accept') ?? '').includes('application/json') || c.req.path.startsWith('/api/');
  return wantsJson ? c.json({ error: message, code: status === 401 ? 'unauthorized' : 'forbidden' }, status) : c.text(`${status} ${message}\n`, status);
}
