import uPlot from 'uplot';
import type { MetricHistory } from '@cairn/protocol/runtime/model.js';
import type { CompareColumn, RunTable } from '@cairn/protocol/webviews/compare.js';
import { mountChart, paddedRange, scatterPoints, themedAxes } from '../kit/chart.js';
import { h } from '../kit/dom.js';
import { formatNumber } from '../kit/format.js';
import { readTheme, seriesColor } from '../kit/theme.js';

/** Metric histories of any number of runs, overlaid (uPlot), with a legend pinned beside the plot. */
export class HistoryChart {
  readonly plot = h('div', { className: 'plot', role: 'img' });
  readonly legend = h('ul', { className: 'legend', 'aria-label': 'Runs in the chart' });
  private current: { dispose(): void } | undefined;

  show(metric: string, histories: MetricHistory[], colorOf: (runId: number) => string): void {
    this.current?.dispose();
    this.current = undefined;
    this.legend.replaceChildren();
    const withPoints = histories.filter((s) => s.points.length > 0);
    this.plot.setAttribute('aria-label', `${metric} over steps for ${withPoints.length} runs`);
    if (withPoints.length === 0) {
      this.plot.replaceChildren(h('div', { className: 'empty' }, `No history of ${metric} for these runs.`));
      return;
    }
    this.plot.replaceChildren();
    // Each run has its own steps; join() aligns them on the union of x values, with gaps where a run has none.
    const tables: uPlot.AlignedData[] = withPoints.map((s) => [
      s.points.map((p) => p.step),
      s.points.map((p) => p.value),
    ]);
    const data = withPoints.length === 1 ? (tables[0] as uPlot.AlignedData) : uPlot.join(tables);
    const theme = readTheme();
    const values: HTMLElement[] = [];
    for (const s of withPoints) {
      const v = h('span', { className: 'val' }, formatNumber(s.points[s.points.length - 1]?.value ?? NaN));
      values.push(v);
      const sw = h('span', { className: 'swatch' });
      sw.style.background = colorOf(s.runId);
      this.legend.append(
        h(
          'li',
          { title: s.downsampled ? `${s.points.length} of ${s.total} points (downsampled)` : `${s.total} points` },
          sw,
          h('span', {}, `#${s.runId}`),
          v,
        ),
      );
    }
    const width = withPoints.length > 50 ? 1 : 1.5;
    this.current = mountChart(
      this.plot,
      {
        legend: { show: false },
        scales: { x: { time: false } },
        axes: themedAxes(theme, 'step', metric),
        series: [
          { label: 'step' },
          ...withPoints.map((s) => ({
            label: `#${s.runId}`,
            stroke: colorOf(s.runId),
            width,
            spanGaps: true,
            points: { show: false },
          })),
        ],
        cursor: { points: { show: false } },
        hooks: {
          // The pinned legend shows each run's value under the cursor (its last value when the cursor leaves).
          setCursor: [
            (u) => {
              const idx = u.cursor.idx;
              withPoints.forEach((s, i) => {
                const y =
                  idx === null || idx === undefined ? s.points[s.points.length - 1]?.value : u.data[i + 1]?.[idx];
                const el = values[i];
                if (el) el.textContent = y === null || y === undefined ? '—' : formatNumber(y);
              });
            },
          ],
        },
      },
      data,
    );
  }

  clear(message: string): void {
    this.current?.dispose();
    this.current = undefined;
    this.legend.replaceChildren();
    this.plot.replaceChildren(h('div', { className: 'empty' }, message));
  }
}

/** A param (or metric) against a metric, one dot per run; selected runs drawn on top in the accent colour. */
export class ScatterChart {
  readonly plot = h('div', { className: 'plot', role: 'img' });
  private current: { dispose(): void } | undefined;

  show(
    table: RunTable,
    rows: readonly number[],
    x: CompareColumn,
    y: CompareColumn,
    selected: ReadonlySet<number>,
  ): void {
    this.current?.dispose();
    this.current = undefined;
    const xi = table.columns.indexOf(x);
    const yi = table.columns.indexOf(y);
    const all: [Array<number | null>, Array<number | null>] = [[], []];
    const sel: [Array<number | null>, Array<number | null>] = [[], []];
    for (const r of rows) {
      const row = table.rows[r];
      const xv = row?.values[xi];
      const yv = row?.values[yi];
      if (typeof xv !== 'number' || typeof yv !== 'number' || !row) continue;
      const target = selected.has(row.id) ? sel : all;
      target[0].push(xv);
      target[1].push(yv);
    }
    this.plot.setAttribute('aria-label', `${y.name} against ${x.name} for ${all[0].length + sel[0].length} runs`);
    if (all[0].length + sel[0].length === 0) {
      this.plot.replaceChildren(h('div', { className: 'empty' }, `No run has numeric ${x.name} and ${y.name}.`));
      return;
    }
    this.plot.replaceChildren();
    const theme = readTheme();
    const xr = paddedRange([...all[0], ...sel[0]]);
    const yr = paddedRange([...all[1], ...sel[1]]);
    const dim = rows.length > 2000 ? 'rgba(78,121,167,0.35)' : 'rgba(78,121,167,0.7)';
    this.current = mountChart(
      this.plot,
      {
        mode: 2,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: xr }, y: { range: yr } },
        axes: themedAxes(theme, x.name, y.name),
        series: [
          {},
          { label: 'runs', stroke: dim, fill: dim, paths: scatterPoints(rows.length > 2000 ? 1.5 : 3) },
          { label: 'selected', stroke: theme.warning, fill: theme.warning, paths: scatterPoints(4) },
        ],
      },
      [null, all, sel] as unknown as uPlot.AlignedData,
    );
  }

  clear(message: string): void {
    this.current?.dispose();
    this.current = undefined;
    this.plot.replaceChildren(h('div', { className: 'empty' }, message));
  }
}

