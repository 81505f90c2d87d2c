import type {
  CompareFromView,
  CompareQuery,
  CompareSort,
  CompareToView,
  RunCursor,
  RunPage,
  RunPageRequest,
  RunSort,
} from '@cairn/protocol';

/** Rows of the first page: the first screen and then some, small enough to paint at once. */
export const FIRST_PAGE = 1000;
/** Rows of each following page (the view merges them as they come; charts wait for the last). */
export const NEXT_PAGE = 2500;
/** Rows of a windowed view's page (over `max` runs): a few screens; the first page is FIRST_PAGE / WINDOW_PAGE of them. */
export const WINDOW_PAGE = 250;

type Request = (params: RunPageRequest.Params) => Promise<RunPage>;
type RequestPages = Extract<CompareFromView, { type: 'requestPages' }>['payload'];

/** The order the view opens in, and the one a windowed view's unsorted requests mean. */
const NEWEST_FIRST: RunSort = { by: 'startedAt', order: 'desc' };

/** A view's sort as the runtime's (`run:startedAt` → startedAt; params and metrics by their key). */
export function toRunSort(sort: CompareSort | undefined): RunSort {
  if (!sort) return NEWEST_FIRST;
  const fixed = { 'run:id': 'id', 'run:status': 'status', 'run:pipeline': 'pipeline', 'run:startedAt': 'startedAt' };
  const by = fixed[sort.key as keyof typeof fixed] ?? sort.key;
  return { by, order: sort.dir };
}

/**
 * The newest runs of a compare query (`query.pipeline`, else the workspace), page by page from the runtime's keyset
 * pages (`runtime/runsPage`): the first page goes out as `runs` as soon as it is read. Up to `max` runs, the rest
 * follow as `patch` messages and the view holds them all (it sorts and filters itself). Over `max`, the view is
 * windowed: it gets the first page only and asks for the pages it shows through the returned pager.
 */
export async function postRunPages(
  request: Request,
  query: CompareQuery,
  post: (message: CompareToView) => void,
  max: number,
): Promise<RunPager | undefined> {
  const filter = query.pipeline ? { pipeline: query.pipeline } : undefined;
  const sort = NEWEST_FIRST;
  const first = await request({ filter, sort, limit: Math.min(FIRST_PAGE, max), withTotal: true });
  const total = first.total ?? first.table.rows.length;
  let sent = first.table.rows.length;
  if (total > max && first.next) {
    post({ type: 'runs', payload: { query, table: first.table, total, window: { pageSize: WINDOW_PAGE } } });
    // The cursor is where page sent / WINDOW_PAGE starts when the first page is whole pages (FIRST_PAGE is).
    const page = sent / WINDOW_PAGE;
    return new RunPager(request, query, post, {
      total,
      ...(Number.isInteger(page) ? { page, after: first.next } : {}),
    });
  }
  const wanted = Math.min(total, max);
  post({ type: 'runs', payload: { query, table: first.table, total, pending: first.next ? wanted - sent : 0 } });
  let after = first.next;
  while (after && sent < wanted) {
    const page = await request({ filter, sort, limit: Math.min(NEXT_PAGE, wanted - sent), after });
    sent += page.table.rows.length;
    after = page.next;
    // Runs may end or start meanwhile: never promise rows that will not come.
    post({ type: 'patch', payload: { table: page.table, pending: after && sent < wanted ? wanted - sent : 0 } });
  }
  return undefined;
}

/**
 * The host side of a windowed compare view: reads the pages the view asks for, one at a time, nearest first, and
 * posts each as `rowsPage`. A request replaces the pages still queued (the ones the user scrolled past are never
 * read); a new generation (sort or filter changed) forgets the cursors. A page starts after the cursor the page
 * before it ended with; a page whose predecessor was not read is reached with `skip` from the nearest cursor before
 * it, so a dragged scrollbar costs one keyset walk over ids, not every page on the way.
 */
export class RunPager {
  private generation = 0;
  private queue: number[] = [];
  /** Page index → the cursor that page starts after (page 0 starts at the first row). */
  private cursors = new Map<number, RunCursor>();
  private sort: RunSort = NEWEST_FIRST;
  private text: string | undefined;
  private columns: string[] = [];
  private total: number | undefined;
  private reading: Promise<void> | undefined;
  /** The page being read, of the current generation (a new generation clears it: that page is read again). */
  private current: number | undefined;
  /** Pages read (for tests and the log): every runtime request this pager made, in order. */
  readonly reads: Array<{ generation: number; page: number; skip: number }> = [];

  constructor(
    private readonly request: Request,
    private readonly query: CompareQuery,
    private readonly post: (message: CompareToView) => void,
    seed: { total: number; page?: number; after?: RunCursor },
  ) {
    this.total = seed.total;
    if (seed.page !== undefined && seed.after) this.cursors.set(seed.page, seed.after);
  }

  /** Takes a view's `requestPages`; resolves when the pages it named (and any asked meanwhile) are posted. */
  async want(asked: RequestPages): Promise<void> {
    if (asked.generation < this.generation) return;
    if (asked.generation > this.generation) {
      this.generation = asked.generation;
      this.cursors.clear();
      this.total = undefined;
      this.sort = toRunSort(asked.sort);
      this.text = asked.text;
      this.current = undefined;
    }
    this.columns = asked.columns;
    // The page being read is posted when it is read: asked again (the view asks while it waits), it is not queued.
    this.queue = [...new Set(asked.pages)].filter((p) => p !== this.current);
    this.reading ??= this.drain().finally(() => (this.reading = undefined));
    await this.reading;
  }

  private async drain(): Promise<void> {
    for (let page = this.queue.shift(); page !== undefined; page = this.queue.shift()) {
      if (this.total !== undefined && page * WINDOW_PAGE >= this.total) continue;
      const generation = this.generation;
      this.current = page;
      const table = await this.read(page).finally(() => (this.current = undefined));
      // A sort or filter changed while the page was read: the view no longer wants it.
      if (generation !== this.generation || !table) continue;
      this.post({ type: 'rowsPage', payload: { generation, page, table, total: this.total ?? 0 } });
    }
  }

  private async read(page: number): Promise<RunPage['table'] | undefined> {
    let from = 0;
    for (const known of this.cursors.keys()) if (known <= page && known > from) from = known;
    const after = this.cursors.get(from);
    const skip = (page - from) * WINDOW_PAGE;
    const filter = {
      ...(this.query.pipeline ? { pipeline: this.query.pipeline } : {}),
      ...(this.text ? { text: this.text } : {}),
    };
    this.reads.push({ generation: this.generation, page, skip });
    const generation = this.generation;
    const result = await this.request({
      filter,
      sort: this.sort,
      columns: this.columns,
      limit: WINDOW_PAGE,
      ...(after ? { after } : {}),
      ...(skip > 0 ? { skip } : {}),
      ...(this.total === undefined ? { withTotal: true } : {}),
    });
    if (generation !== this.generation) return undefined;
    if (result.total !== undefined) this.total = result.total;
    if (result.next) this.cursors.set(page + 1, result.next);
    return result.table;
  }
}
