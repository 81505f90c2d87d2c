import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runPageSchema, runSummariesToTable, seededRandom, type RunSummary } from '@cairn/protocol';
import type { NewRun, Store } from '../../../runtime/src/store/store.js';
import { forEachBackend, newRun } from '../../lib/stores.js';

/** Seeded, so a failure names the seed that reproduces it. */
const rng = seededRandom;

const oddStrings = [
  '',
  'say "hi"',
  'back\\slash',
  'é ü ß',
  '日本語',
  '😀 emoji',
  'line\u2028sep',
  'tab\tnew\nline',
  '\u0001',
  '{"a":1}',
  '[1,2]',
  'null',
  '-1',
];
const oddNumbers = [
  0,
  -0,
  1,
  -1.5e-7,
  1e21,
  123456789.123,
  Number.MAX_SAFE_INTEGER,
  0.1 + 0.2,
  NaN,
  Infinity,
  -Infinity,
];

function randomValue(r: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  switch (Math.floor(r() * 7)) {
    case 0:
      return pick(oddStrings);
    case 1:
      return pick(oddNumbers);
    case 2:
      return (r() - 0.5) * 10 ** Math.floor(r() * 12 - 6);
    case 3:
      return r() < 0.5;
    case 4:
      return null;
    case 5:
      return [pick(oddNumbers), pick(oddStrings), { k: pick(oddStrings) }];
    default:
      return { [pick(oddStrings)]: pick(oddNumbers), nested: [r() < 0.5] };
  }
}

const names = ['lr', 'opt', 'we"ird\\key', 'ünï', 'a:b', 'constructor', '__proto__', 'x y'];

forEachBackend('runs page as spliced JSON (property)', (backend) => {
  let store: Store;
  let runs: RunSummary[];
  before(async () => {
    store = await backend.open();
    const r = rng(15);
    for (let i = 0; i < 40; i++) {
      const params: NewRun['params'] = {};
      for (const name of names)
        if (r() < 0.7) {
          // defineProperty: `params.__proto__ = …` would set the prototype, not a param named __proto__.
          const value = { value: randomValue(r), type: 'string', secret: false, overridden: false } as const;
          Object.defineProperty(params, name, { value, enumerable: true, writable: true, configurable: true });
        }
      const id = await store.runs.createRun(
        newRun(r() < 0.5 ? 'train "q"' : 'évał', {
          pipelineFile: `p${i % 3}.cairn.yaml`,
          params,
          gitDirty: null,
          cairnVersion: '0.0.0',
        }),
      );
      for (const name of names) if (r() < 0.5) store.writer.add(id, null, name, 0, (r() - 0.5) * 1e6);
      for (const name of names) if (r() < 0.3) await store.runs.setTag(id, name, String(randomValue(r)));
      if (r() < 0.8) await store.runs.finishRun(id, r() < 0.5 ? 'succeeded' : 'failed');
    }
    await store.writer.flush();
    runs = (await store.runs.list({ limit: 1000 })).runs;
  });
  after(async () => {
    await store.close();
  });

  test('the spliced page parses to exactly the table the object path builds, over random columns and values', async () => {
    const keys = ['param', 'metric', 'tag'].flatMap((g) => [...names, 'absent'].map((n) => `${g}:${n}`));
    for (let seed = 1; seed <= 25; seed++) {
      const r = rng(seed);
      const columns = keys.filter(() => r() < 0.4).sort(() => r() - 0.5);
      const page = runPageSchema.parse(await store.runs.page({ columns, limit: 1000 }));
      assert.deepEqual(page.table, runSummariesToTable(runs, columns), `seed ${seed}: ${JSON.stringify(columns)}`);
      // A second, warm read (its fields cached) says the same.
      assert.deepEqual(runPageSchema.parse(await store.runs.page({ columns, limit: 1000 })), page, `seed ${seed} warm`);
    }
  });

  test('NaN and infinities travel as null cells (JSON has no such numbers; toCompareCell says the same)', async () => {
    const id = await store.runs.createRun({
      pipelineName: 'nan',
      pipelineFile: 'nan.cairn.yaml',
      params: Object.fromEntries(
        [NaN, Infinity, -Infinity].map((v, i) => [
          `v${i}`,
          { value: v, type: 'float', secret: false, overridden: false },
        ]),
      ),
      gitCommit: null,
      gitDirty: null,
      platform: 'test',
      cairnVersion: '0.0.0',
      selection: null,
    });
    const page = await store.runs.page({ columns: ['param:v0', 'param:v1', 'param:v2'], limit: 1 });
    assert.equal(page.table.rows[0]?.id, id);
    assert.deepEqual(page.table.rows[0]?.values, [null, null, null]);
  });

  test('a changed value is never served from the cache of a warm page', async () => {
    const id = runs[0]?.id ?? -1;
    await store.runs.setTag(id, 'opt', 'first');
    const read = async () =>
      (await store.runs.page({ columns: ['tag:opt'], limit: 1000 })).table.rows.find((row) => row.id === id)?.values[0];
    assert.equal(await read(), 'first');
    await store.runs.setTag(id, 'opt', 'second');
    assert.equal(await read(), 'second');
  });
});
