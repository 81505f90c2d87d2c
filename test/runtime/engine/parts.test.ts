import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMetricLine } from '../../../runtime/src/executor/commandStep.js';
import { makeRedactor } from '../../../runtime/src/executor/redact.js';
import { lttbIndices } from '../../../runtime/src/util/downsample.js';
import { resolveInside } from '../../../runtime/src/util/paths.js';
import { stableStringify } from '../../../runtime/src/util/hash.js';

test('marked metric lines: several metrics, optional step, clear errors', () => {
  assert.deepEqual(parseMetricLine('::cairn-metric loss=0.31 acc=0.9 step=3'), {
    metrics: [
      { key: 'loss', value: 0.31 },
      { key: 'acc', value: 0.9 },
    ],
    step: 3,
  });
  assert.equal(parseMetricLine('epoch 3 loss=0.3'), undefined);
  assert.match(parseMetricLine('::cairn-metric loss=abc')?.error ?? '', /loss=abc is not a finite number/);
  assert.match(parseMetricLine('::cairn-metric loss')?.error ?? '', /'loss' is not key=value/);
  assert.match(parseMetricLine('::cairn-metric step=2')?.error ?? '', /no metric on the line/);
});

test('secrets are redacted wherever they appear, longest first', () => {
  const redact = makeRedactor(['abc', 'abcdef', '', 42]);
  assert.equal(redact('token abcdef and abc and 42'), 'token *** and *** and ***');
  assert.equal(makeRedactor([])('plain'), 'plain');
});

test('paths outside the root are refused, inside accepted', () => {
  assert.equal(resolveInside('/ws', 'a/../b.txt', 'x'), '/ws/b.txt');
  assert.throws(() => resolveInside('/ws', '../b.txt', "output 'o'"), /output 'o' leaves the workspace \/ws/);
  assert.throws(() => resolveInside('/ws', '/etc/passwd', 'dep'), /leaves the workspace/);
  assert.throws(() => resolveInside('/ws', '/ws-other/x', 'dep'), /leaves the workspace/);
});

test('stable JSON ignores key order', () => {
  assert.equal(
    stableStringify({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } }),
    stableStringify({ a: { c: null, d: [2, { e: 0, f: 1 }] }, b: 1 }),
  );
});

test('LTTB keeps the ends and a lone spike, and returns the requested count', () => {
  const n = 10_000;
  const xs = Float64Array.from({ length: n }, (_, i) => i);
  const ys = Float64Array.from({ length: n }, (_, i) => (i === 7777 ? 100 : Math.cos(i / 500)));
  const idx = lttbIndices(xs, ys, 200);
  assert.equal(idx.length, 200);
  assert.equal(idx[0], 0);
  assert.equal(idx.at(-1), n - 1);
  assert.ok(idx.includes(7777));
  assert.deepEqual(lttbIndices(xs.subarray(0, 5), ys.subarray(0, 5), 10), [0, 1, 2, 3, 4]);
});
