import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abEventsResponseSchema, invocationResponseSchema, serveErrorSchema } from '@cairn/protocol';
import { ModelServer } from '../../../runtime/src/serve/index.js';
import { Store } from '../../../runtime/src/store/store.js';
import { serveAbRecommender, type ServedAbRecommender } from './recommenderFixture.js';

// Business events over real HTTP into a real SQLite store: a served top-k answer carries one impression per row (with
// its arm and version); /feedback takes impression, click and purchase events, idempotent on event_id, late ones
// accepted, bad ones a 400 naming the field with nothing stored.

const dir = mkdtempSync(join(tmpdir(), 'cairn-ab-events-'));
const TOKEN = 'ab-events-token-0123456789';
let served: ServedAbRecommender;
let server: ModelServer;
let store: Store;
let deploymentId: number;

before(async () => {
  served = await serveAbRecommender(dir, TOKEN);
  ({ server, store, deploymentId } = served);
});
after(async () => {
  await served.close();
});

const auth = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };

async function topK(users: number[], key: string): Promise<{ arm: string | null; body: unknown }> {
  const res = await fetch(`${server.url}/invocations?k=3`, {
    method: 'POST',
    headers: { ...auth, 'x-cairn-key': key },
    body: JSON.stringify({ dataframe_records: users.map((userId) => ({ userId })) }),
  });
  assert.equal(res.status, 200);
  return { arm: res.headers.get('x-cairn-arm'), body: await res.json() };
}

async function events(body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.url}/feedback`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

test('a top-k answer carries one impression id per row with the arm and version that answered', async () => {
  for (const key of ['alice', 'bob', 'carol', 'dave']) {
    const { arm, body } = await topK([1, 2], key);
    const r = invocationResponseSchema.parse(body);
    assert.equal(r.predictions.length, 2);
    assert.equal(r.impressions?.length, 2);
    for (const imp of r.impressions ?? []) {
      assert.equal(imp.arm, arm, 'one key: every row on the arm of the header');
      assert.equal(imp.version, imp.arm === 'champion' ? 1 : 2);
    }
    assert.notEqual(r.impressions?.[0]?.id, r.impressions?.[1]?.id);
  }
});

test('impression, click and purchase events are stored once per event_id; late events are accepted', async () => {
  const r = invocationResponseSchema.parse((await topK([3], 'erin')).body);
  const imp = r.impressions?.[0];
  assert.ok(imp);
  const shownAt = Date.now() - 2 * 86_400_000; // two days late
  const batch = [
    { event_id: 'e1', impression_id: imp.id, type: 'impression', at: shownAt },
    { event_id: 'e2', impression_id: imp.id, type: 'click', item: '101', at: shownAt + 1000 },
    { event_id: 'e3', impression_id: imp.id, type: 'purchase', item: '101', revenue: 12.5, at: shownAt + 2000 },
  ];
  const first = await events({ events: batch });
  assert.equal(first.status, 200, JSON.stringify(first.json));
  assert.deepEqual(abEventsResponseSchema.parse(first.json), { accepted: 3, duplicate: 0 });
  // A retry of the same events stores nothing new.
  assert.deepEqual(abEventsResponseSchema.parse((await events({ events: batch })).json), { accepted: 0, duplicate: 3 });
  const outcomes = await store.abEvents.outcomes(deploymentId);
  assert.deepEqual(outcomes, [
    { arm: imp.arm, version: imp.version, shownAt, clicked: true, purchased: true, revenue: 12.5 },
  ]);
});

test('bad events are a 400 naming the field, and nothing of their request is stored', async () => {
  const r = invocationResponseSchema.parse((await topK([4], 'frank')).body);
  const id = r.impressions?.[0]?.id ?? '';
  const good = { event_id: 'ok-1', impression_id: id, type: 'impression' };
  const cases: Array<[unknown, RegExp]> = [
    [
      { events: [good, { event_id: 'x1', impression_id: 'nope/0', type: 'click' }] },
      /body\.events\.1\.impression_id: "nope\/0" is no impression of this deployment.*Nothing of this request/,
    ],
    [
      { events: [{ ...good, event_id: 'x2', type: 'purchase', revenue: -3 }] },
      /body\.events\.0\.revenue: Too small: expected number to be >=0/,
    ],
    [{ events: [{ ...good, event_id: 'x3', type: 'purchase' }] }, /body\.events\.0\.revenue: missing \(a number\)/],
    [
      { events: [{ ...good, event_id: 'x4', type: 'purchase', revenue: '5' }] },
      /body\.events\.0\.revenue: Invalid input: expected number, received string/,
    ],
    [{ events: [{ impression_id: id, type: 'click' }] }, /body\.events\.0\.event_id: missing \(a string\)/],
    [
      { events: [{ ...good, type: 'view' }] },
      /body\.events\.0\.type: Invalid discriminator value. Expected 'impression' \| 'click' \| 'purchase'/,
    ],
    [
      { events: [{ ...good, event_id: 7 }] },
      /body\.events\.0\.event_id: Invalid input: expected string, received number/,
    ],
    [{ events: [] }, /body\.events: Too small: expected array to have >=1 items/],
  ];
  for (const [body, re] of cases) {
    const res = await events(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    const err = serveErrorSchema.parse(res.json).error;
    assert.match(err.message, re);
  }
  assert.equal((await store.abEvents.outcomes(deploymentId)).length, 1, 'the good impression of case 1 was not stored');
  assert.deepEqual(abEventsResponseSchema.parse((await events({ events: [good] })).json), {
    accepted: 1,
    duplicate: 0,
  });
});
