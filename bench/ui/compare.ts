/**
 * bench/ui/compare.ts — the compare view with 10,000 runs × 50 columns in headless Chromium (minified bundle, the
 * extension's HTML and CSP). Measures, in the page:
 *   - first paint: from the first `runs` message being posted (the extension sends the first 1,000 rows, then the
 *     rest in `patch` chunks) to the animation frame that paints the table (includes structured-clone delivery,
 *     validation, filter/sort/diff and the grid render); then when all runs are in, and when the charts are drawn;
 *   - scroll frames: rAF-to-rAF intervals while the table scrolls 120 px per frame down and across, and long tasks.
 * Baseline in the same run: the same view with 100 runs. Targets (issue 5): first paint < 300 ms, no frame > 50 ms.
 * Run: node --import tsx bench/ui/compare.ts [--runs 10000] [--json]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { chunkRunTable, runSummariesToTable } from '@cairn/protocol';
import { makeRuns } from '../../test/fixtures/webviews/compareFixture.js';
import { buildViews, launch, openView, type ViewPage } from '../../test/webviews/harness.js';
import { scrollFrames } from './scroll.js';

/**
 * CPU time (user + system, ms) used so far by every Chromium process this benchmark started. On a shared, loaded
 * machine wall-clock times include waiting for a core; CPU time does not, so both are printed.
 */
function chromiumCpuMs(): number {
  const children = new Map<number, number[]>();
  const stats = new Map<number, { comm: string; cpu: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // the process ended while we listed /proc
    }
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    const pid = Number(entry);
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    stats.set(pid, { comm: stat.slice(stat.indexOf('(') + 1, close), cpu: (ticks * 1000) / 100 });
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  let total = 0;
  const walk = (pid: number): void => {
    for (const c of children.get(pid) ?? []) {
      const st = stats.get(c);
      if (st && /chrom/i.test(st.comm)) total += st.cpu;
      walk(c);
    }
  };
  walk(process.pid);
  return total;
}

const argv = process.argv.slice(2);
const runsArg = argv.indexOf('--runs');
const N = runsArg >= 0 ? Number(argv[runsArg + 1]) : 10_000;
const json = argv.includes('--json');

interface FirstPaint {
  totalMs: number;
  /** Charts (scatter, parallel coordinates) are drawn after the table's first paint. */
  chartsMs: number;
  /** Every run delivered and in the table. */
  completeMs: number;
  /** Chromium CPU time from posting the message to the table's first frame. */
  cpuMs: number;
  arriveMs: number;
  validateMs: number;
  renderMs: number;
}

async function firstPaint(v: ViewPage, runs: number): Promise<FirstPaint> {
  const table = runSummariesToTable(makeRuns(runs, { params: 15, metrics: 30, tags: 5 }));
  if (table.columns.length !== 50) throw new Error(`fixture has ${table.columns.length} columns, expected 50`);
  // The messages the extension posts (extension/src/webviews/index.ts): the first rows, then the rest in chunks.
  const [head, ...tail] = chunkRunTable(table);
  let pending = runs - (head?.rows.length ?? 0);
  const messages: unknown[] = [
    { type: 'runs', payload: { query: {}, table: head, total: runs, keyMetric: 'val/auc', pending } },
  ];
  for (const chunk of tail) {
    pending -= chunk.rows.length;
    messages.push({ type: 'patch', payload: { table: chunk, pending } });
  }
  await v.page.evaluate((m) => {
    (window as unknown as { __msgs: unknown[] }).__msgs = m;
  }, messages);
  const cpu0 = chromiumCpuMs();
  const paint = await v.page.evaluate(
    () =>
      new Promise<FirstPaint>((resolve) => {
        performance.clearMarks();
        const t0 = performance.now();
        // Each message arrives in its own task, as from the extension host; the first is posted at t0.
        const msgs = (window as unknown as { __msgs: unknown[] }).__msgs;
        msgs.forEach((m, i) => setTimeout(() => window.postMessage(m, '*'), i === 0 ? 0 : 1));
        const at = (name: string): number => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
        const poll = (): void => {
          if (performance.getEntriesByName('cairn:runs-painted').length === 0) {
            setTimeout(poll, 1);
            return;
          }
          resolve({
            totalMs: at('cairn:runs-painted') - t0,
            chartsMs: NaN,
            completeMs: NaN,
            cpuMs: NaN,
            arriveMs: at('cairn:message-arrived') - t0,
            validateMs: at('cairn:message-validated') - at('cairn:message-arrived'),
            renderMs: at('cairn:runs-rendered') - at('cairn:message-validated'),
          });
        };
        poll();
      }),
  );
  paint.cpuMs = chromiumCpuMs() - cpu0;
  await v.page.waitForFunction(() => performance.getEntriesByName('cairn:charts-drawn').length > 0);
  paint.chartsMs = await v.page.evaluate(
    () =>
      (performance.getEntriesByName('cairn:charts-drawn')[0]?.startTime ?? NaN) -
      (performance.getEntriesByName('cairn:message-arrived')[0]?.startTime ?? NaN),
  );
  paint.completeMs = await v.page.evaluate(
    () =>
      (performance.getEntriesByName('cairn:runs-complete')[0]?.startTime ??
        performance.getEntriesByName('cairn:runs-rendered')[0]?.startTime ??
        NaN) - (performance.getEntriesByName('cairn:message-arrived')[0]?.startTime ?? NaN),
  );
  return paint;
}

