/**
 * `look` run on demand, never two at once: a call while a look is under way (a change announced meanwhile) gets one
 * look of its own right after. A failed look is reported on stderr under `what` (the store closing under a last
 * look once stopped is not); `stop()` ends it, `idle()` waits for the look under way.
 */
export function serialPoll(
  look: () => Promise<void>,
  what: string,
): { poll: () => void; stop: () => void; idle: () => Promise<void> } {
  let stopped = false;
  let looking: Promise<void> | undefined;
  let again = false;
  function poll(): void {
    if (stopped) return;
    if (looking) {
      again = true;
      return;
    }
    looking = look()
      .catch((error: unknown) => {
        if (!stopped)
          process.stderr.write(`cairn runtime: ${what}: ${error instanceof Error ? error.message : String(error)}\n`);
      })
      .finally(() => {
        looking = undefined;
        if (again) {
          again = false;
          poll();
        }
      });
  }
  return {
    poll,
    stop: () => {
      stopped = true;
    },
    idle: async () => {
      await looking;
    },
  };
}
