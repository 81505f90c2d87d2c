/**
 * bench/ui/profile.ts — where the compare table's scroll frames go. Loads the compare view with 10,000 runs × 50
 * columns in headless Chromium (unminified bundle), then records a Chrome trace (devtools.timeline) of one scroll
 * mode and prints the renderer main thread's self time by trace event (script, style recalc, layout, paint...) and,
 * with --js, a CPU profile's top functions by self time.
 * Run: node --import tsx bench/ui/profile.ts [--mode jump|down|across] [--frames 60] [--js]
 */
import { chunkRunTable, runSummariesToTable } from '@cairn/protocol';
import { makeRuns } from '../../test/fixtures/webviews/compareFixture.js';
import { buildViews, launch, openView } from '../../test/webviews/harness.js';
import { scrollFrames } from './scroll.js';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};
const mode = arg('--mode', 'jump');
const frames = Number(arg('--frames', '60'));
const runs = Number(arg('--runs', '10000'));
const steps: Record<string, [number, number]> = { jump: [0, 4000], down: [0, 120], across: [60, 0] };
const chosen = steps[mode];
if (!chosen) throw new Error(`--mode ${mode}: use jump, down or across`);
const step: [number, number] = chosen;

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  /** Thread (CPU) time, when the trace has it: unlike `dur`, it does not count waiting for a core. */
  tdur?: number;
  pid: number;
  tid: number;
  args?: { name?: string };
}

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self CPU time per event name on one thread: complete ('X') events nest, so a parent's time excludes its
 * children's. Thread time (`tdur`) where the event has it, else wall time.
 */
function selfTimes(events: TraceEvent[]): { self: Map<string, number>; topLevel: number[] } {
  const out = new Map<string, number>();
  const topLevel: number[] = [];
  const sorted = events
    .filter((e) => e.ph === 'X' && e.dur !== undefined)
    .sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const stack: Array<{ e: TraceEvent; end: number; child: number }> = [];
  const close = (upTo: number): void => {
    while (stack.length > 0 && (stack[stack.length - 1]?.end ?? Infinity) <= upTo) {
      const top = stack.pop();
      if (!top) break;
      const cpu = top.e.tdur ?? top.e.dur ?? 0;
      out.set(top.e.name, (out.get(top.e.name) ?? 0) + Math.max(0, cpu - top.child));
      const parent = stack[stack.length - 1];
      if (parent) parent.child += cpu;
      else topLevel.push(cpu / 1000);
    }
  };
  for (const e of sorted) {
    close(e.ts);
    stack.push({ e, end: e.ts + (e.dur ?? 0), child: 0 });
  }
  close(Infinity);
  return { self: out, topLevel };
}

async function main(): Promise<void> {
  await buildViews(false);
  const browser = await launch();
  try {
    const v = await openView(browser, 'compare', { width: 1280, height: 800 });
    const table = runSummariesToTable(makeRuns(runs, { params: 15, metrics: 30, tags: 5 }));
    const [head, ...tail] = chunkRunTable(table);
    let pending = runs - (head?.rows.length ?? 0);
    await v.send({ type: 'runs', payload: { query: {}, table: head, total: runs, pending } });
    for (const chunk of tail) {
      pending -= chunk.rows.length;
      await v.send({ type: 'patch', payload: { table: chunk, pending } });
    }
    await v.page.waitForFunction(() => performance.getEntriesByName('cairn:charts-drawn').length > 0);
    console.log('loaded; profiling');
    const cdp = await v.page.context().newCDPSession(v.page);
    if (argv.includes('--js')) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await cdp.send('Profiler.start');
    } else {
      await browser.startTracing(v.page, {
        categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'v8.execute'],
      });
    }
    const { deltas: wall } = await scrollFrames(v.page, frames, step[0], step[1]);
    const sorted = [...wall].sort((a, b) => a - b);
    console.log(
      `${mode} scroll, ${wall.length} frames: median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms, max ${sorted[sorted.length - 1]?.toFixed(1)} ms, > 50 ms: ${wall.filter((d) => d > 50).length}`,
    );
    if (argv.includes('--js')) {
      const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: CpuProfile };
      const self = new Map<number, number>();
      profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
      const byFn = new Map<string, number>();
      for (const node of profile.nodes) {
        const f = node.callFrame;
        const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop() ?? ''}:${f.lineNumber + 1}`;
        byFn.set(name, (byFn.get(name) ?? 0) + (self.get(node.id) ?? 0));
      }
      const top = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 25);
      for (const [name, us] of top)
        console.log(`${(us / 1000 / wall.length).toFixed(2).padStart(8)} ms/frame  ${name}`);
    } else {
      const buf = await browser.stopTracing();
      const trace = JSON.parse(buf.toString('utf8')) as { traceEvents: TraceEvent[] };
      const threads = new Map<string, string>();
      for (const e of trace.traceEvents)
        if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name) threads.set(`${e.pid}:${e.tid}`, e.args.name);
      const byThread = new Map<string, TraceEvent[]>();
      for (const e of trace.traceEvents) {
        const t = threads.get(`${e.pid}:${e.tid}`) ?? 'unknown';
        if (!/CrRendererMain|Compositor|VizCompositor|CrGpuMain/.test(t)) continue;
        const key = `${t} (${e.pid})`;
        let list = byThread.get(key);
        if (!list) byThread.set(key, (list = []));
        list.push(e);
      }
      for (const [thread, events] of byThread) {
        const { self: byName, topLevel: tasks } = selfTimes(events);
        const self = [...byName].sort((a, b) => b[1] - a[1]).filter(([, us]) => us / wall.length > 100);
        const total = self.reduce((s, [, us]) => s + us, 0);
        if (total / wall.length < 500) continue;
        // Top-level tasks: the longest is a lower bound of the worst frame on an idle machine.
        const longest = tasks.reduce((m, t) => Math.max(m, t), 0);
        console.log(
          `\n${thread}: ${(total / 1000 / wall.length).toFixed(1)} ms CPU/frame; longest task ${longest.toFixed(1)} ms CPU, tasks over 50 ms CPU: ${tasks.filter((t) => t > 50).length}`,
        );
        for (const [name, us] of self.slice(0, 15))
          console.log(`${(us / 1000 / wall.length).toFixed(2).padStart(8)} ms/frame  ${name}`);
      }
    }
    await v.close();
  } finally {
    await browser.close();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
