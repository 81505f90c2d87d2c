import type { Page } from 'playwright-core';

/**
 * Scrolls the compare view's grid `frames` times by (dx, dy) px, one step per animation frame, as a wheel or a
 * dragged scrollbar does, and returns the rAF-to-rAF intervals (ms) and how many long tasks (> 50 ms) ran meanwhile.
 * Shared by bench/ui/compare.ts (frame times) and bench/ui/profile.ts (where the time goes).
 */
export async function scrollFrames(
  page: Page,
  frames: number,
  dx: number,
  dy: number,
): Promise<{ deltas: number[]; longTasks: number }> {
  return page.evaluate(
    ([n, stepX, stepY]) =>
      new Promise<{ deltas: number[]; longTasks: number }>((resolve) => {
        const grid = document.querySelector('.grid');
        if (!grid) throw new Error('no grid');
        let longTasks = 0;
        const obs = new PerformanceObserver((list) => {
          longTasks += list.getEntries().length;
        });
        obs.observe({ entryTypes: ['longtask'] });
        const deltas: number[] = [];
        let last = -1;
        let i = 0;
        const step = (ts: number): void => {
          if (last >= 0) deltas.push(ts - last);
          last = ts;
          if (i++ >= n) {
            obs.disconnect();
            resolve({ deltas, longTasks });
            return;
          }
          grid.scrollTop += stepY;
          grid.scrollLeft += stepX;
          requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      }),
    [frames, dx, dy] as const,
  );
}
