// A queue URL for logs and banners, without loading the Redis client (start prints it).

/** The URL with any password replaced, for logs and banners. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_m, cred: string) => `//${cred.includes(':') ? `${cred.split(':')[0]}:***` : '***'}@`);
}