/**
 * Parallel coordinates on a canvas: one vertical axis per column (min at the bottom, max at the top), one polyline
 * per run, coloured by the last axis. Drawn by hand: uPlot has no such chart and the alternatives (d3, ECharts)
 * would add 100–900 kB for one plot; with canvas, 10,000 lines draw in a few milliseconds.
 */
/** Text in lines no wider than `width` (a narrow panel cuts a long line otherwise). */
function fillWrapped(
  ctx: CanvasRenderingContext2D,
  text: string,
  x: number,
  y: number,
  width: number,
  lineHeight: number,
) {
  let line = '';
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(next).width > width) {
      ctx.fillText(line, x, y);
      y += lineHeight;
      line = word;
    } else line = next;
  }
  if (line) ctx.fillText(line, x, y);
}

export class ParallelChart {
  readonly element = h('div', { className: 'plot', role: 'img' });
  private readonly canvas = h('canvas');
  private last: (() => void) | undefined;

  constructor() {
    this.element.append(this.canvas);
    new ResizeObserver(() => this.last?.()).observe(this.element);
  }

  show(table: RunTable, rows: readonly number[], axes: CompareColumn[], selected: ReadonlySet<number>): void {
    this.last = () => this.draw(table, rows, axes, selected);
    this.draw(table, rows, axes, selected);
  }

  private draw(table: RunTable, rows: readonly number[], axes: CompareColumn[], selected: ReadonlySet<number>): void {
    const theme = readTheme();
    const w = Math.max(120, this.element.clientWidth);
    const hgt = Math.max(120, this.element.clientHeight);
    const dpr = devicePixelRatio;
    this.canvas.width = w * dpr;
    this.canvas.height = hgt * dpr;
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${hgt}px`;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, w, hgt);
    this.element.setAttribute(
      'aria-label',
      `Parallel coordinates of ${rows.length} runs over ${axes.map((a) => a.name).join(', ')}`,
    );
    if (axes.length < 2) {
      ctx.fillStyle = theme.muted;
      ctx.font = '12px sans-serif';
      fillWrapped(ctx, 'Needs two numeric columns that differ between runs.', 12, 24, w - 24, 16);
      return;
    }
    const top = 28;
    const bottom = hgt - 22;
    const left = 40;
    const right = w - 40;
    const idx = axes.map((a) => table.columns.indexOf(a));
    const ranges = idx.map((ci) =>
      paddedRange(
        rows.map((r) => {
          const v = table.rows[r]?.values[ci];
          return typeof v === 'number' ? v : null;
        }),
        0,
      ),
    );
    const xAt = (i: number): number => left + ((right - left) * i) / (axes.length - 1);
    const yAt = (i: number, v: number): number => {
      const [lo, hi] = ranges[i] ?? [0, 1];
      return bottom - ((v - lo) / (hi - lo)) * (bottom - top);
    };
    const [clo, chi] = ranges[axes.length - 1] ?? [0, 1];
    const trace = (path: Path2D, values: ReadonlyArray<unknown>): void => {
      let pen = false;
      idx.forEach((ci, i) => {
        const v = values[ci];
        if (typeof v !== 'number') {
          pen = false;
          return;
        }
        if (pen) path.lineTo(xAt(i), yAt(i, v));
        else path.moveTo(xAt(i), yAt(i, v));
        pen = true;
      });
    };
    const line = (r: number, color: string): void => {
      const row = table.rows[r];
      if (!row) return;
      const path = new Path2D();
      trace(path, row.values);
      ctx.strokeStyle = color;
      ctx.stroke(path);
    };
    ctx.lineWidth = 1;
    ctx.globalAlpha = rows.length > 1000 ? 0.12 : rows.length > 100 ? 0.35 : 0.8;
    // One path per colour band rather than one stroke per run: 10,000 runs draw in a few milliseconds.
    const bands = 12;
    const paths = Array.from({ length: bands }, () => new Path2D());
    for (const r of rows) {
      const row = table.rows[r];
      if (!row || selected.has(row.id)) continue;
      const c = row.values[idx[axes.length - 1] ?? 0];
      const t = typeof c === 'number' && chi > clo ? (c - clo) / (chi - clo) : 0.5;
      const path = paths[Math.min(bands - 1, Math.max(0, Math.floor(t * bands)))];
      if (path) trace(path, row.values);
    }
    paths.forEach((p, b) => {
      ctx.strokeStyle = `hsl(${210 - (180 * (b + 0.5)) / bands}, 70%, 55%)`;
      ctx.stroke(p);
    });
    ctx.globalAlpha = 1;
    ctx.lineWidth = 2;
    for (const r of rows) if (selected.has(table.rows[r]?.id ?? -1)) line(r, theme.warning);
    ctx.lineWidth = 1;
    ctx.strokeStyle = theme.muted;
    ctx.fillStyle = theme.foreground;
    ctx.font = '11px sans-serif';
    ctx.textAlign = 'center';
    axes.forEach((a, i) => {
      const x = xAt(i);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
      ctx.fillText(a.name.length > 14 ? `${a.name.slice(0, 13)}…` : a.name, x, top - 14);
      const [lo, hi] = ranges[i] ?? [0, 1];
      ctx.fillStyle = theme.muted;
      ctx.fillText(formatNumber(Number(hi.toPrecision(3))), x, top - 3);
      ctx.fillText(formatNumber(Number(lo.toPrecision(3))), x, bottom + 13);
      ctx.fillStyle = theme.foreground;
    });
  }
}

export { seriesColor };
