import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invocationResponseSchema, serveErrorSchema } from '@cairn/protocol';
import { initBackend } from '../../../runtime/src/ml/backend.js';
import type { TabularModel } from '../../../runtime/src/ml/models/artifact.js';
import { tabularToOnnx } from '../../../runtime/src/ml/onnx/export.js';
import { ModelServer } from '../../../runtime/src/serve/index.js';
import { CASES, explainTable, FEATURES, gbdtModel, networkModel } from '../ml/explainFixture.js';

// POST /invocations with "explain": true over real HTTP: each row's contributions, whose base + Σ is the margin of
// the probability served for the same row; an ONNX export is explained from the model.json next to it; an MLP and
// a bad flag get clear errors.

const TOKEN = 'explain-token-0123456789';
const t = explainTable(200, 4);

function records(n: number): Array<Record<string, string | number | null>> {
  return Array.from({ length: n }, (_, r) =>
    Object.fromEntries(
      FEATURES.map((name) => {
        const c = t.columns.find((x) => x.name === name);
        return [name, c?.type === 'string' ? (c.values[r] ?? null) : (c?.values[r] ?? null)];
      }),
    ),
  );
}

async function serving<T>(file: string, f: (url: string) => Promise<T>): Promise<T> {
  const server = await ModelServer.start({
    model: file,
    port: 0,
    token: TOKEN,
    maxBodyBytes: 1 << 20,
    bodyTimeoutMs: 1000,
    log: () => undefined,
  });
  try {
    return await f(server.url);
  } finally {
    await server.close();
  }
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });

function write(dir: string, m: TabularModel, onnx: boolean): string {
  writeFileSync(join(dir, 'model.json'), JSON.stringify(m));
  if (!onnx) return join(dir, 'model.json');
  writeFileSync(join(dir, 'model.onnx'), tabularToOnnx(m));
  return join(dir, 'model.onnx');
}

async function checkExplained(file: string, method: 'tree-shap' | 'linear'): Promise<void> {
  await serving(file, async (url) => {
    const res = await post(url, { dataframe_records: records(30), explain: true });
    assert.equal(res.status, 200);
    const body = invocationResponseSchema.parse(await res.json());
    const e = body.explanations;
    assert.ok(e, 'the answer carries explanations');
    assert.equal(e.method, method);
    assert.deepEqual(e.features, FEATURES);
    assert.equal(e.rows.length, 30);
    e.rows.forEach((row, r) => {
      const sum = (e.base[0] ?? 0) + (row.values[0] ?? []).reduce((a, b) => a + b, 0);
      const margin = row.margin[0] ?? NaN;
      assert.ok(Math.abs(sum - margin) < 1e-9, `row ${r}: base + Σ ${sum}, margin ${margin}`);
      const p = body.predictions[r];
      assert.ok(p && typeof p === 'object' && !Array.isArray(p), `row ${r}: a class prediction`);
      const served = p.probabilities['1'] ?? NaN;
      assert.ok(Math.abs(1 / (1 + Math.exp(-margin)) - served) < 1e-5, `row ${r}: σ(margin) vs served ${served}`);
    });
    const plain = invocationResponseSchema.parse(await (await post(url, { dataframe_records: records(3) })).json());
    assert.equal(plain.explanations, undefined, 'no explanations unless asked');
    const bad = await post(url, { dataframe_records: records(3), explain: 'yes' });
    assert.equal(bad.status, 400);
    assert.match(serveErrorSchema.parse(await bad.json()).error.message, /body\.explain: send true or false/);
  });
}

test('gradient boosting (model.json and its ONNX export) and logistic regression answer contributions', async () => {
  const gbdt = await gbdtModel(t, CASES.binary);
  await checkExplained(write(mkdtempSync(join(tmpdir(), 'cairn-explain-')), gbdt, false), 'tree-shap');
  await checkExplained(write(mkdtempSync(join(tmpdir(), 'cairn-explain-')), gbdt, true), 'tree-shap');
  await initBackend();
  const lr = await networkModel(t, CASES.binary, []);
  await checkExplained(write(mkdtempSync(join(tmpdir(), 'cairn-explain-')), lr, true), 'linear');
});

test('an MLP, and an ONNX model without its model.json, answer 422 not_explainable and still predict', async () => {
  await initBackend();
  const mlp = await networkModel(t, CASES.binary, [4]);
  const lone = mkdtempSync(join(tmpdir(), 'cairn-explain-'));
  writeFileSync(join(lone, 'alone.onnx'), tabularToOnnx(await gbdtModel(t, CASES.binary)));
  for (const [file, why] of [
    [write(mkdtempSync(join(tmpdir(), 'cairn-explain-')), mlp, false), /an MLP has no exact per-row contributions/],
    [join(lone, 'alone.onnx'), /no model\.json next to the ONNX model/],
  ] as const) {
    await serving(file, async (url) => {
      const res = await post(url, { dataframe_records: records(2), explain: true });
      assert.equal(res.status, 422);
      const err = serveErrorSchema.parse(await res.json()).error;
      assert.equal(err.code, 'not_explainable');
      assert.match(err.message, why);
      assert.equal((await post(url, { dataframe_records: records(2), explain: false })).status, 200);
    });
  }
});
