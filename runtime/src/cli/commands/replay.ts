import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { feedbackResponseSchema, invocationResponseSchema, ServeHeaders, type ServeCell } from '@cairn/protocol';
import { percentileSorted } from '../../ab/stats.js';
import { cellValue, DataError, readTable } from '../../ml/data/index.js';
import type { Table } from '../../ml/types.js';
import { flag, formatOf, parseArgs, UsageError, type CliCommand } from '../command.js';
import { intFlag } from './serve.js';

/** What `cairn replay --format json` prints. */
export interface ReplaySummary {
  url: string;
  rows: number;
  requests: number;
  /** Requests (predictions and feedback) that failed: a non-2xx answer or no answer. */
  failed: number;
  /** Rows answered per A/B arm (from the X-Cairn-Arm-Rows header). */
  arms: Record<string, number>;
  feedback: { requests: number; updated: number; unknown: number } | null;
  latencyMs: { p50: number; p99: number; max: number };
  seconds: number;
  /** The first failures, with the server's message. */
  errors: string[];
}

interface Batch {
  rows: number[];
  key: string | null;
}

/** Consecutive rows in batches of `size`; with a key column, a batch holds rows of one key (its value is the X-Cairn-Key header). */
function batchesOf(table: Table, size: number, limit: number, keyCol: number): Batch[] {
  const out: Batch[] = [];
  let cur: Batch | undefined;
  const n = Math.min(limit, table.rowCount);
  for (let r = 0; r < n; r++) {
    const col = keyCol >= 0 ? table.columns[keyCol] : undefined;
    const v = col ? cellValue(col, r) : null;
    const key = col ? (v === null ? '' : String(v)) : null;
    if (!cur || cur.rows.length >= size || cur.key !== key) out.push((cur = { rows: [], key }));
    cur.rows.push(r);
  }
  return out;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function errorText(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const j = JSON.parse(text) as { error?: { message?: string } };
    return `${res.status}: ${j.error?.message ?? text.slice(0, 200)}`;
  } catch {
    return `${res.status}: ${text.slice(0, 200)}`;
  }
}

/**
 * `cairn replay`: traffic replay and load generator for `cairn serve`. Sends a table's rows (without the label column)
 * as `dataframe_split` batches to /invocations, then each batch's labels to /feedback under the request id the server
 * answered with, `--concurrency` requests at a time; prints rows, requests, failures, rows per arm and latency.
 */
