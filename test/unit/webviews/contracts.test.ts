import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compareFromViewSchema,
  compareToViewSchema,
  compareViewStateSchema,
  driftFromViewSchema,
  driftToViewSchema,
  lineageFromViewSchema,
  lineageToViewSchema,
  parseWebviewMessage,
  runSummariesToTable,
  type RunSummary,
} from '@cairn/protocol';
import { makeRuns } from '../../fixtures/webviews/compareFixture.js';
import { driftReportFixture } from '../../fixtures/webviews/driftFixture.js';
import { lineageFixture } from '../../fixtures/webviews/lineageFixture.js';

function rejects(schema: Parameters<typeof parseWebviewMessage>[0], data: unknown, pattern: RegExp): void {
  const r = parseWebviewMessage(schema, data);
  assert.equal(r.ok, false, `accepted ${JSON.stringify(data).slice(0, 200)}`);
  if (!r.ok) assert.match(r.error, pattern);
}
function accepts(schema: Parameters<typeof parseWebviewMessage>[0], data: unknown): void {
  const r = parseWebviewMessage(schema, data);
  assert.ok(r.ok, r.ok ? '' : r.error);
}

describe('webview contracts: view → extension', () => {
  test('every view says ready and reports errors with the same messages', () => {
    for (const schema of [compareFromViewSchema, lineageFromViewSchema, driftFromViewSchema]) {
      accepts(schema, { type: 'ready', payload: {} });
      accepts(schema, { type: 'error', payload: { message: 'boom', stack: 'at x' } });
      rejects(schema, { type: 'ready', payload: { extra: 1 } }, /invalid webview message 'ready'/);
      rejects(schema, { type: 'ready' }, /payload/);
    }
  });

  test('compare requests are bounded and typed', () => {
    accepts(compareFromViewSchema, {
      type: 'requestHistories',
      payload: { requestId: 1, runIds: [1, 2], metric: 'val/auc', maxPoints: 500 },
    });
    rejects(
      compareFromViewSchema,
      { type: 'requestHistories', payload: { requestId: 1, runIds: [], metric: 'auc', maxPoints: 500 } },
      /runIds/,
    );
    rejects(
      compareFromViewSchema,
      { type: 'requestHistories', payload: { requestId: 1, runIds: [1], metric: 'auc', maxPoints: 1e9 } },
      /maxPoints/,
    );
    rejects(compareFromViewSchema, { type: 'openRun', payload: { runId: '1; rm -rf' } }, /runId/);
    // A windowed view's page requests: bounded, sorted only by what the runtime sorts by, columns by key.
    const pages = { generation: 1, pages: [0, 1], columns: ['param:lr', 'metric:auc'] };
    accepts(compareFromViewSchema, {
      type: 'requestPages',
      payload: { ...pages, sort: { key: 'run:startedAt', dir: 'asc' }, text: 'churn' },
    });
    rejects(
      compareFromViewSchema,
      { type: 'requestPages', payload: { ...pages, sort: { key: 'tag:owner', dir: 'asc' } } },
      /sorts by/,
    );
    rejects(compareFromViewSchema, { type: 'requestPages', payload: { ...pages, columns: ['lr'] } }, /param:<name>/);
    rejects(
      compareFromViewSchema,
      { type: 'requestPages', payload: { ...pages, pages: Array.from({ length: 65 }, (_, i) => i) } },
      /pages/,
    );
    rejects(
      compareFromViewSchema,
      { type: 'deleteEverything', payload: {} },
      /invalid webview message 'deleteEverything'/,
    );
  });

  test('unknown shapes are rejected with a readable reason', () => {
    rejects(lineageFromViewSchema, null, /\(no type\)/);
    rejects(lineageFromViewSchema, 'open', /\(no type\)/);
    rejects(lineageFromViewSchema, { type: 'open', payload: { nodeId: '' } }, /nodeId/);
    rejects(lineageFromViewSchema, { type: 'open', payload: { nodeId: 'x'.repeat(600) } }, /nodeId/);
    rejects(driftFromViewSchema, { type: 'openThresholds', payload: {} }, /feature/);
  });
});