interface ScrollStats {
  frames: number;
  /** Chromium CPU time per frame, averaged over the scroll. */
  cpuPerFrameMs: number;
  maxMs: number;
  p95Ms: number;
  meanMs: number;
  over50: number;
  longTasks: number;
}

async function scroll(v: ViewPage, frames: number, dx: number, dy: number): Promise<ScrollStats> {
  const cpu0 = chromiumCpuMs();
  const { deltas, longTasks } = await scrollFrames(v.page, frames, dx, dy);
  const sorted = [...deltas].sort((a, b) => a - b);
  return {
    frames: deltas.length,
    cpuPerFrameMs: (chromiumCpuMs() - cpu0) / Math.max(1, deltas.length),
    maxMs: sorted[sorted.length - 1] ?? 0,
    p95Ms: sorted[Math.floor(sorted.length * 0.95)] ?? 0,
    meanMs: deltas.reduce((s, d) => s + d, 0) / Math.max(1, deltas.length),
    over50: deltas.filter((d) => d > 50).length,
    longTasks,
  };
}

async function main(): Promise<void> {
  await buildViews(true);
  // Timings depend on what else the machine runs: print the load so numbers can be judged.
  const { loadavg, cpus } = await import('node:os');
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const browser = await launch();
  try {
    const measure = async (
      runs: number,
    ): Promise<{ paint: FirstPaint; down: ScrollStats; across: ScrollStats; jump: ScrollStats }> => {
      const v = await openView(browser, 'compare', { width: 1280, height: 800 });
      try {
        const paint = await firstPaint(v, runs);
        const down = await scroll(v, 240, 0, 120);
        const across = await scroll(v, 120, 60, 0);
        const jump = await scroll(v, 60, 0, 4000);
        return { paint, down, across, jump };
      } finally {
        await v.close();
      }
    };
    const baseline = await measure(100);
    const big = await measure(N);
    const fmt = (x: number): string => x.toFixed(1);
    const result = {
      runs: N,
      columns: 50,
      baseline100: baseline,
      result: big,
      ratioFirstPaint: big.paint.totalMs / baseline.paint.totalMs,
    };
    if (json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    console.log(`compare view, ${N} runs × 50 columns (baseline: 100 runs, same run)`);
    console.log(
      `first paint     ${fmt(big.paint.totalMs)} ms (delivery ${fmt(big.paint.arriveMs)}, validate ${fmt(big.paint.validateMs)}, render ${fmt(big.paint.renderMs)}; Chromium CPU ${fmt(big.paint.cpuMs)} ms; all ${N} runs in ${fmt(big.paint.completeMs)}, charts at ${fmt(big.paint.chartsMs)}) · baseline ${fmt(baseline.paint.totalMs)} ms · ratio ${result.ratioFirstPaint.toFixed(2)} · target < 300 ms: ${big.paint.totalMs < 300 ? 'met' : 'MISSED'}`,
    );
    for (const [name, s, b] of [
      ['scroll down', big.down, baseline.down],
      ['scroll across', big.across, baseline.across],
      ['jump scroll', big.jump, baseline.jump],
    ] as const) {
      console.log(
        `${name.padEnd(15)} ${s.frames} frames: max ${fmt(s.maxMs)} ms, p95 ${fmt(s.p95Ms)} ms, mean ${fmt(s.meanMs)} ms, frames > 50 ms: ${s.over50}, CPU/frame ${fmt(s.cpuPerFrameMs)} ms, long tasks: ${s.longTasks} · baseline max ${fmt(b.maxMs)} ms · target no frame > 50 ms: ${s.over50 === 0 ? 'met' : 'MISSED'}`,
      );
    }
  } finally {
    await browser.close();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
