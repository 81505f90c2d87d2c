import {
  abEventsResponseSchema,
  invocationResponseSchema,
  ServeHeaders,
  type AbEvent,
  type SimulateSummary,
} from '@cairn/protocol';
import { cellValue, getColumn, readTable } from '../ml/data/index.js';
import { CairnError } from '../util/errors.js';

/**
 * Replays ratings that come after "now" (the recommender sample's `future` output) against a served recommender as
 * its users' traffic (docs/deploy.md, "Simulating traffic"). Each rating (user u, item i, rating r, time t), in time
 * order, is one top-k request for u (A/B key u) and one impression shown at t; when i is in the answer and r ≥ 4 the
 * user clicks i, and when r = 5 also buys it at priceOf(i). So an arm earns clicks and revenue by ranking the items
 * its users go on to like.
 */

export class SimulateError extends CairnError {
  override name = 'SimulateError';
  constructor(message: string) {
    super('invalid', message);
  }
}

/** The deterministic price rule: 1.99 plus the item id's last digit (1.99 … 10.99). */
export function priceOf(item: string | number): number {
  const digits = String(item).replace(/\D/g, '');
  return 1.99 + Number(digits.slice(-1) || '0');
}

export interface SimulateOptions {
  url: string;
  token: string | null;
  ratings: string;
  user?: string;
  item?: string;
  rating?: string;
  time?: string;
  k?: number;
  /** Replay at most this many ratings (the earliest). */
  limit?: number;
  /** Requests in flight at once. */
  concurrency?: number;
}

interface Rating {
  user: string | number;
  item: string;
  rating: number;
  at: number;
}

async function readRatings(o: SimulateOptions): Promise<Rating[]> {
  const t = await readTable(o.ratings);
  const names = {
    user: o.user ?? 'userId',
    item: o.item ?? 'movieId',
    rating: o.rating ?? 'rating',
    time: o.time ?? 'timestamp',
  };
  // getColumn's error names the file and the columns there are.
  const cols = {
    user: getColumn(t, names.user, o.ratings),
    item: getColumn(t, names.item, o.ratings),
    rating: getColumn(t, names.rating, o.ratings),
    time: getColumn(t, names.time, o.ratings),
  };
  const out: Rating[] = [];
  for (let r = 0; r < t.rowCount; r++) {
    const user = cellValue(cols.user, r);
    const item = cellValue(cols.item, r);
    const rating = Number(cellValue(cols.rating, r));
    const at = Number(cellValue(cols.time, r));
    if (user === null || item === null || !Number.isFinite(rating) || !Number.isFinite(at)) {
      throw new SimulateError(`${o.ratings}: row ${r + 2}: user, item, rating and time must all be set`);
    }
    // MovieLens timestamps are seconds; events take milliseconds.
    out.push({ user: typeof user === 'number' ? user : String(user), item: String(item), rating, at: at * 1000 });
  }
  out.sort((a, b) => a.at - b.at);
  return o.limit === undefined ? out : out.slice(0, o.limit);
}

export async function simulateTraffic(o: SimulateOptions): Promise<SimulateSummary> {
  const ratings = await readRatings(o);
  const k = o.k ?? 10;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token !== null) headers.authorization = `Bearer ${o.token}`;
  const summary: SimulateSummary = { requests: 0, impressions: 0, clicks: 0, purchases: 0, revenue: 0, accepted: 0 };
  const events: AbEvent[][] = ratings.map(() => []);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ratings.length) {
      const i = next++;
      const r = ratings[i];
      if (!r) continue;
      const res = await fetch(`${o.url}/invocations?k=${k}`, {
        method: 'POST',
        headers: { ...headers, [ServeHeaders.key]: String(r.user) },
        body: JSON.stringify({ dataframe_records: [{ [o.user ?? 'userId']: r.user }] }),
      });
      const body: unknown = await res.json();
      if (res.status !== 200)
        throw new SimulateError(`${o.url}/invocations answered ${res.status}: ${JSON.stringify(body)}`);
      summary.requests++;
      const answer = invocationResponseSchema.parse(body);
      const imp = answer.impressions?.[0];
      if (!imp)
        throw new SimulateError(
          `${o.url} answered without impressions: serve the recommender with --workspace so it logs to a deployment`,
        );
      const items = (answer.predictions[0] ?? []) as unknown;
      const shown = Array.isArray(items) ? items.map(String) : [];
      const list: AbEvent[] = [{ event_id: `${imp.id}/i`, impression_id: imp.id, type: 'impression', at: r.at }];
      if (shown.includes(r.item) && r.rating >= 4) {
        list.push({ event_id: `${imp.id}/c`, impression_id: imp.id, type: 'click', item: r.item, at: r.at + 1 });
        if (r.rating >= 5) {
          const revenue = priceOf(r.item);
          list.push({
            event_id: `${imp.id}/p`,
            impression_id: imp.id,
            type: 'purchase',
            item: r.item,
            revenue,
            at: r.at + 2,
          });
        }
      }
      events[i] = list;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 8) }, () => worker()));
  const all = events.flat();
  for (let i = 0; i < all.length; i += 1000) {
    const res = await fetch(`${o.url}/feedback`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ events: all.slice(i, i + 1000) }),
    });
    const body: unknown = await res.json();
    if (res.status !== 200)
      throw new SimulateError(`${o.url}/feedback answered ${res.status}: ${JSON.stringify(body)}`);
    summary.accepted += abEventsResponseSchema.parse(body).accepted;
  }
  for (const e of all) {
    if (e.type === 'impression') summary.impressions++;
    else if (e.type === 'click') summary.clicks++;
    else {
      summary.purchases++;
      summary.revenue += e.revenue;
    }
  }
  return summary;
}