export const replayCommand: CliCommand = {
  name: 'replay',
  summary:
    'Replay a CSV/JSONL table as traffic to cairn serve (predictions, then labels as feedback); prints rows per arm and latency.',
  usage:
    'cairn replay FILE --url URL [--token T | --token-file F] [--label COL] [--key COL] [--batch N=1] [--limit N] [--concurrency N=4] [--format json]',
  async run(args, io) {
    const parsed = parseArgs(args, {
      value: ['url', 'token', 'token-file', 'label', 'key', 'batch', 'limit', 'concurrency', 'format'],
    });
    const format = formatOf(parsed);
    const [fileArg, ...rest] = parsed.positionals;
    if (!fileArg) throw new UsageError('give the table to replay: cairn replay FILE --url URL');
    if (rest.length) throw new UsageError(`unexpected argument ${rest[0]}`);
    const urlText = flag(parsed, 'url');
    if (!urlText) throw new UsageError('--url is required: the address cairn serve printed (http://127.0.0.1:PORT)');
    let base: URL;
    try {
      base = new URL(urlText);
    } catch {
      throw new UsageError(
        `--url ${urlText} is not a URL; give the address cairn serve printed (http://127.0.0.1:PORT)`,
      );
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new UsageError(`--url must be http:// or https://, not ${base.protocol}`);
    const tokenFile = flag(parsed, 'token-file');
    if (tokenFile !== undefined && flag(parsed, 'token') !== undefined)
      throw new UsageError('give either --token or --token-file, not both');
    const token =
      tokenFile !== undefined
        ? (await readFile(path.resolve(io.cwd, tokenFile), 'utf8')).trim()
        : flag(parsed, 'token');
    const batch = intFlag(flag(parsed, 'batch'), 'batch', 1, 10_000) ?? 1;
    const limit = intFlag(flag(parsed, 'limit'), 'limit', 1, Number.MAX_SAFE_INTEGER) ?? Number.MAX_SAFE_INTEGER;
    const concurrency = intFlag(flag(parsed, 'concurrency'), 'concurrency', 1, 256) ?? 4;
    const file = path.resolve(io.cwd, fileArg);
    let table: Table;
    try {
      table = await readTable(file);
    } catch (e) {
      if (!(e instanceof DataError) && !(e instanceof Error && 'code' in e && e.code === 'ENOENT')) throw e;
      io.stderr(`cairn replay: ${message(e)}\n`);
      return 1;
    }
    const names = table.columns.map((c) => c.name);
    const column = (name: string | undefined, option: string): number => {
      if (name === undefined) return -1;
      const i = names.indexOf(name);
      if (i < 0)
        throw new UsageError(`${option} ${name}: ${fileArg} has no such column (its columns: ${names.join(', ')})`);
      return i;
    };
    const labelCol = column(flag(parsed, 'label'), '--label');
    const keyCol = column(flag(parsed, 'key'), '--key');
    const sent = table.columns.filter((_, i) => i !== labelCol);
    const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const batches = batchesOf(table, batch, limit, keyCol);

    const latencies: number[] = [];
    const arms: Record<string, number> = {};
    const errors: string[] = [];
    let failed = 0;
    let rows = 0;
    const feedback = { requests: 0, updated: 0, unknown: 0 };
    const fail = (what: string): void => {
      failed++;
      if (errors.length < 5) errors.push(what);
    };
    const post = (route: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(new URL(route, base), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth, ...headers },
        body: JSON.stringify(body),
      });

    const one = async (b: Batch): Promise<void> => {
      const data: ServeCell[][] = b.rows.map((r) => sent.map((c) => cellValue(c, r)));
      const t0 = performance.now();
      let res: Response;
      try {
        res = await post(
          '/invocations',
          { dataframe_split: { columns: sent.map((c) => c.name), data } },
          b.key !== null ? { [ServeHeaders.key]: b.key } : {},
        );
      } catch (e) {
        return fail(`rows ${(b.rows[0] ?? 0) + 1}–${(b.rows.at(-1) ?? 0) + 1}: no answer (${message(e)})`);
      }
      if (!res.ok) return fail(`rows ${(b.rows[0] ?? 0) + 1}–${(b.rows.at(-1) ?? 0) + 1}: ${await errorText(res)}`);
      const answer = invocationResponseSchema.safeParse(await res.json());
      latencies.push(performance.now() - t0);
      if (!answer.success || answer.data.predictions.length !== b.rows.length)
        return fail(`rows ${(b.rows[0] ?? 0) + 1}–: the answer is not one prediction per row`);
      rows += b.rows.length;
      for (const part of (res.headers.get(ServeHeaders.armRows) ?? `champion=${b.rows.length}`).split(',')) {
        const [arm, count] = part.split('=');
        if (arm && Number(count) > 0) arms[arm] = (arms[arm] ?? 0) + Number(count);
      }
      const requestId = res.headers.get(ServeHeaders.requestId);
      const label = labelCol >= 0 ? table.columns[labelCol] : undefined;
      if (!label || !requestId) return;
      let fb: Response;
      try {
        fb = await post('/feedback', { request_id: requestId, labels: b.rows.map((r) => cellValue(label, r)) });
      } catch (e) {
        return fail(`feedback for request ${requestId}: no answer (${message(e)})`);
      }
      if (!fb.ok) return fail(`feedback for request ${requestId}: ${await errorText(fb)}`);
      const counts = feedbackResponseSchema.safeParse(await fb.json());
      if (!counts.success) return fail(`feedback for request ${requestId}: not a feedback answer`);
      feedback.requests++;
      feedback.updated += counts.data.updated;
      feedback.unknown += counts.data.unknown;
    };

    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, batches.length) }, async () => {
        while (next < batches.length) await one(batches[next++] as Batch);
      }),
    );
    const sorted = Float64Array.from(latencies).sort();
    const summary: ReplaySummary = {
      url: base.origin,
      rows,
      requests: batches.length,
      failed,
      arms,
      feedback: labelCol >= 0 ? feedback : null,
      latencyMs: {
        p50: percentileSorted(sorted, 50),
        p99: percentileSorted(sorted, 99),
        max: sorted.at(-1) ?? Number.NaN,
      },
      seconds: (performance.now() - started) / 1000,
      errors,
    };
    if (format === 'json') io.stdout(JSON.stringify(summary) + '\n');
    else {
      const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '-');
      io.stdout(
        [
          `Replayed ${rows} rows of ${fileArg} in ${summary.requests} requests to ${summary.url} in ${summary.seconds.toFixed(1)} s; ${failed} failed.`,
          `  rows per arm: ${
            Object.entries(arms)
              .map(([a, n]) => `${a} ${n}`)
              .join(', ') || 'none'
          }`,
          `  latency p50 ${ms(summary.latencyMs.p50)} ms, p99 ${ms(summary.latencyMs.p99)} ms, max ${ms(summary.latencyMs.max)} ms`,
          ...(summary.feedback
            ? [
                `  feedback: ${summary.feedback.updated} labels stored, ${summary.feedback.unknown} for rows not in the log (not sampled)`,
              ]
            : []),
          ...errors.map((e) => `  failed: ${e}`),
          '',
        ].join('\n'),
      );
    }
    return failed > 0 ? 1 : 0;
  },
};
