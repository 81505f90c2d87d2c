import { fnv1a } from '../ml/data/transform.js';

/**
 * A text's place in [0, 1): FNV-1a, then murmur3's 32-bit finalizer so that near-identical texts (`user1`, `user2`,
 * counter-based request ids) land far apart; FNV-1a alone leaves them clustered. Stable across runs and machines:
 * the A/B arm of a key and the log sampling of a request id depend on nothing else.
 */
export function keyShare(text: string): number {
  let h = fnv1a(text);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}
