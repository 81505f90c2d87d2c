import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { singleEdit } from '../../../protocol/src/pipeline/incremental.js';
import { checkPipeline, parsePipeline, type PipelineDocument } from '@cairn/protocol';
import { generatePipeline } from '../../../bench/lib/generatePipeline.js';
import { prng, snapshot, sortDiagnostics } from './helpers.js';

/**
 * Equivalence of the incremental check with a fresh one over semantic edits: the step-local findings are cached per
 * block and reused while what they read (params, references) still answers the same, so edits that change what other
 * steps read (a param's value or type, a renamed or removed step, data or output) must invalidate exactly those.
 */

// Some files exist, some do not: missing-file findings take part too; an edit can delete or restore one (the reused
// cross-step findings must follow the host's answers, not only the text).
const deleted = new Set<string>();
const host = { fileExists: (p: string) => !p.includes('7') && !deleted.has(p) };

type Edit = (text: string, rand: () => number) => string;
const pick = <T>(xs: readonly T[], rand: () => number): T | undefined => xs[Math.floor(rand() * xs.length)];

/** Replaces the `n`-th (random) match of `re` in `text` by `by(match)`; the text unchanged when nothing matches. */
function replaceOne(text: string, re: RegExp, by: (m: RegExpMatchArray) => string, rand: () => number): string {
  const all = [...text.matchAll(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g'))];
  const m = pick(all, rand);
  if (!m || m.index === undefined) return text;
  return text.slice(0, m.index) + by(m) + text.slice(m.index + m[0].length);
}

const edits: Array<[string, Edit]> = [
  [
    'param value',
    (t, r) =>
      replaceOne(
        t,
        /^ {2}(lr|epochs|seed|test_fraction): .*$/m,
        (m) => `  ${m[1]}: ${pick(['0.5', '3', 'abc', 'true', '[1]'], r)}`,
        r,
      ),
  ],
  [
    'param type',
    (t, r) => replaceOne(t, /^ {4}type: float$/m, () => `    type: ${pick(['int', 'string', 'bool', 'float'], r)}`, r),
  ],
  ['param removed', (t, r) => replaceOne(t, /^ {2}(lr|epochs|test_fraction): .*\n/m, () => '', r)],
  ['param renamed', (t, r) => replaceOne(t, /^ {2}(lr|epochs|seed): /m, (m) => `  ${m[1]}x: `, r)],
  ['data renamed', (t, r) => replaceOne(t, /^ {2}raw: /m, () => `  raw${pick(['', '2'], r)}: `, r)],
  [
    'step renamed',
    (t, r) =>
      replaceOne(t, /^ {2}((prep|split|fx|train|eval)_\d+):$/m, (m) => `  ${m[1]}${pick(['x', '', '_b'], r)}:`, r),
  ],
  ['step removed', (t, r) => replaceOne(t, /^ {2}(split|fx|eval)_\d+:\n(?: {4}.*\n)+/m, () => '', r)],
  [
    'output renamed',
    (t, r) => replaceOne(t, /outputs: \{ table: /, () => `outputs: { ${pick(['tab', 'table'], r)}: `, r),
  ],
  [
    'needs added',
    (t, r) =>
      replaceOne(
        t,
        /^ {2}(prep_\d+):\n/m,
        () => `  prep_${Math.floor(r() * 4)}:\n    needs: [${pick(['eval_1', 'train_0', 'prep_2', 'nope'], r)}]\n`,
        r,
      ),
  ],
  ['needs removed', (t, r) => replaceOne(t, /^ {4}needs: .*\n/m, () => '', r)],
  [
    'option type',
    (t, r) =>
      replaceOne(
        t,
        /^ {6}(target|epochs): .*$/m,
        (m) =>
          `      ${m[1]}: ${pick(['[1]', '${params.lr}', '${params.nope}', 'label', '${steps.fx_0.outputs.data}', '${steps.prep_1.outputs.table}'], r)}`,
        r,
      ),
  ],
  // Numbers where only step-local checks read them (options, gates, resources, params): the cross-step findings are
  // reused and moved, also when the number's length changes what follows it.
  [
    'number in a step',
    (t, r) =>
      replaceOne(
        t,
        /(min: |cpu: |memory: )(\S+?)( \}|,)/,
        (m) => `${m[1]}${pick(['0.75', '3', '0.7', '12', 'x', 'true'], r)}${m[3]}`,
        r,
      ),
  ],
  // Same-length edits: the block is parsed again in place and only the steps the edit can affect are checked again.
  [
    'param value in place',
    (t, r) =>
      replaceOne(
        t,
        /^ {2}(lr: 0\.0\d|seed: \d\d|test_fraction: 0\.\d)$/m,
        (m) => m[0].slice(0, -1) + (pick([...'0123456789'], r) ?? '1'),
        r,
      ),
  ],
  [
    'char replaced',
    (t, r) => {
      const pos = Math.floor(r() * t.length);
      return t.slice(0, pos) + (pick([...'abx_1:- {'], r) ?? 'a') + t.slice(pos + 1);
    },
  ],
  [
    'param number',
    (t, r) => replaceOne(t, /^ {2}(seed|epochs): \d+$/m, (m) => `  ${m[1]}: ${pick(['4242', '7', '1'], r)}`, r),
  ],
  [
    'threshold default',
    (t, r) => replaceOne(t, /^ {4}default: .*$/m, () => `    default: ${pick(['0.65', '1', '0.7'], r)}`, r),
  ],
  [
    'file deleted or restored',
    (t, r) => {
      const f = pick(['src/prep.py', 'data/raw.csv'], r) ?? '';
      if (deleted.has(f)) deleted.delete(f);
      else deleted.add(f);
      return t;
    },
  ],
  [
    'yaml broken',
    (t, r) =>
      replaceOne(t, /deps: \[src\/prep\.py\]/, () => pick(['deps: [src/prep.py', 'deps: [src/prep.py]'], r) ?? '', r),
  ],
  [
    'char',
    (t, r) => {
      const pos = Math.floor(r() * (t.length + 1));
      return r() < 0.5
        ? t.slice(0, pos) + (pick([...'ab_:- \n{'], r) ?? '') + t.slice(pos)
        : t.slice(0, pos) + t.slice(pos + 1);
    },
  ],
];

for (const consume of [false, true])
  test(`incremental check equals a fresh check over 400 random semantic edits (seeded${consume ? ', each parse consuming the last' : ''})`, () => {
    deleted.clear();
    const rand = prng(15);
    const base = generatePipeline(12);
    let text = base;
    let prev: PipelineDocument = parsePipeline('g.cairn.yaml', text);
    checkPipeline(prev, host);
    const seen = new Set<string>();
    let reusedChecks = 0;
    let reusedCross = 0;
    let revisited = 0;
    let moved = 0;
    for (let i = 0; i < 400; i++) {
      const [name, edit] = pick(edits, rand) ?? edits[0]!;
      // Restart from the base now and then so the text does not drift into noise.
      text = i % 25 === 0 ? base : edit(text, rand);
      const inc = parsePipeline('g.cairn.yaml', text, prev, { consume });
      // Fresh: no previous parse, so no cached block and no cached check (on broken YAML the whole-text parse may word
      // its syntax errors differently: incremental.test.ts covers the block split against it).
      const fresh = parsePipeline('g.cairn.yaml', text);
      const incFindings = sortDiagnostics(checkPipeline(inc, host));
      const freshFindings = sortDiagnostics(checkPipeline(fresh, host));
      assert.deepEqual(
        incFindings,
        freshFindings,
        `edit ${i} (${name}): incremental findings differ from a fresh check`,
      );
      assert.deepEqual(
        snapshot(inc),
        snapshot(fresh),
        `edit ${i} (${name}): incremental symbols differ from a fresh parse`,
      );
      if (!incFindings.some((d) => d.code === 'yaml-syntax')) {
        const full = parsePipeline('g.cairn.yaml', text, undefined, { full: true });
        assert.deepEqual(
          incFindings,
          sortDiagnostics(checkPipeline(full, host)),
          `edit ${i} (${name}): differs from a full check`,
        );
      }
      if (inc.mode === 'incremental') reusedChecks += inc.reusedBlocks;
      if (inc.checkState.lastCross === 'reused') reusedCross++;
      if (inc.checkState.lastSteps === 'revisited') revisited++;
      if (consume) {
        assert.deepEqual(inc.root, fresh.root, `edit ${i} (${name}): incremental tree differs from a fresh parse`);
        if (inc.blocks && singleEdit(inc.blocks) && text.length !== prev.text.length) moved++;
      }
      for (const d of incFindings) seen.add(d.code);
      prev = inc;
    }
    assert.ok(reusedChecks > 400, `blocks (and their cached checks) were rarely reused (${reusedChecks})`);
    assert.ok(reusedCross > 40, `the cross-step findings were rarely reused (${reusedCross} of 400 edits)`);
    if (consume) assert.ok(moved > 20, `too few length-changing edits moved the blocks in place (${moved})`);
    assert.ok(revisited > 8, `the checks rarely revisited only the affected steps (${revisited} of 400 edits)`);
    // The edits reach the findings the cache must invalidate.
    for (const code of ['unknown-param', 'unknown-step', 'option-type', 'yaml-syntax'])
      assert.ok(seen.has(code), `no edit produced ${code}`);
  });
