import type { ResolvedStep } from '@cairn/protocol';
import { sha256, stableStringify } from '../util/hash.js';

/** Bump when the meaning of a cache key changes: every earlier entry then misses. */
const KEY_FORMAT = 1;

/**
 * A step's cache key: sha256 of its resolved spec, the hashes of the files it reads, the values of the params it uses
 * and the built-in's version. Anything that could change its outputs is in here; nothing else (names of other steps,
 * timestamps) is.
 */
export function stepCacheKey(
  step: ResolvedStep,
  inputs: Array<{ path: string; hash: string }>,
  params: Record<string, unknown>,
  builtinVersion: number | null,
): string {
  const spec = {
    kind: step.kind,
    run: step.run ?? null,
    uses: step.uses ?? null,
    with: step.with ?? null,
    outs: step.outs,
    metrics: step.metrics,
    env: step.env,
  };
  const sortedInputs = [...inputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sha256(stableStringify({ format: KEY_FORMAT, spec, inputs: sortedInputs, params, builtinVersion }));
}
