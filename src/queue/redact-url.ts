// A queue URL for logs and banners, without loading the Redis client (start prints it).

/**
 * The URL with its credentials replaced, for logs, banners and messages: everything between `//`
 * and the last `@` (a password may hold `@` or `/`), the user kept only in `user:password` form.
 * An `@` in a path is taken for one too: a little lost, nothing leaked.
 */
export function redactUrl(url: string): string {
  const slashes = url.indexOf('//');
  const at = url.lastIndexOf('@');
  if (slashes < 0 || at < slashes) return url;
  const cred = url.slice(slashes + 2, at);
  const colon = cred.indexOf(':');
  return `${url.slice(0, slashes + 2)}${colon >= 0 && !/[/@]/.test(cred.slice(0, colon)) ? `${cred.slice(0, colon)}:***` : '***'}@${url.slice(at + 1)}`;
}
