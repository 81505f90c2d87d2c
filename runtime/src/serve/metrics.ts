import type { BatchCounters } from './batcher.js';

/**
 * Prometheus text exposition (format 0.0.4) for the server, kept in plain counters so the hot path stays a few
 * additions. Routes are a closed set (`other` for everything unknown) so a scanner cannot grow the label space.
 */
export const ROUTES = ['/invocations', '/feedback', '/health', '/metrics', 'other'] as const;
export type Route = (typeof ROUTES)[number];

/** Seconds; dense under 10 ms where single-row predictions live. */
const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export class ServeMetrics {
  private readonly requests = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private readonly latency = new Map<Route, Histogram>();
  inFlight = 0;
  predictions = 0;
  swaps = 0;
  swapFailures = 0;
  model = '';
  /** Prediction-log rows written, and dropped (full buffer or failed write); copied from the log before rendering. */
  logged = 0;
  dropped = 0;
  /** Adaptive batching (batcher.ts): model calls, and those that coalesced several requests. */
  readonly batch: BatchCounters = { calls: 0, batches: 0, batchedRequests: 0, fallbacks: 0 };
  private readonly armRequests = { champion: 0, challenger: 0 };
  private readonly armRows = { champion: 0, challenger: 0 };

  /** A request answered (partly) by `arm`, with that arm's row count. */
  arm(arm: 'champion' | 'challenger', rows: number): void {
    this.armRequests[arm]++;
    this.armRows[arm] += rows;
  }

  observe(route: Route, status: number, seconds: number): void {
    const key = `${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    if (status >= 400) {
      const ekey = `${route}\u0000${status >= 500 ? '5xx' : '4xx'}`;
      this.errors.set(ekey, (this.errors.get(ekey) ?? 0) + 1);
    }
    let h = this.latency.get(route);
    if (!h) this.latency.set(route, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    // Cumulative counts are built at render time; here only the first bucket that holds the value is bumped.
    const i = BUCKETS.findIndex((b) => seconds <= b);
    if (i >= 0) h.counts[i] = (h.counts[i] ?? 0) + 1;
    h.sum += seconds;
    h.count++;
  }

  render(): string {
    const out: string[] = [];
    out.push(
      '# HELP cairn_serve_requests_total HTTP requests by route and status code.',
      '# TYPE cairn_serve_requests_total counter',
    );
    for (const [k, v] of [...this.requests].sort()) {
      const [route, status] = k.split('\u0000');
      out.push(`cairn_serve_requests_total{route="${escape(route ?? '')}",status="${status ?? ''}"} ${v}`);
    }
    out.push(
      '# HELP cairn_serve_errors_total Requests answered with an error, by route and class (4xx client, 5xx server).',
      '# TYPE cairn_serve_errors_total counter',
    );
    for (const [k, v] of [...this.errors].sort()) {
      const [route, cls] = k.split('\u0000');
      out.push(`cairn_serve_errors_total{route="${escape(route ?? '')}",class="${cls ?? ''}"} ${v}`);
    }
    out.push(
      '# HELP cairn_serve_request_duration_seconds Time from request start to response end.',
      '# TYPE cairn_serve_request_duration_seconds histogram',
    );
    for (const route of ROUTES) {
      const h = this.latency.get(route);
      if (!h) continue;
      let cum = 0;
      BUCKETS.forEach((b, i) => {
        cum += h.counts[i] ?? 0;
        out.push(`cairn_serve_request_duration_seconds_bucket{route="${route}",le="${b}"} ${cum}`);
      });
      out.push(`cairn_serve_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`);
      out.push(`cairn_serve_request_duration_seconds_sum{route="${route}"} ${h.sum}`);
      out.push(`cairn_serve_request_duration_seconds_count{route="${route}"} ${h.count}`);
    }
    out.push(
      '# HELP cairn_serve_in_flight_requests Requests being handled now.',
      '# TYPE cairn_serve_in_flight_requests gauge',
      `cairn_serve_in_flight_requests ${this.inFlight}`,
    );
    out.push(
      '# HELP cairn_serve_predictions_total Rows predicted.',
      '# TYPE cairn_serve_predictions_total counter',
      `cairn_serve_predictions_total ${this.predictions}`,
    );
    out.push(
      '# HELP cairn_serve_arm_requests_total Prediction requests by A/B arm (a request split across both counts for each).',
      '# TYPE cairn_serve_arm_requests_total counter',
    );
    for (const a of ['champion', 'challenger'] as const)
      out.push(`cairn_serve_arm_requests_total{arm="${a}"} ${this.armRequests[a]}`);
    out.push(
      '# HELP cairn_serve_arm_rows_total Rows predicted by A/B arm.',
      '# TYPE cairn_serve_arm_rows_total counter',
    );
    for (const a of ['champion', 'challenger'] as const)
      out.push(`cairn_serve_arm_rows_total{arm="${a}"} ${this.armRows[a]}`);
    out.push(
      '# HELP cairn_predictions_logged_total Rows written to the prediction log.',
      '# TYPE cairn_predictions_logged_total counter',
      `cairn_predictions_logged_total ${this.logged}`,
    );
    out.push(
      '# HELP cairn_predictions_dropped_total Rows the prediction log dropped (its buffer was full, or a write failed); requests are never held up.',
      '# TYPE cairn_predictions_dropped_total counter',
      `cairn_predictions_dropped_total ${this.dropped}`,
    );
    const b = this.batch;
    out.push(
      '# HELP cairn_serve_model_calls_total Model calls made for /invocations (batching makes fewer calls than requests).',
      '# TYPE cairn_serve_model_calls_total counter',
      `cairn_serve_model_calls_total ${b.calls}`,
    );
    out.push(
      '# HELP cairn_serve_batches_total Model calls that coalesced several requests.',
      '# TYPE cairn_serve_batches_total counter',
      `cairn_serve_batches_total ${b.batches}`,
    );
    out.push(
      '# HELP cairn_serve_batched_requests_total Requests answered by a coalesced call.',
      '# TYPE cairn_serve_batched_requests_total counter',
      `cairn_serve_batched_requests_total ${b.batchedRequests}`,
    );
    out.push(
      '# HELP cairn_serve_batch_fallbacks_total Coalesced calls that failed and were retried request by request.',
      '# TYPE cairn_serve_batch_fallbacks_total counter',
      `cairn_serve_batch_fallbacks_total ${b.fallbacks}`,
    );
    out.push(
      '# HELP cairn_serve_model_swaps_total Successful model swaps.',
      '# TYPE cairn_serve_model_swaps_total counter',
      `cairn_serve_model_swaps_total ${this.swaps}`,
    );
    out.push(
      '# HELP cairn_serve_model_swap_failures_total Swaps refused because the new model did not load (the old one kept serving).',
      '# TYPE cairn_serve_model_swap_failures_total counter',
      `cairn_serve_model_swap_failures_total ${this.swapFailures}`,
    );
    out.push(
      '# HELP cairn_serve_model_info The model being served.',
      '# TYPE cairn_serve_model_info gauge',
      `cairn_serve_model_info{path="${escape(this.model)}"} 1`,
    );
    return out.join('\n') + '\n';
  }
}
