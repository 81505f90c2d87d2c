import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkPipeline, parsePipeline } from '@cairn/protocol';
import { singleEdit } from '../../../protocol/src/pipeline/incremental.js';
import { generatePipeline } from '../../../bench/lib/generatePipeline.js';
import { prng, sharedSpan, snapshot, sortDiagnostics } from './helpers.js';

const host = { fileExists: () => true };
const recommender = readFileSync(join(__dirname, '../../fixtures/pipelines/valid/recommender.cairn.yaml'), 'utf8');

/** A random small edit: insert, replace or delete a character, or duplicate/delete a line. */
function edit(text: string, rand: () => number): string {
  const pos = Math.floor(rand() * (text.length + 1));
  const r = rand();
  if (r < 0.45) {
    // Mostly letters (the YAML stays valid and the parse incremental), sometimes structure. A replaced character
    // keeps every offset after it: the in-place path of the incremental parse (reparseOne without a shift).
    const chars = rand() < 0.7 ? 'abcxyz_1' : 'ab_:- \n{}[]$#"\'1.';
    const c = chars[Math.floor(rand() * chars.length)];
    return text.slice(0, pos) + c + text.slice(r < 0.25 ? pos : pos + 1);
  }
  if (r < 0.75) return text.slice(0, pos) + text.slice(pos + 1);
  const start = text.lastIndexOf('\n', pos - 1) + 1;
  const endNl = text.indexOf('\n', pos);
  const end = endNl < 0 ? text.length : endNl + 1;
  return r < 0.9
    ? text.slice(0, end) + text.slice(start, end) + text.slice(end)
    : text.slice(0, start) + text.slice(end);
}

for (const [label, base, seed, consume] of [
  ['recommender', recommender, 1, false],
  ['generated 15 steps', generatePipeline(15), 2, false],
  // The language server's way: each parse consumes the last (blocks after a length-changing edit moved in place).
  ['recommender, consuming', recommender, 5, true],
  ['generated 15 steps, consuming', generatePipeline(15), 4, true],
] as const) {
  test(`incremental parse equals a fresh parse over 120 random edits (${label})`, () => {
    const rand = prng(seed);
    let text = base;
    let prev = parsePipeline('p.cairn.yaml', text);
    let incrementalRuns = 0;
    let reusedTotal = 0;
    let syntaxCases = 0;
    let inPlace = 0;
    let moved = 0;
    for (let i = 0; i < 120; i++) {
      // Restart from the base now and then so the text does not drift into noise.
      text = i % 4 === 0 ? base : edit(text, rand);
      const inc = parsePipeline('p.cairn.yaml', text, prev, { consume });
      const fresh = parsePipeline('p.cairn.yaml', text);
      assert.deepEqual(snapshot(inc), snapshot(fresh), `edit ${i}: incremental differs from fresh parse`);
      // The tree itself (every node's offsets: hover, completion and rename read them), and its spans unshared.
      assert.deepEqual(inc.root, fresh.root, `edit ${i}: incremental tree differs from fresh parse`);
      assert.equal(sharedSpan(inc), undefined, `edit ${i}: a span object is shared`);
      if (inc.blocks && singleEdit(inc.blocks) && text.length !== prev.text.length) moved++;
      assert.deepEqual(
        sortDiagnostics(checkPipeline(inc, host)),
        sortDiagnostics(checkPipeline(fresh, host)),
        `edit ${i}: checks differ`,
      );
      if (inc.blocks && singleEdit(inc.blocks)) inPlace++;
      if (inc.mode === 'incremental') {
        incrementalRuns++;
        reusedTotal += inc.reusedBlocks;
        const full = parsePipeline('p.cairn.yaml', text, undefined, { full: true });
        if (inc.diagnostics.some((d) => d.code === 'yaml-syntax')) {
          // Broken YAML: errors stay in their block, where yaml's recovery over the whole text may word them
          // differently; both must report a syntax error and nothing else.
          assert.ok(
            full.diagnostics.some((d) => d.code === 'yaml-syntax'),
            `edit ${i}: the whole-document parse misses the syntax error`,
          );
          syntaxCases++;
        } else {
          // Valid YAML: the block split must agree with yaml's whole-document parse exactly.
          assert.deepEqual(
            snapshot(inc),
            snapshot(full),
            `edit ${i}: block parse differs from the whole-document parse`,
          );
        }
      }
      prev = inc;
    }
    assert.ok(incrementalRuns > 30, `too few incremental parses (${incrementalRuns})`);
    assert.ok(reusedTotal > incrementalRuns, 'blocks were never reused');
    assert.ok(syntaxCases > 0, 'some edits should break the YAML inside one block');
    assert.ok(inPlace > 0, `no edit took the in-place path`);
    if (consume) assert.ok(moved > 10, `too few length-changing edits moved the blocks in place (${moved})`);
    else assert.equal(moved, 0, 'a parse that does not consume its previous one moved blocks in place');
  });
}

