import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import assert from 'node:assert/strict';

/** Shared helpers for the golden-value tests (values written by scripts/golden/make_golden.py). */
export const fixtures = path.resolve(__dirname, '..', '..', 'fixtures');

export function loadGolden<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(fixtures, 'golden', name), 'utf8')) as T;
}

/** Golden JSON spells non-finite numbers as strings. */
export function num(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new Error(`not a number: ${v}`);
}

/** Equal within `rel` relative; values below 1e-14 in size also pass within 1e-14 absolute (cancellation noise). */
export function assertClose(
  actual: number | null | undefined,
  expected: number | string,
  what: string,
  rel = 1e-9,
): void {
  const e = num(expected);
  assert.ok(typeof actual === 'number', `${what}: expected a number ${e}, got ${String(actual)}`);
  if (Number.isNaN(e)) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  if (!Number.isFinite(e)) {
    assert.equal(actual, e, what);
    return;
  }
  const diff = Math.abs(actual - e);
  const ok = diff <= rel * Math.abs(e) || (Math.abs(e) < 1e-14 && diff <= 1e-14);
  assert.ok(ok, `${what}: got ${actual}, expected ${e} (relative error ${(diff / Math.abs(e)).toExponential(2)})`);
}
