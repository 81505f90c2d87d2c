import type { CompareCell, CompareColumn, CompareRow, RunTable } from '@cairn/protocol/webviews/compare.js';

/**
 * The rows of a windowed compare view (more runs than it holds at once, `runs.window`): pages of `pageSize` rows by
 * display position, in the runtime's order. The view shows placeholders for rows it does not hold, asks for the
 * pages around the viewport (nearest first) and forgets the pages far from it, so what it holds stays bounded
 * however many runs there are. A sort or filter change (`reset`) is a new generation: pages of an older one are
 * dropped when they arrive. Columns are fixed by the first table (the newest runs' columns).
 */

/** Pages asked beyond the visible ones, on each side: a screen or more of slack when scrolling steadily. */
export const MARGIN_PAGES = 1;
/** Pages held at most; the ones farthest from the viewport go first. */
export const MAX_PAGES = 48;

export class RowWindow {
  generation = 0;
  total: number;
  readonly columns: CompareColumn[];
  private readonly pages = new Map<number, CompareRow[]>();
  /** The pages of the last request, as sent ('' before any): a viewport that needs the same pages sends nothing. */
  private asked = '';

  constructor(
    readonly pageSize: number,
    first: RunTable,
    total: number,
  ) {
    this.columns = first.columns;
    this.total = total;
    for (let p = 0; p * pageSize < first.rows.length; p++) {
      this.pages.set(p, first.rows.slice(p * pageSize, (p + 1) * pageSize));
    }
  }

  get pageCount(): number {
    return Math.ceil(this.total / this.pageSize);
  }

  /** The row at a display position, or undefined while its page is not here. */
  row(pos: number): CompareRow | undefined {
    return this.pages.get(Math.floor(pos / this.pageSize))?.[pos % this.pageSize];
  }

  /** Pages held (for tests and the view's count). */
  held(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  /** The pages rows first..last need and the window does not hold: the visible ones in order, then the margins. */
  needed(first: number, last: number): number[] {
    if (this.total === 0 || last < first) return [];
    const lo = Math.max(0, Math.floor(first / this.pageSize));
    const hi = Math.min(this.pageCount - 1, Math.floor(last / this.pageSize));
    const out: number[] = [];
    for (let p = lo; p <= hi; p++) out.push(p);
    for (let m = 1; m <= MARGIN_PAGES; m++) {
      if (hi + m < this.pageCount) out.push(hi + m);
      if (lo - m >= 0) out.push(lo - m);
    }
    return out.filter((p) => !this.pages.has(p));
  }

  /**
   * The pages to ask for when the viewport shows rows first..last, or undefined when the last request already asked
   * for exactly these. An empty list after a non-empty one is a request too: it drops what the host still has queued.
   */
  request(first: number, last: number): number[] | undefined {
    const pages = this.needed(first, last);
    const key = pages.join(',');
    if (key === this.asked) return undefined;
    this.asked = key;
    return pages;
  }

  /** Takes a page from the host (columns mapped onto the window's); false when of an older generation. */
  accept(generation: number, page: number, table: RunTable, total: number): boolean {
    if (generation !== this.generation) return false;
    this.total = total;
    this.pages.set(page, this.onColumns(table));
    return true;
  }

  /**
   * A live change (a run finished, a metric arrived): the held rows of those runs are replaced where they stand.
   * Runs not held are not placed (where they sort is the runtime's; the next pages read have them). True: a row changed.
   */
  patch(table: RunTable): boolean {
    const byId = new Map(this.onColumns(table).map((r) => [r.id, r]));
    let changed = false;
    for (const rows of this.pages.values()) {
      rows.forEach((r, i) => {
        const next = byId.get(r.id);
        if (next) {
          rows[i] = next;
          changed = true;
        }
      });
    }
    return changed;
  }

  /** A table's rows with the window's columns, matched by key (a column the window lacks is not shown). */
  private onColumns(table: RunTable): CompareRow[] {
    const same =
      table.columns.length === this.columns.length && table.columns.every((c, i) => c.key === this.columns[i]?.key);
    if (same) return table.rows;
    const at = new Map(table.columns.map((c, i) => [c.key, i]));
    const from = this.columns.map((c) => at.get(c.key));
    return table.rows.map((r) => ({
      ...r,
      values: from.map((i): CompareCell => (i === undefined ? null : (r.values[i] ?? null))),
    }));
  }

  /** Forgets the pages farthest from rows first..last while more than MAX_PAGES are held. */
  evict(first: number, last: number): void {
    if (this.pages.size <= MAX_PAGES) return;
    const centre = (first + last) / 2 / this.pageSize;
    const far = [...this.pages.keys()].sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
    for (const p of far.slice(0, this.pages.size - MAX_PAGES)) this.pages.delete(p);
  }

  /** A sort or filter change: every page goes, the next request is of a new generation. */
  reset(): number {
    this.generation++;
    this.pages.clear();
    this.asked = '';
    return this.generation;
  }

  /** The first rows held without a gap, at most `max`: what charts can show of a window. */
  head(max: number): CompareRow[] {
    const out: CompareRow[] = [];
    for (let p = 0; out.length < max; p++) {
      const rows = this.pages.get(p);
      if (!rows) break;
      out.push(...rows.slice(0, max - out.length));
      if (rows.length < this.pageSize) break;
    }
    return out;
  }
}
