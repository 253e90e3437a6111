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

/**
 * A key whose plain string order (`<`) is the collation order of printable-ASCII names: primary
 * weights, a separator below them all, then the case of each character. Undefined for other names.
 */
export function asciiSortKey(name: string): string | undefined {
  const n = name.length;
  // Char codes into one array, one string at the end (not two strings grown a character at a time).
  const codes = n <= 200 ? SCRATCH : new Array<number>(2 * n + 1);
  codes.length = 2 * n + 1;
  codes[n] = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    const p = c < 128 ? PRIMARY[c]! : -1;
    if (p < 0) return undefined;
    codes[i] = 33 + p;
    codes[n + 1 + i] = c >= 65 && c <= 90 ? 49 : 48; // '1' after '0': upper case after lower case
  }
  return String.fromCharCode.apply(null, codes);
}

const SCRATCH: number[] = [];

let collator: Intl.Collator | undefined;

/**
 * Sort `items` by `first`, then by name as localeCompare orders names, each name keyed once (not
 * once a comparison). `rootLike` (see isRootLikeLocale): ASCII names by their key, without ICU.
 */
export function sortByName<T>(items: T[], nameOf: (item: T) => string, rootLike: boolean, first: (a: T, b: T) => number = () => 0): T[] {
  const keyed = items.map((item) => {
    const name = nameOf(item);
    return { item, name, key: rootLike ? asciiSortKey(name) : undefined };
  });
  keyed.sort((a, b) => first(a.item, b.item) || (a.key !== undefined && b.key !== undefined ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : (collator ??= new Intl.Collator()).compare(a.name, b.name)));
  return keyed.map((k) => k.item);
}

/** Whether the locale ICU picks from the environment collates ASCII like the root table. */
export function isRootLikeLocale(env: Record<string, string | undefined>): boolean {
  const lang = env.LC_ALL || env.LC_COLLATE || env.LANG || '';
  return lang === '' || /^(C|POSIX|en)([._@-]|$)/i.test(lang);
}
