import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PredictionLog, type PredictionRow } from '../../../runtime/src/deploy/predictionLog.js';
import { UnknownImpressionError } from '../../../runtime/src/store/repos/abEvents.js';
import type { Store } from '../../../runtime/src/store/store.js';
import { forEachBackend } from '../../lib/stores.js';

// The prediction log and the A/B events on both store backends. The log (SQLite: its writer thread; PostgreSQL:
// batched multi-row INSERTs through the store's query interface): rows as added, the bound, a repeated id, labels,
// read back from another connection through the deployments repository. The events: all or none, retries, outcomes.

const COLUMNS = ['age', 'city'];

function rowOf(requestId: string, row: number, cells: unknown[], at: number): PredictionRow {
  return {
    requestId,
    row,
    arm: 'champion',
    version: 3,
    abKey: null,
    columns: COLUMNS,
    fieldAt: [0, 1],
    cells: { cell: (field: number) => cells[field] as never },
    prediction: { label: row % 2 ? 'yes' : 'no', probability: 0.25 * row },
    latencyMs: 1.5,
    at,
  };
}

forEachBackend('the prediction log', (b) => {
  let store: Store;
  let reader: Store;
  before(async () => {
    store = await b.open();
    reader = await b.open();
  });
  const logs: PredictionLog[] = [];
  after(async () => {
    // Closed before the store, also when a test failed midway (a log left open would write into a closed store).
    for (const l of logs) await l.close();
    await store.close();
    await reader.close();
  });

  const deployment = () =>
    store.deployments.start({
      name: 'm',
      ref: 'm@production',
      version: 3,
      challenger: null,
      url: 'http://127.0.0.1:1',
      pid: process.pid,
      logSample: 1,
    });

  test('rows are stored as added, in order; a repeated request id and row is stored once', async () => {
    const id = await deployment();
    const log = new PredictionLog(store, id, { sample: 1, maxRows: 1000, flushMs: 10 });
    logs.push(log);
    for (let i = 0; i < 600; i++)
      log.add(rowOf(`r${Math.floor(i / 3)}`, i % 3, [20 + i, i % 2 ? 'paris' : null], 1000 + i));
    log.add(rowOf('r0', 0, [99, 'again'], 5000));
    await log.flushed();
    assert.deepEqual([log.logged, log.dropped, log.pending], [600, 0, 0]);
    const rows = await reader.deployments.predictions([id]);
    assert.equal(rows.length, 600);
    assert.deepEqual(JSON.parse(rows[0]?.inputsJson ?? ''), { age: 20, city: null });
    assert.deepEqual(JSON.parse(rows[599]?.inputsJson ?? ''), { age: 619, city: 'paris' });
    assert.deepEqual(JSON.parse(rows[1]?.predictionJson ?? ''), { label: 'yes', probability: 0.25 });
    assert.deepEqual([rows[0]?.version, rows[0]?.arm, rows[599]?.at], [3, 'champion', 1599]);
  });

  test('the newest maxRows rows are kept; labels reach written rows and unknown ones are counted', async () => {
    const id = await deployment();
    const log = new PredictionLog(store, id, { sample: 1, maxRows: 4, flushMs: 10 });
    logs.push(log);
    for (let i = 0; i < 10; i++) log.add(rowOf(`q${i}`, 0, [i, 'rome'], 2000 + i));
    await log.flushed();
    const kept = await reader.deployments.predictions([id]);
    assert.deepEqual(
      kept.map((r) => r.at),
      [2006, 2007, 2008, 2009],
    );
    log.add(rowOf('q10', 0, [10, 'rome'], 2010));
    const fb = await log.feedback([
      { requestId: 'q9', row: 0, label: 'yes' },
      { requestId: 'q10', row: 0, label: true },
      { requestId: 'q0', row: 0, label: 'trimmed away' },
    ]);
    assert.deepEqual(fb, { updated: 2, unknown: 1 });
    const labelled = await reader.deployments.predictions([id]);
    assert.deepEqual(
      labelled.map((r) => r.labelJson),
      [null, null, '"yes"', 'true'],
      'q10 was written before its label and pushed q6 out',
    );
    const d = await reader.deployments.get(id);
    assert.deepEqual([d?.logged, d?.labelled], [4, 2]);
  });
});

forEachBackend('A/B impressions and events', (b) => {
  let store: Store;
  before(async () => {
    store = await b.open();
  });
  after(() => store.close());

  test('events are stored all or none: an unknown impression refuses the batch, a retried event id is a duplicate', async () => {
    const id = await store.deployments.start({
      name: 'recs',
      ref: 'recs@champion',
      version: 1,
      challenger: { ref: 'recs@challenger', version: 2, split: 0.5, key: 'user' },
      url: 'http://127.0.0.1:1',
      pid: process.pid,
      logSample: 1,
    });
    await store.abEvents.addImpressions([
      { id: 'imp-a', arm: 'champion', version: 1, deploymentId: id, itemsJson: '["x","y"]', servedAt: 10 },
      { id: 'imp-b', arm: 'challenger', version: 2, deploymentId: id, itemsJson: '["z"]', servedAt: 11 },
    ]);
    await assert.rejects(
      store.abEvents.addEvents(
        id,
        [
          { event_id: 'e1', impression_id: 'imp-a', type: 'impression', at: 20 },
          { event_id: 'e2', impression_id: 'nope', type: 'click' },
        ],
        30,
      ),
      (e: unknown) => e instanceof UnknownImpressionError && e.indexes.join() === '1',
    );
    const events = [
      { event_id: 'e1', impression_id: 'imp-a', type: 'impression', at: 20 },
      { event_id: 'e3', impression_id: 'imp-a', type: 'purchase', item: 'x', revenue: 4.5, at: 21 },
      { event_id: 'e4', impression_id: 'imp-b', type: 'impression', at: 22 },
    ] as const;
    assert.deepEqual(await store.abEvents.addEvents(id, events, 30), { accepted: 3, duplicate: 0 });
    assert.deepEqual(await store.abEvents.addEvents(id, events.slice(0, 1), 31), { accepted: 0, duplicate: 1 });
    assert.deepEqual(await store.abEvents.outcomes(id), [
      { arm: 'champion', version: 1, shownAt: 20, clicked: false, purchased: true, revenue: 4.5 },
      { arm: 'challenger', version: 2, shownAt: 22, clicked: false, purchased: false, revenue: 0 },
    ]);
  });
});