describe('webview contracts: extension → view', () => {
  test('the compare table must be consistent and hold no NaN', () => {
    const table = runSummariesToTable(makeRuns(5, { params: 3, metrics: 2, tags: 1 }));
    accepts(compareToViewSchema, { type: 'runs', payload: { query: {}, table, total: 5 } });
    const short = { ...table, rows: table.rows.map((r, i) => (i === 2 ? { ...r, values: r.values.slice(1) } : r)) };
    rejects(
      compareToViewSchema,
      { type: 'runs', payload: { query: {}, table: short, total: 5 } },
      /rows\.2\.values: run has \d+ values for \d+ columns/,
    );
    const nan = { ...table, rows: table.rows.map((r) => ({ ...r, values: r.values.map(() => Number.NaN) })) };
    rejects(compareToViewSchema, { type: 'runs', payload: { query: {}, table: nan, total: 5 } }, /finite numbers/);
    const dup = { ...table, columns: table.columns.map((c) => ({ ...c, key: 'param:lr' })) };
    rejects(compareToViewSchema, { type: 'runs', payload: { query: {}, table: dup, total: 5 } }, /appears twice/);
    // Malformed parts never make validation throw (refinements see partially rejected data).
    rejects(
      compareToViewSchema,
      { type: 'runs', payload: { query: {}, table: { columns: [], rows: [{ id: 'x' }] }, total: 1 } },
      /rows\.0\.id: id must be an integer/,
    );
    rejects(
      compareToViewSchema,
      { type: 'runs', payload: { query: {}, table: { columns: 'x', rows: 'y' }, total: 1 } },
      /table/,
    );
    rejects(
      lineageToViewSchema,
      { type: 'graph', payload: { query: { target: '1' }, graph: { nodes: 'x', edges: 3 } } },
      /graph/,
    );
    rejects(
      driftToViewSchema,
      {
        type: 'report',
        payload: { query: {}, report: { ...driftReportFixture(), features: [{ bins: { kind: 'numeric' } }] } },
      },
      /report/,
    );
    rejects(
      compareToViewSchema,
      { type: 'histories', payload: { requestId: 1, metric: 'm', histories: [{ runId: 1 }] } },
      /histories/,
    );
  });

  test('lineage edges must join known nodes; drift bins must match their edges', () => {
    accepts(lineageToViewSchema, { type: 'graph', payload: { query: { target: '12' }, graph: lineageFixture() } });
    const g = lineageFixture();
    g.edges.push({ from: 'nowhere', to: 'step:101' });
    rejects(
      lineageToViewSchema,
      { type: 'graph', payload: { query: { target: '12' }, graph: g } },
      /edge from 'nowhere' is not a node/,
    );

    accepts(driftToViewSchema, { type: 'report', payload: { query: {}, report: driftReportFixture() } });
    const bad = driftReportFixture();
    const f = bad.features[0];
    if (f?.bins?.kind === 'histogram') f.bins.current.pop();
    rejects(driftToViewSchema, { type: 'report', payload: { query: {}, report: bad } }, /report/);
    const share = { ...driftReportFixture(), shareDrifted: 1.5 };
    rejects(driftToViewSchema, { type: 'report', payload: { query: {}, report: share } }, /share/);
  });

  test('saved state revives only with a valid query', () => {
    assert.ok(compareViewStateSchema.safeParse({ query: { runIds: [1, 2] }, ui: { anything: true } }).success);
    assert.ok(!compareViewStateSchema.safeParse({ query: { runIds: ['1'] } }).success);
    assert.ok(!compareViewStateSchema.safeParse(undefined).success);
  });
});

describe('runSummariesToTable', () => {
  test('params, metrics and tags become typed columns; missing values, lists and NaN are made explicit', () => {
    const [a, b] = makeRuns(2, { params: 4, metrics: 3, tags: 1 }) as [RunSummary, RunSummary];
    b.params = { ...b.params, layers: [64, 32] };
    a.metrics = { ...a.metrics, 'val/auc': Number.NaN };
    const t = runSummariesToTable([a, b]);
    const key = (k: string): number => t.columns.findIndex((c) => c.key === k);
    assert.deepEqual(
      t.columns.map((c) => c.group),
      ['param', 'param', 'param', 'param', 'param', 'metric', 'metric', 'metric', 'tag'],
    );
    assert.equal(t.columns[key('param:lr')]?.kind, 'number');
    assert.equal(t.columns[key('param:model')]?.kind, 'string');
    assert.equal(t.rows[0]?.values[key('param:layers')], null);
    assert.equal(t.rows[1]?.values[key('param:layers')], '[64,32]');
    assert.equal(t.rows[0]?.values[key('metric:val/auc')], null, 'NaN is sent as a missing value');
    assert.equal(t.rows[1]?.values[key('tag:owner')], 'li');
  });
});
