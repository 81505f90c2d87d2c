import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { modelCardService } from '../../../language-server/src/services/modelCard/index.js';
import type { WorkspaceHost } from '../../../language-server/src/services/types.js';
import { seededRandom } from '../../../runtime/src/util/prng.js';

const rng = seededRandom;

const pieces = [
  '---\n',
  '\n',
  '\r\n',
  '# ',
  '## ',
  '===\n',
  '---',
  ':',
  ': ',
  '- ',
  '  ',
  '\t',
  '[',
  ']',
  '{',
  '}',
  '{{ x }}',
  '<!--',
  '-->',
  '```\n',
  '~~~',
  '&a ',
  '*a',
  '!!binary ',
  '"',
  "'",
  '|',
  '>',
  'license: other\n',
  'cairn:\n  personal_data: true\n',
  'model-index:\n- results:\n  - metrics:\n    - type: f1\n',
  '\u0000',
  '\uFEFF',
  '\uD800',
  'é',
  '[More Information Needed]',
  'TODO',
  '...\n',
];

function mutate(text: string, next: () => number): string {
  let t = text;
  const edits = 1 + Math.floor(next() * 6);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(next() * (t.length + 1));
    const op = next();
    if (op < 0.4) t = t.slice(0, at) + (pieces[Math.floor(next() * pieces.length)] ?? '') + t.slice(at);
    else if (op < 0.7) t = t.slice(0, at) + t.slice(Math.min(t.length, at + 1 + Math.floor(next() * 40)));
    else if (op < 0.85) {
      const from = Math.floor(next() * t.length);
      t = t.slice(0, at) + t.slice(from, from + Math.floor(next() * 60)) + t.slice(at);
    } else t = t.slice(0, at) + String.fromCharCode(Math.floor(next() * 0x3000)) + t.slice(at);
  }
  return t;
}

const root = path.resolve(__dirname, '../../fixtures/cards');
const seeds = ['valid', 'broken', 'complete'].flatMap((d) =>
  readdirSync(path.join(root, d))
    .filter((f) => f.endsWith('.md'))
    .map((f) => readFileSync(path.join(root, d, f), 'utf8')),
);

const host: WorkspaceHost = {
  fileExists: (f) => f.endsWith('cairn.yaml'),
  readText: (f) => (f.endsWith('cairn.yaml') ? 'data:\n  d:\n    schema:\n      email: {pii: true}\n' : undefined),
  pipelinesNamingCard: () => [],
  trackedMetrics: () => ({ accuracy: 0.5, f1: 0.4 }),
};

// A hang, not a speed target (speed lives in bench/): generous for a loaded 2-core CI machine.
const HANG_MS = 5000;

test('fuzz: 400 seeded mutations of the card corpus never throw, stay in bounds, and take under 1 s each', () => {
  const next = rng(20260523);
  let slowest = 0;
  for (let i = 0; i < 400; i++) {
    const seed = seeds[i % seeds.length] ?? '';
    const text = mutate(seed, next);
    const started = performance.now();
    const doc = modelCardService.parse('/fuzz/MODEL_CARD.md', text);
    const diags = modelCardService.diagnostics(doc, host);
    for (const d of diags) {
      assert.ok(
        d.span.start >= 0 && d.span.start <= d.span.end && d.span.end <= text.length,
        `mutant ${i}: ${d.code} span out of bounds`,
      );
      assert.ok(!d.message.includes('NaN') && !d.message.includes('undefined'), `mutant ${i}: ${d.message}`);
      for (const f of d.fixes ?? [])
        assert.ok(f.span.start >= 0 && f.span.end <= text.length && f.span.start <= f.span.end);
    }
    for (let k = 0; k < 3; k++) {
      const offset = Math.floor(next() * (text.length + 1));
      modelCardService.completions(doc, offset, host);
      modelCardService.hover(doc, offset, host);
      modelCardService.definition(doc, offset, host);
    }
    modelCardService.symbols(doc);
    modelCardService.dependencies(doc, host);
    const ms = performance.now() - started;
    slowest = Math.max(slowest, ms);
    assert.ok(ms < HANG_MS, `mutant ${i} took ${ms.toFixed(0)} ms`);
  }
  assert.ok(slowest < HANG_MS);
});

test('fuzz: a 5 MB card stays linear (under 10 s even on a loaded CI machine) and deep nesting stays fast', () => {
  const big = `---\nlicense: mit\n---\n${'## Section\n\nSome text with [More Information Needed] and <!-- x -->.\n\n'.repeat(70_000)}`;
  let started = performance.now();
  const doc = modelCardService.parse('/fuzz/big.modelcard.md', big);
  modelCardService.diagnostics(doc, host);
  modelCardService.symbols(doc);
  assert.ok(performance.now() - started < 10_000, `5 MB card took ${(performance.now() - started).toFixed(0)} ms`);
  const deep = `---\ncairn: ${'['.repeat(2000)}${']'.repeat(2000)}\n---\n`;
  started = performance.now();
  modelCardService.diagnostics(modelCardService.parse('/fuzz/deep.modelcard.md', deep), host);
  assert.ok(performance.now() - started < HANG_MS);
});
