// The layers hold: `cli → service → engine components → engine → runs → domain + vault + agents →
// config, log, os`. Nothing imports upward, peers (vault/agents; executor/orchestrator/watchdog/
// dashboard) do not reach into each other, and the domain stays pure. Parses every import of src/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/** [path prefix under src/, rank, group]. Higher ranks may import lower ones; equal ranks only within their own group. */
const LAYERS: [string, number, string][] = [
  ['config/', 0, 'base'],
  ['log/', 0, 'base'],
  ['os/', 0, 'base'],
  ['clock.ts', 0, 'base'],
  ['errors.ts', 0, 'base'],
  ['fault.ts', 0, 'base'],
  ['domain/', 1, 'domain'],
  ['vault/', 2, 'vault'],
  ['agents/', 2, 'agents'],
  ['workspace/', 2, 'workspace'],
  ['notify/', 2, 'notify'],
  ['runs/', 3, 'runs'],
  ['lifecycle/', 3, 'lifecycle'], // re-exports kept for branches written against the old paths
  ['engine/', 4, 'engine'],
  ['queue/', 4, 'queue'],
  ['executor/', 5, 'executor'],
  ['orchestrator/', 5, 'orchestrator'],
  ['watchdog/', 5, 'watchdog'],
  ['dashboard/', 5, 'dashboard'],
  ['service/', 6, 'service'],
  ['cli/', 7, 'cli'],
  ['cli.ts', 7, 'cli'],
  ['web/', 6.5, 'web'], // the CLI starts the web view beside the service
];
/** The CLI reaches engine components only through the service. */
const CLI_MAY_NOT = new Set(['executor', 'orchestrator', 'watchdog']);
/** What the pure domain may import besides itself. */
const DOMAIN_MAY = new Set(['config/duration.ts', 'config/permission-modes.ts', 'zod', 'node:path']);

function layerOf(file: string): { rank: number; group: string } | undefined {
  const hit = LAYERS.find(([prefix]) => file === prefix || file.startsWith(prefix));
  return hit ? { rank: hit[1], group: hit[2] } : undefined;
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listTs(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Imports of one source file: src-relative `.ts` paths for relative ones, bare names otherwise. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = (m[1] ?? m[2])!;
    out.push(spec.startsWith('.') ? normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts') : spec);
  }
  return out;
}

export function violations(graph: Map<string, string[]>): string[] {
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    const from = layerOf(file);
    if (!from) {
      bad.push(`${file}: in no layer (add its folder to LAYERS)`);
      continue;
    }
    for (const dep of deps) {
      if (from.group === 'domain') {
        if (!dep.startsWith('domain/') && !DOMAIN_MAY.has(dep)) bad.push(`${file} → ${dep}: the domain is pure (no I/O, no other layers)`);
        continue;
      }
      if (!dep.endsWith('.ts')) continue; // a package or node: builtin
      const to = layerOf(dep);
      if (!to) continue;
      if (to.rank > from.rank) bad.push(`${file} → ${dep}: imports upward (${from.group} → ${to.group})`);
      else if (to.rank === from.rank && to.group !== from.group) bad.push(`${file} → ${dep}: peers do not reach into each other (${from.group} → ${to.group})`);
      else if (from.group === 'cli' && CLI_MAY_NOT.has(to.group)) bad.push(`${file} → ${dep}: the CLI reaches ${to.group} only through the service`);
    }
  }
  return bad;
}

function srcGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const abs of listTs(SRC)) {
    const file = relative(SRC, abs).split('\\').join('/');
    graph.set(file, importsOf(file, readFileSync(abs, 'utf8')));
  }
  return graph;
}

describe('dependency direction', () => {
  it('no import in src/ runs upward or sideways between peers', () => {
    const graph = srcGraph();
    expect(graph.size).toBeGreaterThan(50);
    expect(violations(graph)).toEqual([]);
  });

  it('the domain has no timers and reads no clock', () => {
    for (const abs of listTs(join(SRC, 'domain'))) {
      const text = readFileSync(abs, 'utf8').replace(/\/\/.*$/gm, '');
      expect(text, abs).not.toMatch(/\b(setTimeout|setInterval|setImmediate|Date\.now|process\.)/);
    }
  });

  it('catches an upward, a sideways and an impure import (the check can fail)', () => {
    const graph = new Map([
      ['vault/x.ts', ['engine/transition.ts']],
      ['executor/y.ts', ['watchdog/watchdog.ts']],
      ['domain/z.ts', ['node:fs']],
      ['cli/commands/w.ts', ['executor/executor.ts']],
      ['config/config.ts', ['agents/agent.ts']],
    ]);
    expect(violations(graph)).toHaveLength(5);
  });

  it('parses static, re-export and dynamic imports', () => {
    const text = "import a from './a.js';\nimport type { B } from '../b/b.js';\nexport * from '../c.js';\nconst d = await import('./d.js');\nimport { z } from 'zod';\n";
    expect(importsOf('engine/x.ts', text)).toEqual(['engine/a.ts', 'b/b.ts', 'c.ts', 'engine/d.ts', 'zod']);
  });
});
