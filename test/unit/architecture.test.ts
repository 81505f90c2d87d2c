import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

/**
 * The runtime's layout rules (docs/architecture.md): rpc/ is a transport and imports nothing from cli/, and no module
 * of runtime/src imports itself through others (a cycle). Imports are read from the source text: every `import` /
 * `export … from` of a relative module, type-only ones included (a type cycle is still a tangle to read).
 */

const root = path.resolve(__dirname, '../../runtime/src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** `from './x.js'`, `import './x.js'`, `import('./x.js')`: the relative specifiers of one file, resolved to .ts files. */
export function relativeImports(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map(
    (m) => m[1] ?? '',
  );
  return specifiers.map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
}

function graph(): Map<string, string[]> {
  const files = sources(root);
  const known = new Set(files);
  return new Map(files.map((f) => [f, relativeImports(f, readFileSync(f, 'utf8')).filter((t) => known.has(t))]));
}

/** Every cycle's modules (Tarjan's strongly connected components of more than one module, or a self-import). */
export function cycles(edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

const rel = (f: string): string => path.relative(root, f).split(path.sep).join('/');

test('the import reader and the cycle finder see what they must (a planted cycle, a transport importing the CLI)', () => {
  const a = path.join(root, 'x/a.ts');
  const b = path.join(root, 'x/b.ts');
  const c = path.join(root, 'x/c.ts');
  assert.deepEqual(
    relativeImports(
      a,
      "import { b } from './b.js';\nimport type { C } from \"./c.js\";\nexport * from '../y/d.js';\nconst e = await import('./e.js');\nimport { z } from 'zod';",
    ),
    [b, c, path.join(root, 'y/d.ts'), path.join(root, 'x/e.ts')],
  );
  assert.deepEqual(
    cycles(
      new Map([
        [a, [b]],
        [b, [c]],
        [c, [a]],
      ]),
    ),
    [[a, b, c]],
  );
  assert.deepEqual(
    cycles(
      new Map([
        [a, [b]],
        [b, [c]],
        [c, []],
      ]),
    ),
    [],
  );
  assert.deepEqual(cycles(new Map([[a, [a]]])), [[a]]);
});

test('runtime/src has no import cycle', () => {
  const found = cycles(graph()).map((scc) => scc.map(rel).join(' ↔ '));
  assert.deepEqual(found, [], `import cycles in runtime/src:\n${found.join('\n')}`);
});

test('rpc/ is a transport: it imports nothing from cli/', () => {
  const offending = [...graph()]
    .filter(([f]) => rel(f).startsWith('rpc/'))
    .flatMap(([f, targets]) => targets.filter((t) => rel(t).startsWith('cli/')).map((t) => `${rel(f)} → ${rel(t)}`));
  assert.deepEqual(offending, [], `rpc/ imports cli/:\n${offending.join('\n')}`);
});