test('a one-character edit in a step reparses only that step', () => {
  const text = generatePipeline(100);
  const doc = parsePipeline('g.cairn.yaml', text);
  assert.equal(doc.mode, 'incremental');
  const at = text.indexOf('lr: ${params.lr}');
  const next = text.slice(0, at) + 'x' + text.slice(at);
  const inc = parsePipeline('g.cairn.yaml', next, doc);
  assert.equal(inc.mode, 'incremental');
  assert.equal(inc.reusedBlocks, (doc.blocks?.length ?? 0) - 1);
  const diags = checkPipeline(inc, host);
  assert.deepEqual(
    diags.map((d) => d.code),
    ['unknown-option'],
  );
  assert.equal(inc.text.slice(diags[0]?.span.start, diags[0]?.span.end), 'xlr');
});

test('a YAML error inside one step stays in that block: later edits elsewhere are still incremental', () => {
  const text = generatePipeline(50);
  const at = text.indexOf('    deps: [src/prep.py]');
  const broken = text.slice(0, at) + '    deps: [src/prep.py\n' + text.slice(at + '    deps: [src/prep.py]\n'.length);
  const first = parsePipeline('g.cairn.yaml', broken, parsePipeline('g.cairn.yaml', text));
  assert.equal(first.mode, 'incremental');
  assert.deepEqual(
    first.diagnostics.map((d) => d.code),
    ['yaml-syntax'],
  );
  const later = broken.indexOf('lr: ${params.lr}', broken.length / 2);
  const edited = broken.slice(0, later) + 'x' + broken.slice(later);
  const second = parsePipeline('g.cairn.yaml', edited, first);
  assert.equal(second.mode, 'incremental');
  assert.equal(second.reusedBlocks, (first.blocks?.length ?? 0) - 1);
  // While the YAML is broken only the syntax error is reported (findings on a guessed structure would be noise).
  assert.deepEqual(
    checkPipeline(second, host).map((d) => d.code),
    ['yaml-syntax'],
  );
});

test('in-place edits (characters replaced) parse and check as a fresh parse does, block by block', () => {
  const rand = prng(7);
  const base = generatePipeline(30);
  let text = base;
  let prev = parsePipeline('g.cairn.yaml', text);
  checkPipeline(prev, host);
  let inPlace = 0;
  let revisited = 0;
  for (let i = 0; i < 150; i++) {
    // A letter or digit of the text replaced by another (mostly values: keys, names and references change too).
    let pos = Math.floor(rand() * text.length);
    while (pos < text.length && !/[A-Za-z0-9]/.test(text[pos] ?? '')) pos++;
    const c = 'abx_19'[Math.floor(rand() * 6)] ?? 'a';
    text = i % 30 === 0 ? base : text.slice(0, pos) + c + text.slice(pos + 1);
    const inc = parsePipeline('g.cairn.yaml', text, prev);
    const fresh = parsePipeline('g.cairn.yaml', text);
    assert.deepEqual(snapshot(inc), snapshot(fresh), `edit ${i}: incremental differs from fresh parse`);
    assert.deepEqual(
      sortDiagnostics(checkPipeline(inc, host)),
      sortDiagnostics(checkPipeline(fresh, host)),
      `edit ${i}: checks differ`,
    );
    if (inc.blocks && singleEdit(inc.blocks)) inPlace++;
    if (inc.checkState.lastSteps === 'revisited') revisited++;
    prev = inc;
  }
  assert.ok(inPlace > 60, `too few edits took the in-place path (${inPlace} of 150)`);
  assert.ok(revisited > 30, `too few checks revisited only the affected steps (${revisited} of 150)`);
});
