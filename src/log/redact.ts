// Secrets never reach a log line. pino's own `redact` with wildcard paths (`*.env`) cloned every
// object logged, the service's largest single allocation in a burst (~70 KB a task); this copies
// only an object that holds one of these keys, at the top level or one level down: the same places
// the paths covered. Runs as pino's `formatters.log`, before its serializers (so an `err` holding
// one keeps its class, message and stack for the error serializer).

/** Keys whose values are never logged, at the top level of a log object or one level down. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['env', 'apiKey', 'token', 'authorization', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN']);

export const CENSOR = '[redacted]';

/** The log object with every secret replaced by CENSOR; the object itself when it holds none. */
export function redactSecrets(obj: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) continue;
    if (SECRET_KEYS.has(key)) {
      (out ??= { ...obj })[key] = CENSOR;
      continue;
    }
    const v = obj[key];
    if (v !== null && typeof v === 'object' && holdsSecret(v)) (out ??= { ...obj })[key] = censored(v);
  }
  return out ?? obj;
}

function holdsSecret(v: object): boolean {
  for (const k of SECRET_KEYS) if (Object.hasOwn(v, k)) return true;
  return false;
}

/** A copy of `v` with its secrets censored: same prototype and own properties, enumerable or not. */
function censored(v: object): object {
  const copy: object = Array.isArray(v) ? [...(v as unknown[])] : Object.create(Object.getPrototypeOf(v) as object | null, Object.getOwnPropertyDescriptors(v));
  for (const k of SECRET_KEYS) if (Object.hasOwn(v, k)) Object.defineProperty(copy, k, { value: CENSOR, enumerable: true, writable: true, configurable: true });
  return copy;
}
