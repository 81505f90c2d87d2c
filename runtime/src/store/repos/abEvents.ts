import type { AbEvent, AbEventsResponse, ServedImpression } from '@cairn/protocol';
import type { SqlDb } from '../sql.js';

/** Impressions of served top-k answers and their events (migration 8): the data of an A/B test on business metrics. */

export interface NewImpression extends ServedImpression {
  deploymentId: number;
  /** The answer's items (the prediction row), as JSON. */
  itemsJson: string;
  servedAt: number;
}

/** One shown impression and what followed it: what the business statistics count per arm. */
export interface ImpressionOutcome {
  arm: string;
  version: number | null;
  /** When the impression event says it was shown. */
  shownAt: number;
  clicked: boolean;
  purchased: boolean;
  revenue: number;
}

/** Events naming impression ids this store never issued: their indexes in the request. */
export class UnknownImpressionError extends Error {
  constructor(readonly indexes: number[]) {
    super(`unknown impression ids at events ${indexes.join(', ')}`);
  }
}

const CHUNK = 500;

export class AbEventRepository {
  constructor(private readonly db: SqlDb) {}

  async addImpressions(rows: readonly NewImpression[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.tx(async (t) => {
      for (const r of rows) {
        await t.run(
          'INSERT INTO ab_impressions (id, deployment_id, arm, version, items_json, served_at) VALUES (?, ?, ?, ?, ?, ?)',
          [r.id, r.deploymentId, r.arm, r.version, r.itemsJson, r.servedAt],
        );
      }
    });
  }

  /**
   * Stores events all or none: any naming an impression not issued to `deploymentId` throws UnknownImpressionError
   * and stores nothing; an event id already stored is a retry, counted as `duplicate` and left as it was.
   */
  async addEvents(deploymentId: number, events: readonly AbEvent[], receivedAt: number): Promise<AbEventsResponse> {
    return this.db.tx(async (t) => {
      const ids = [...new Set(events.map((e) => e.impression_id))];
      const known = new Set<string>();
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        const rows = await t.all<{ id: string }>(
          `SELECT id FROM ab_impressions WHERE deployment_id = ? AND id IN (${chunk.map(() => '?').join(', ')})`,
          [deploymentId, ...chunk],
        );
        for (const r of rows) known.add(r.id);
      }
      const unknown = events.flatMap((e, i) => (known.has(e.impression_id) ? [] : [i]));
      if (unknown.length > 0) throw new UnknownImpressionError(unknown);
      let accepted = 0;
      for (const e of events) {
        accepted += await t.run(
          `INSERT INTO ab_events (event_id, impression_id, kind, item, revenue, occurred_at, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
          [
            e.event_id,
            e.impression_id,
            e.type,
            e.type === 'impression' ? null : (e.item ?? null),
            e.type === 'purchase' ? e.revenue : null,
            e.at ?? receivedAt,
            receivedAt,
          ],
        );
      }
      return { accepted, duplicate: events.length - accepted };
    });
  }

  /** The shown impressions of a deployment in the order they were shown, each with its clicks and purchases. */
  async outcomes(deploymentId: number): Promise<ImpressionOutcome[]> {
    const rows = await this.db.all<{
      arm: string;
      version: number | null;
      shown_at: number;
      clicks: number;
      purchases: number;
      revenue: number | null;
    }>(
      `SELECT i.arm, i.version, s.shown_at,
              (SELECT COUNT(*) FROM ab_events c WHERE c.impression_id = i.id AND c.kind = 'click') AS clicks,
              (SELECT COUNT(*) FROM ab_events p WHERE p.impression_id = i.id AND p.kind = 'purchase') AS purchases,
              (SELECT SUM(p.revenue) FROM ab_events p WHERE p.impression_id = i.id AND p.kind = 'purchase') AS revenue
         FROM ab_impressions i
         JOIN (SELECT impression_id, MIN(occurred_at) AS shown_at FROM ab_events WHERE kind = 'impression'
               GROUP BY impression_id) s ON s.impression_id = i.id
        WHERE i.deployment_id = ?
        ORDER BY s.shown_at, i.id`,
      [deploymentId],
    );
    return rows.map((r) => ({
      arm: r.arm,
      version: r.version,
      shownAt: Number(r.shown_at),
      clicked: Number(r.clicks) > 0,
      purchased: Number(r.purchases) > 0,
      revenue: Number(r.revenue ?? 0),
    }));
  }
}
