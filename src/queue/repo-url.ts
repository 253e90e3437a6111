// The repository URL a job may carry: the person's origin without the credentials it may hold. A
// job sits in Redis and is read by every worker, and a worker clones and pushes with its own
// credentials (its credential helper, its ssh keys), so a token in the URL is never needed there.

/**
 * The URL without the userinfo of its authority: `https://user:token@host:8443/x.git` becomes
 * `https://host:8443/x.git`. The userinfo ends at the authority's last `@`; the authority ends at
 * the first `/`, `?` or `#`, as git and curl read it (an `@` in the path is the path's), so a
 * password with one of those unencoded was never a working remote. An `ssh://` URL keeps its user
 * (an account name, not a secret: without it ssh would log in as the worker's own user) and loses
 * any password. scp-style `git@host:path` and local paths carry no password and stay as they are.
 */
export function withoutCredentials(url: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (!scheme) return url;
  const rest = url.slice(scheme[0].length);
  const end = rest.search(/[/?#]/);
  const at = (end < 0 ? rest : rest.slice(0, end)).lastIndexOf('@');
  if (at < 0) return url;
  const user = /^(?:git\+)?ssh(?:\+git)?$/i.test(scheme[1]!) ? rest.slice(0, at).split(':')[0]! : '';
  return `${scheme[0]}${user ? `${user}@` : ''}${rest.slice(at + 1)}`;
}
