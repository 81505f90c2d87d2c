/**
 * Waits on a fact that stays true once it is (a file's content on disk, a line in an append-only log): looks every
 * 100 ms until `probe` returns a value, so looking late cannot miss it. Throws `what()` after `timeoutMs`. Never for a
 * transient state (a row showing "running", a toast): those are waited on through their records or events instead.
 */
export async function until<T>(probe: () => T | undefined, what: () => string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what()} (waited ${timeoutMs / 1000} s)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
