import type { CompareQuery, CompareToView, RunPage, RunPageRequest } from '@cairn/protocol';

/** Rows of the first page: the first screen and then some, small enough to paint at once. */
export const FIRST_PAGE = 1000;
/** Rows of each following page (the view merges them as they come; charts wait for the last). */
export const NEXT_PAGE = 2500;

/**
 * The newest runs of a compare query (`query.pipeline`, else the workspace), page by page from the runtime's keyset
 * pages (`runtime/runsPage`): the first page goes out as `runs` as soon as it is read, the rest as `patch` messages,
 * at most `max` runs. Each page names the columns its runs have; the view merges them (mergeTables).
 */
export async function postRunPages(
  request: (params: RunPageRequest.Params) => Promise<RunPage>,
  query: CompareQuery,
  post: (message: CompareToView) => void,
  max: number,
): Promise<void> {
  const filter = query.pipeline ? { pipeline: query.pipeline } : undefined;
  const sort = { by: 'startedAt', order: 'desc' } as const;
  const first = await request({ filter, sort, limit: Math.min(FIRST_PAGE, max), withTotal: true });
  const total = first.total ?? first.table.rows.length;
  let sent = first.table.rows.length;
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
}
