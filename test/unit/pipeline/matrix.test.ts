import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  checkPipeline,
  expandMatrix,
  gridValues,
  matrixSchema,
  PipelineCode,
  type CairnDiagnostic,
} from '@cairn/protocol';
import { parse } from './helpers.js';

function withMatrix(matrix: string): string {
  return `version: 1
params:
  lr: 0.01
  factors: 16
steps:
  train:
    run: python train.py --lr \${params.lr} --factors \${params.factors}
${matrix}`;
}

function findings(text: string): Array<{ at: string; code: string; message: string; fix?: string }> {
  const doc = parse(text);
  return checkPipeline(doc, { fileExists: () => true })
    .filter((d: CairnDiagnostic) => d.severity === 1)
    .map((d) => {
      const r = doc.lines.rangeOf(d.span);
      const fix = d.fixes?.[0]?.newText;
      return { at: `${r.start.line}:${r.start.character}`, code: d.code, message: d.message, ...(fix ? { fix } : {}) };
    });
}

test('a grid runs every combination, the first param varying slowest', () => {
  assert.deepEqual(expandMatrix({ params: { lr: [0.1, 0.2], factors: [8, 16, 32] } }), [
    { lr: 0.1, factors: 8 },
    { lr: 0.1, factors: 16 },
    { lr: 0.1, factors: 32 },
    { lr: 0.2, factors: 8 },
    { lr: 0.2, factors: 16 },
    { lr: 0.2, factors: 32 },
  ]);
  assert.deepEqual(gridValues('0.001, 0.01,adam'), [0.001, 0.01, 'adam']);
});

test('a random search draws the same values for the same seed, inside the bounds', () => {
  const m = matrixSchema.parse({
    random: {
      n: 50,
      seed: 1,
      params: { lr: { log_uniform: [1e-4, 1e-1] }, factors: { choice: [8, 16, 32] }, k: { int_uniform: [1, 3] } },
    },
  });
  const a = expandMatrix(m);
  assert.deepEqual(expandMatrix(m), a);
  assert.notDeepEqual(expandMatrix({ ...m, random: { ...m.random!, seed: 2 } }), a);
  assert.equal(a.length, 50);
  for (const c of a) {
    assert.ok(typeof c.lr === 'number' && c.lr >= 1e-4 && c.lr <= 1e-1, String(c.lr));
    assert.ok([8, 16, 32].includes(c.factors as number));
    assert.ok([1, 2, 3].includes(c.k as number));
  }
  // Draws spread over the log scale: some below 1e-3, some above 1e-2.
  assert.ok(a.some((c) => (c.lr as number) < 1e-3) && a.some((c) => (c.lr as number) > 1e-2));
  // Random draws × a grid: each draw with every grid point.
  assert.equal(
    expandMatrix({ params: { factors: [8, 16] }, random: { n: 3, params: { lr: { uniform: [0, 1] } } } }).length,
    6,
  );
});

test('the language checks matrix: its shape with ranges, swept params it does not declare, a misspelt key', () => {
  assert.deepEqual(findings(withMatrix('matrix:\n  params:\n    lr: [0.001, 0.01]\n')), []);
  const typo = findings(withMatrix('matrix:\n  params:\n    lrr: [0.001]\n'));
  assert.deepEqual(
    typo.map((f) => [f.at, f.code, f.fix]),
    [['9:4', PipelineCode.unknownParam, 'lr']],
  );
  assert.match(typo[0]?.message ?? '', /sweeps 'lrr', which is not a param.*did you mean 'lr'/);
  const randomTypo = findings(withMatrix('matrix:\n  random:\n    n: 4\n    params:\n      factor: { choice: [8] }\n'));
  assert.deepEqual(
    randomTypo.map((f) => [f.at, f.fix]),
    [['11:6', 'factors']],
  );
  const badBound = findings(
    withMatrix('matrix:\n  random:\n    n: 4\n    params:\n      lr: { log_uniform: [0, 1] }\n'),
  );
  assert.equal(badBound.length, 1);
  assert.match(badBound[0]?.message ?? '', /above 0/);
  const badN = findings(withMatrix('matrix:\n  random:\n    n: 0\n    params: {}\n'));
  assert.equal(badN.length, 1);
  assert.equal(badN[0]?.at, '9:7');
  const key = findings(withMatrix('matrx:\n  params: {}\n'));
  assert.deepEqual(
    key.map((f) => [f.at, f.code, f.fix]),
    [['7:0', PipelineCode.unknownKey, 'matrix']],
  );
});
