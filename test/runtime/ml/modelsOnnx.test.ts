import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPredictor, OnnxModelError } from '../../../runtime/src/ml/models/index.js';
import {
  AttributeType,
  DataType,
  encodeModel,
  type ModelMsg,
  type NodeMsg,
  type ValueInfoMsg,
} from '../../../runtime/src/ml/onnx/schema.js';
import { floatTensorProto } from '../../../runtime/src/ml/onnx/tensor.js';
import { applyEncoding, EncodingError, fitEncoding } from '../../../runtime/src/ml/models/encoding.js';
import type { Table } from '../../../runtime/src/ml/types.js';

// A user's ONNX model read with the tabular conventions of docs/ml.md (one input per column, or one matrix input
// named by metadata; a probabilities output; class labels from metadata), built by hand as sklearn-onnx would.

const dir = mkdtempSync(join(tmpdir(), 'cairn-models-'));
const vi = (name: string, dims: Array<number | string>): ValueInfoMsg => ({
  name,
  type: {
    tensorType: {
      elemType: DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});
const node = (opType: string, input: string[], output: string[], axis?: number): NodeMsg => ({
  opType,
  input,
  output,
  attribute: axis === undefined ? [] : [{ name: 'axis', type: AttributeType.INT, i: axis }],
});

/** logits = [a, b] · W: class 0 favours a, class 1 favours b. */
function classifier(perColumn: boolean, metadata: Array<{ key: string; value: string }>): string {
  const W = floatTensorProto('W', [2, 2], [1, -1, -1, 1]);
  const nodes: NodeMsg[] = perColumn ? [node('Concat', ['a', 'b'], ['x'], 1)] : [];
  nodes.push(
    node('MatMul', [perColumn ? 'x' : 'input', 'W'], ['logits']),
    node('Softmax', ['logits'], ['probabilities'], 1),
  );
  const model: ModelMsg = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'test',
    graph: {
      name: 'g',
      node: nodes,
      initializer: [W],
      input: perColumn ? [vi('a', ['N', 1]), vi('b', ['N', 1])] : [vi('input', ['N', 2])],
      output: [vi('probabilities', ['N', 2])],
    },
    metadataProps: metadata,
  };
  const file = join(dir, `${perColumn ? 'columns' : 'matrix'}-${metadata.length}.onnx`);
  writeFileSync(file, encodeModel(model));
  return file;
}

const table: Table = {
  rowCount: 3,
  columns: [
    { name: 'b', type: 'float', values: Float64Array.from([0, 2, 1]), missing: null },
    { name: 'a', type: 'float', values: Float64Array.from([2, 0, 1]), missing: null },
  ],
};

test('a per-column ONNX classifier: columns by input name, probabilities, labels from metadata', async () => {
  const p = await loadPredictor(classifier(true, [{ key: 'cairn.classes', value: '["approve","reject"]' }]));
  assert.ok(p.kind === 'tabular');
  if (p.kind !== 'tabular') return;
  assert.equal(p.task, 'classification');
  assert.deepEqual(p.inputColumns, ['a', 'b']);
  assert.deepEqual(p.classes, ['approve', 'reject']);
  const s = await p.predict(table);
  assert.equal(s.width, 2);
  assert.ok((s.values[0] ?? 0) > 0.9, 'row 1 (a=2, b=0) is class 0');
  assert.ok((s.values[3] ?? 0) > 0.9, 'row 2 (a=0, b=2) is class 1');
  assert.ok(Math.abs((s.values[4] ?? 0) - 0.5) < 1e-6, 'row 3 is a tie');
});

test('a matrix-input ONNX model needs its column names', async () => {
  await assert.rejects(
    loadPredictor(classifier(false, [])),
    (e: unknown) => e instanceof OnnxModelError && /cairn\.input_columns/.test(e.message),
  );
  const p = await loadPredictor(classifier(false, [{ key: 'cairn.input_columns', value: '["a","b"]' }]));
  assert.ok(p.kind === 'tabular');
  if (p.kind !== 'tabular') return;
  assert.deepEqual(p.classes, undefined);
  const s = await p.predict(table);
  assert.ok((s.values[0] ?? 0) > 0.9);
  const viaOption = await loadPredictor(classifier(false, []), { inputColumns: ['b', 'a'] });
  assert.ok(viaOption.kind === 'tabular');
  if (viaOption.kind !== 'tabular') return;
  // Columns swapped: the first row now reads as class 1.
  assert.ok(((await viaOption.predict(table)).values[1] ?? 0) > 0.9);
});

test('unreadable models get clear errors', async () => {
  const junk = join(dir, 'junk.onnx');
  writeFileSync(junk, 'not a model');
  await assert.rejects(loadPredictor(junk), (e: unknown) => e instanceof Error && /junk\.onnx/.test(e.message));
  await assert.rejects(
    loadPredictor(join(dir, 'missing.onnx')),
    (e: unknown) => e instanceof Error && /missing\.onnx: cannot read/.test(e.message),
  );
  const badJson = join(dir, 'model.json');
  writeFileSync(badJson, JSON.stringify({ format: 'cairn-model', kind: 'tabular' }));
  await assert.rejects(
    loadPredictor(badJson),
    (e: unknown) => e instanceof Error && /model\.json: not a Cairn model\.json/.test(e.message),
  );
  const missingColumn = await loadPredictor(classifier(true, []));
  assert.ok(missingColumn.kind === 'tabular');
  if (missingColumn.kind !== 'tabular') return;
  await assert.rejects(
    missingColumn.predict({
      rowCount: 1,
      columns: [{ name: 'a', type: 'float', values: Float64Array.from([1]), missing: null }],
    }),
    /column "b" is missing/,
  );
});

test('the saved encoding: unseen categories, missing and all-missing columns have defined values, text is an error', () => {
  const train: Table = {
    rowCount: 4,
    columns: [
      { name: 'x', type: 'float', values: Float64Array.from([1, 2, 3, 10]), missing: Uint8Array.from([0, 0, 0, 1]) },
      { name: 'c', type: 'string', values: ['red', 'blue', null, 'red'] },
      { name: 'k', type: 'int', values: Float64Array.from([5, 5, 5, 5]), missing: null },
    ],
  };
  const enc = fitEncoding(train, ['x', 'c', 'k']);
  assert.deepEqual(
    enc.columns.map((c) => c.kind),
    ['numeric', 'onehot', 'numeric'],
  );
  assert.equal(enc.width, 4);
  const current: Table = {
    rowCount: 2,
    columns: [
      { name: 'x', type: 'string', values: [null, null] },
      { name: 'c', type: 'string', values: ['green', 'blue'] },
      { name: 'k', type: 'int', values: Float64Array.from([5, 7]), missing: null },
    ],
  };
  // x all missing → 0 (the mean); green unseen → zeros; blue → its column; k constant in training (std 1) → k − 5.
  assert.deepEqual(Array.from(applyEncoding(enc, current)), [0, 0, 0, 0, 0, 1, 0, 2]);
  const text: Table = {
    ...current,
    columns: [{ name: 'x', type: 'string', values: [null, 'high'] }, ...current.columns.slice(1)],
  };
  assert.throws(
    () => applyEncoding(enc, text),
    (e: unknown) => e instanceof EncodingError && /row 2: "high"/.test(e.message),
  );
  assert.throws(
    () => fitEncoding({ rowCount: 2, columns: [{ name: 'e', type: 'string', values: [null, null] }] }, ['e']),
    EncodingError,
  );
});
