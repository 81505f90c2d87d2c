import assert from 'node:assert/strict';
import { implementations } from '../../../runtime/src/builtins/index.js';
import type { BuiltinContext } from '../../../runtime/src/builtins/types.js';

/** What a built-in reported when run directly (no executor): its metrics and log lines. */
export interface BuiltinRun {
  metrics: Map<string, number>;
  logs: string[];
}

/**
 * Runs one registered built-in in-process with `options` and the given output paths (the built-in's module must be
 * imported by the test so it registers). Shared by the built-in tests.
 */
export async function runBuiltin(
  name: string,
  root: string,
  options: Record<string, unknown>,
  outputs: Record<string, string>,
  step = 'test',
): Promise<BuiltinRun> {
  const impl = implementations.get(name);
  assert.ok(impl, `${name} is registered`);
  const r: BuiltinRun = { metrics: new Map(), logs: [] };
  const ctx: BuiltinContext = {
    root,
    step,
    options,
    outputs,
    dataSchemas: {},
    log: (l) => r.logs.push(l),
    metric: (k, v) => r.metrics.set(k, v),
    tag: () => undefined,
    signal: new AbortController().signal,
  };
  await impl(ctx);
  return r;
}
