import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatNumber } from './format.js';
import type { Theme } from './theme.js';

/** uPlot glue shared by the views: themed axes, sizing to the container, and a scatter point renderer. */

export function themedAxes(theme: Theme, xLabel?: string, yLabel?: string): uPlot.Axis[] {
  const axis = (label?: string): uPlot.Axis => ({
    stroke: theme.muted,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1 },
    values: (_u, splits) => splits.map((v) => formatNumber(v)),
    ...(label ? { label, labelSize: 16 } : {}),
  });
  return [axis(xLabel), axis(yLabel)];
}

/** Creates a chart that fills `container` and follows its size. Returns the chart and a disposer. */
export function mountChart(
  container: HTMLElement,
  opts: Omit<uPlot.Options, 'width' | 'height'>,
  data: uPlot.AlignedData,
): { chart: uPlot; dispose(): void } {
  const size = (): { width: number; height: number } => ({
    width: Math.max(120, container.clientWidth),
    height: Math.max(80, container.clientHeight),
  });
  const chart = new uPlot({ ...opts, ...size() }, data, container);
  const ro = new ResizeObserver(() => chart.setSize(size()));
  ro.observe(container);
  return {
    chart,
    dispose: () => {
      ro.disconnect();
      chart.destroy();
    },
  };
}

/** Path builder drawing each (x, y) of a mode-2 (scatter) series as a dot; uPlot ships no scatter renderer. */
export function scatterPoints(radius: number): uPlot.Series.PathBuilder {
  return (u, seriesIdx) => {
    const facets = u.data[seriesIdx] as unknown as [ArrayLike<number | null>, ArrayLike<number | null>];
    const series = u.series[seriesIdx];
    const xs = u.scales.x;
    const ys = u.scales.y;
    if (!series || !xs || !ys) return null;
    const ctx = u.ctx;
    const r = radius * devicePixelRatio;
    const path = new Path2D();
    for (let i = 0; i < facets[0].length; i++) {
      const x = facets[0][i];
      const y = facets[1][i];
      if (x === null || y === null || x === undefined || y === undefined) continue;
      if (
        x < (xs.min ?? -Infinity) ||
        x > (xs.max ?? Infinity) ||
        y < (ys.min ?? -Infinity) ||
        y > (ys.max ?? Infinity)
      )
        continue;
      const cx = u.valToPos(x, 'x', true);
      const cy = u.valToPos(y, 'y', true);
      path.moveTo(cx + r, cy);
      path.arc(cx, cy, r, 0, 2 * Math.PI);
    }
    ctx.save();
    ctx.fillStyle = typeof series.fill === 'string' ? series.fill : '#4e79a7';
    ctx.strokeStyle = typeof series.stroke === 'string' ? series.stroke : '#4e79a7';
    ctx.fill(path);
    ctx.stroke(path);
    ctx.restore();
    return null;
  };
}

/** [min, max] padded by `pad` of the span (a flat range gets ±1), for scales uPlot cannot infer in scatter mode. */
export function paddedRange(values: ArrayLike<number | null>, padding = 0.05): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const pad = (hi - lo) * padding;
  return [lo - pad, hi + pad];
}
