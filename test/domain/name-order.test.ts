// The ASCII fast path of name ordering against the real thing, Intl.Collator (ICU), on many names.
import { describe, expect, it } from 'vitest';
import { asciiSortKey, isRootLikeLocale, sortByName } from '../../src/domain/name-order.js';

const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const common = 'abcxyzABCXYZ0129-_ .';

function rand(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

describe('ASCII names ordered by their key', () => {
  const icu = new Intl.Collator().compare;
  // The key's order where both names have one (ASCII), else ICU's: what sortByName does.
  const fast = (a: string, b: string) => {
    const [ka, kb] = [asciiSortKey(a), asciiSortKey(b)];
    return ka !== undefined && kb !== undefined ? (ka < kb ? -1 : ka > kb ? 1 : 0) : icu(a, b);
  };

  it('orders every pair of single printable characters as ICU does', () => {
    for (const a of printable) for (const b of printable) expect([a, b, Math.sign(fast(a, b))]).toEqual([a, b, Math.sign(icu(a, b))]);
  });

  it('orders 20,000 random pairs of names (shared prefixes, case, punctuation, non-ASCII) as ICU does', () => {
    const r = rand(42);
    const pick = (s: string) => s[Math.floor(r() * s.length)]!;
    const name = () => {
      const len = 1 + Math.floor(r() * 8);
      let s = '';
      for (let i = 0; i < len; i++) s += r() < 0.8 ? pick(common) : r() < 0.9 ? pick(printable) : pick('éÅßü中');
      return s;
    };
    for (let i = 0; i < 20_000; i++) {
      const a = name();
      // Half the time a near neighbour of a: same text with one change, or a different case.
      const b = r() < 0.5 ? name() : r() < 0.5 ? a.toUpperCase() : a.slice(0, -1) + pick(common);
      expect([a, b, Math.sign(fast(a, b))]).toEqual([a, b, Math.sign(icu(a, b))]);
    }
  });

  it('sorts a list of task names exactly as localeCompare does', () => {
    const names = ['task-10', 'Task-2', 'task-2', 'task_1', 'task 1', 'a.b', 'A', 'a', 'zeta', 'Zeta', 'ÿ', 'é', 'e', 'f', '2024-01-01 notes', '#7 fix'];
    expect(sortByName([...names], (n) => n, true)).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });

  it('trusts the table only for root-like locales', () => {
    expect(isRootLikeLocale({})).toBe(true);
    expect(isRootLikeLocale({ LANG: 'C.UTF-8' })).toBe(true);
    expect(isRootLikeLocale({ LANG: 'en_GB.UTF-8' })).toBe(true);
    expect(isRootLikeLocale({ LANG: 'da_DK.UTF-8' })).toBe(false);
    expect(isRootLikeLocale({ LANG: 'en_US.UTF-8', LC_ALL: 'sv_SE.UTF-8' })).toBe(false);
    expect(isRootLikeLocale({ LC_COLLATE: 'de_DE', LANG: 'en_US' })).toBe(false);
  });
});

describe('asciiSortKey and sortByName', () => {
  it('keys order like ICU, and sortByName matches localeCompare with a tie-breaker first', () => {
    const r = rand(7);
    const pick = (s: string) => s[Math.floor(r() * s.length)]!;
    const names = Array.from({ length: 3000 }, () => Array.from({ length: 1 + Math.floor(r() * 7) }, () => (r() < 0.85 ? pick(common) : r() < 0.9 ? pick(printable) : pick('éÅ中'))).join(''));
    const icu = new Intl.Collator().compare;
    for (let i = 0; i + 1 < names.length; i += 2) {
      const [a, b] = [asciiSortKey(names[i]!), asciiSortKey(names[i + 1]!)];
      if (a !== undefined && b !== undefined) expect([names[i], names[i + 1], Math.sign(a < b ? -1 : a > b ? 1 : 0)]).toEqual([names[i], names[i + 1], Math.sign(icu(names[i]!, names[i + 1]!))]);
    }
    const items = names.map((name, i) => ({ name, group: i % 3 }));
    const byGroup = (a: { group: number }, b: { group: number }) => a.group - b.group;
    const expected = [...items].sort((a, b) => byGroup(a, b) || a.name.localeCompare(b.name));
    expect(sortByName(items, (x) => x.name, true, byGroup).map((x) => x.name)).toEqual(expected.map((x) => x.name));
    expect(sortByName(items, (x) => x.name, false, byGroup).map((x) => x.name)).toEqual(expected.map((x) => x.name));
  });
});
