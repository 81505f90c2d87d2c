import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conformsToInvocationFormat, invocationFormatSchemas } from '@cairn/protocol';
import { seededRandom } from '../../../runtime/src/util/prng.js';

// The serving hot path skips zod for bodies conformsToInvocationFormat accepts, so it must never accept a body the
// schema refuses (soundness), and it should accept the usual well-formed bodies (or the fast path is never taken).

type Key = keyof typeof invocationFormatSchemas;
const KEYS: Key[] = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'];

function check(key: Key, body: Record<string, unknown>): void {
  const fast = conformsToInvocationFormat(key, body);
  const zod = invocationFormatSchemas[key].safeParse(body).success;
  if (fast) assert.ok(zod, `fast path accepted what the schema refuses: ${JSON.stringify(body)}`);
}

test('well-formed bodies of every format take the fast path, and the schema agrees', () => {
  const bodies: Array<[Key, unknown]> = [
    [
      'dataframe_split',
      {
        columns: ['a', 'b'],
        data: [
          [1, 'x'],
          [null, true],
        ],
      },
    ],
    ['dataframe_split', { columns: ['a'], data: [[1]], index: [0] }],
    ['dataframe_split', { columns: [], data: [] }],
    [
      'dataframe_records',
      [
        { a: 1, b: 'x' },
        { a: null, c: false },
      ],
    ],
    ['instances', [{ a: 1 }]],
    [
      'instances',
      [
        [1, 2],
        [3, 4],
      ],
    ],
    ['instances', []],
    ['inputs', { a: [1, 2], b: ['x', null] }],
    ['inputs', [[1, 2]]],
    ['inputs', [{ a: 1 }]],
  ];
  for (const [key, v] of bodies) {
    const body = JSON.parse(JSON.stringify({ [key]: v })) as Record<string, unknown>;
    assert.ok(conformsToInvocationFormat(key, body), `fast path refused ${JSON.stringify(body)}`);
    assert.ok(invocationFormatSchemas[key].safeParse(body).success, JSON.stringify(body));
  }
});

test('malformed bodies are left to the schema: the fast path refuses each', () => {
  const bad: Array<[Key, unknown]> = [
    ['dataframe_split', { columns: ['a'], data: [[{ nested: 1 }]] }],
    ['dataframe_split', { columns: [1], data: [[1]] }],
    ['dataframe_split', { columns: ['a'], data: [1] }],
    ['dataframe_split', { columns: ['a'], data: [[1]], index: 'no' }],
    ['dataframe_split', [['a'], [[1]]]],
    ['dataframe_records', [{ a: [1] }]],
    ['dataframe_records', [[1]]],
    ['dataframe_records', { a: 1 }],
    ['instances', [{ a: 1 }, [1]]],
    ['instances', [{ a: { b: 1 } }]],
    ['inputs', { a: 1 }],
    ['inputs', { a: [[1]] }],
    ['inputs', 'text'],
  ];
  for (const [key, v] of bad) {
    const body = JSON.parse(JSON.stringify({ [key]: v })) as Record<string, unknown>;
    assert.equal(conformsToInvocationFormat(key, body), false, JSON.stringify(body));
    assert.equal(
      invocationFormatSchemas[key].safeParse(body).success,
      false,
      `the schema accepts ${JSON.stringify(body)}: the case is wrong`,
    );
  }
});

test('random JSON bodies: whatever the fast path accepts, the schema accepts (20,000 seeded cases)', () => {
  const rnd = seededRandom(6);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const value = (depth: number): unknown => {
    const r = rnd();
    if (depth > 3 || r < 0.45) return pick([0, -1.5, 1e300, 'x', '', true, false, null]);
    if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 4); i > 0; i--)
      o[pick(['a', 'b', 'columns', 'data', 'index', '__proto__', 'constructor'])] = value(depth + 1);
    return o;
  };
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const key = pick(KEYS);
    let v = value(0);
    // Bias toward near-valid shapes so both answers occur often.
    if (key === 'dataframe_split' && rnd() < 0.5)
      v = { columns: pick([['a'], [], ['a', 1]]), data: value(1), ...(rnd() < 0.3 ? { index: value(2) } : {}) };
    const body = JSON.parse(JSON.stringify({ [key]: v })) as Record<string, unknown>;
    check(key, body);
    if (conformsToInvocationFormat(key, body)) accepted++;
  }
  assert.ok(
    accepted > 1_000,
    `only ${accepted} random bodies took the fast path: the generator is too far from valid shapes`,
  );
});
