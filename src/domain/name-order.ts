// Task names in the order String#localeCompare gives them, without ICU for plain ASCII names. The
// first collation in a process loads ICU's data (~18 ms, a tenth of a `list` of 2,000 tasks);
// nearly every name is printable ASCII, and for those the default (CLDR root) collation is a
// fixed table: punctuation, digits, letters, case ignored first and lower case before upper after.
// test/domain/name-order.test.ts checks it against Intl.Collator. Pure.

// Characters of equal primary weight, in collation order (from Intl.Collator, CLDR root).
const GROUPS = [' ', '_', '-', ',', ';', ':', '!', '?', '.', "'", '"', '(', ')', '[', ']', '{', '}', '@', '*', '/', '\\', '&', '#', '%', '`', '^', '+', '<', '=', '>', '|', '~', '$',
  '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'aA', 'bB', 'cC', 'dD', 'eE', 'fF', 'gG', 'hH', 'iI', 'jJ', 'kK', 'lL', 'mM', 'nN', 'oO', 'pP', 'qQ', 'rR', 'sS', 'tT', 'uU', 'vV', 'wW', 'xX', 'yY', 'zZ'];

const PRIMARY = new Int16Array(128).fill(-1);
GROUPS.forEach((g, i) => {
  for (const ch of g) PRIMARY[ch.charCodeAt(0)] = i;
});

/** Compare printable-ASCII names as the root collation does; undefined when either has another character. */
function compareAscii(a: string, b: string): number | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    const pa = ca < 128 ? PRIMARY[ca]! : -1;
    const pb = cb < 128 ? PRIMARY[cb]! : -1;
    if (pa < 0 || pb < 0) return undefined;
    if (pa !== pb) return pa - pb;
  }
  for (let i = n; i < a.length; i++) if (a.charCodeAt(i) >= 128 || PRIMARY[a.charCodeAt(i)]! < 0) return undefined;
  for (let i = n; i < b.length; i++) if (b.charCodeAt(i) >= 128 || PRIMARY[b.charCodeAt(i)]! < 0) return undefined;
  if (a.length !== b.length) return a.length - b.length;
  // Equal but for case: the first difference decides, lower case first.
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) return ca > cb ? -1 : 1; // 'a' (97) before 'A' (65)
  }
  return 0;
}

let collator: Intl.Collator | undefined;

/**
 * `rootLike`: the process's collation locale is the root/English one the table is taken from
 * (other locales order even ASCII differently, e.g. Danish `aa`); otherwise ICU decides.
 */
export function nameOrder(rootLike: boolean): (a: string, b: string) => number {
  return (a, b) => (rootLike ? compareAscii(a, b) : undefined) ?? (collator ??= new Intl.Collator()).compare(a, b);
}

/** Whether the locale ICU picks from the environment collates ASCII like the root table. */
export function isRootLikeLocale(env: Record<string, string | undefined>): boolean {
  const lang = env.LC_ALL || env.LC_COLLATE || env.LANG || '';
  return lang === '' || /^(C|POSIX|en)([._@-]|$)/i.test(lang);
}
