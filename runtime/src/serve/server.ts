import * as http from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  feedbackRequestSchema,
  ServeHeaders,
  type DeploymentArm,
  type FeedbackResponse,
  type ServeHealth,
  type ServeInputField,
  type ServeLogInfo,
  type ServeModelInfo,
} from '@cairn/protocol';
import type { ServedContributions } from '@cairn/protocol';
import { abEventsRequestSchema, type AbEventsResponse, type ServedImpression } from '@cairn/protocol';
import type { FeedbackItem, PredictionLog } from '../deploy/predictionLog.js';
import { StoreConnectionError } from '../store/postgres.js';
import { UnknownImpressionError } from '../store/repos/abEvents.js';
import { Batcher, type BatchOptions } from './batcher.js';
import { keyShare } from './keyShare.js';
import { ServeMetrics, type Route } from './metrics.js';
import { explainFlag, explainRows } from './explain.js';
import { RequestError, requestRows, tableFrom, type Rows } from './request.js';
import { loadServedModel, ServeLoadError, type Loaded, type Prediction } from './served.js';

export { loadServedModel, ServeLoadError } from './served.js';

type Registered = { name: string; version: number };

export interface ServeOptions {
  /** A Cairn model.json or .onnx file (tabular or recommender). */
  model: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Bearer token every request must carry; null turns auth off (only on explicit request: `--no-token`). */
  token: string | null;
  /** Largest request body accepted (413 beyond). */
  maxBodyBytes?: number;
  /** Time to receive a request's body (408 beyond). */
  bodyTimeoutMs?: number;
  /** Time the model may take for one request (503 beyond; the server keeps serving). */
  predictTimeoutMs?: number;
  /** The registry version `model` was restored from, reported by /health. */
  registered?: Registered;
  /** A/B: a second model answering the rows whose key hashes under `split` (docs/cli.md, "A/B split"). */
  challenger?: { model: string; registered?: Registered; split: number; key: string | null };
  /**
   * Adaptive batching of concurrent requests per arm (batcher.ts); null turns it off (`--no-batch`). Default
   * DEFAULT_BATCH.
   */
  batch?: BatchOptions | null;
  /** Server-side log: every error, with its detail; clients only get the message. */
  log?: (line: string) => void;
  /** onnxruntime intra-op threads per model (default SERVE_INTRA_OP_THREADS). */
  intraOpThreads?: number;
}

/** Both arms and how a request's rows map to each: swapped as one reference, so a request sees one consistent pair. */
interface Arms {
  champion: Loaded;
  challenger: Loaded | null;
  /** Every column a request must carry: the champion's, then the challenger's others, then the key column. */
  fields: ServeInputField[];
  /** Per arm, the index in `fields` of each of its input fields. */
  championAt: number[];
  challengerAt: number[];
  keyAt: number;
  championNames: string[];
  challengerNames: string[];
}

function armsOf(champion: Loaded, challenger: Loaded | null, key: string | null): Arms {
  const fields = [...champion.fields];
  const indexOf = (name: string, type: ServeInputField['type']): number => {
    const i = fields.findIndex((f) => f.name === name);
    if (i >= 0) return i;
    fields.push({ name, type });
    return fields.length - 1;
  };
  const championAt = champion.fields.map((_, i) => i);
  const challengerAt = (challenger?.fields ?? []).map((f) => indexOf(f.name, f.type));
  const keyAt = challenger && key !== null ? indexOf(key, 'any') : -1;
  return {
    champion,
    challenger,
    fields,
    championAt,
    challengerAt,
    keyAt,
    championNames: champion.fields.map((f) => f.name),
    challengerNames: (challenger?.fields ?? []).map((f) => f.name),
  };
}

/** Chosen with bench:serve (docs/cli.md, "Batching"). */
export const DEFAULT_BATCH: BatchOptions = { windowMs: 2, maxRows: 256 };

/** The arm of an A/B key: a key whose share (keyShare) is under the split goes to the challenger. Stable across restarts and machines. */
export const challengerShare = keyShare;

export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

const JSON_TYPE = 'application/json';
/** Read once: under tsx (tests, benches) every access to an imported binding is a getter call, on the hot path. */
const H = ServeHeaders;
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** `?k=N` on /invocations: a recommender's top-k request. */
function topKOf(url: string | undefined): number | undefined {
  const q = url?.indexOf('?') ?? -1;
  if (q < 0 || !url) return undefined;
  const raw = new URLSearchParams(url.slice(q + 1)).get('k');
  if (raw === null) return undefined;
  const k = Number(raw);
  if (!Number.isInteger(k) || k < 1 || k > 1000)
    throw new RequestError(400, 'bad_k', `k must be an integer from 1 to 1000, not ${raw}`);
  return k;
}

function routeOf(url: string | undefined): Route {
  const p = (url ?? '/').split('?', 1)[0];
  return p === '/invocations' || p === '/health' || p === '/metrics' || p === '/feedback' ? p : 'other';
}

const METHODS: Record<Route, string> = {
  '/invocations': 'POST',
  '/feedback': 'POST',
  '/health': 'GET',
  '/metrics': 'GET',
  other: '',
};

/** What /health says about the prediction log, and where rows go. */
interface LogState {
  log: PredictionLog | null;
  deploymentId: number | null;
  /** Why there is no log (no workspace store, `--no-log`). */
  reason: string;
}

/**
 * `cairn serve`: an MLflow-compatible scoring server on node:http (docs/cli.md, "Serving"). The models are held as one
 * reference that `swapModel` replaces only after the new model has fully loaded; each request reads the reference once,
 * so a swap under load fails no request (in-flight ones finish on the old model). Predicted rows go to the prediction
 * log (when attached) after the answer is sent.
 */
export class ModelServer {
  readonly metrics = new ServeMetrics();
  private arms: Arms;
  private readonly split: number;
  private readonly key: string | null;
  private readonly server: http.Server;
  private readonly token: Buffer | null;
  private readonly maxBody: number;
  private readonly bodyTimeout: number;
  private readonly predictTimeout: number;
  private readonly log: (line: string) => void;
  private readonly started = Date.now();
  private swapping: Promise<unknown> = Promise.resolve();
  private readonly deadlines: Deadlines;
  private readonly batch: BatchOptions | null;
  private readonly intraOpThreads: number | undefined;
  private baseUrl = '';
  /** Once closing, answers carry `Connection: close`, so keep-alive sockets end with their last answer. */
  private closing = false;
  /** Generated request ids: a random per-process prefix and a counter, so they sort by time (cheap appends to the log's unique index). */
  private readonly idPrefix = randomBytes(6).toString('hex');
  private requests = 0;
  private logState: LogState = {
    log: null,
    deploymentId: null,
    reason: 'serving a model file without --workspace: no store to log to',
  };

  private constructor(champion: Loaded, challenger: Loaded | null, opts: ServeOptions) {
    this.split = opts.challenger?.split ?? 0;
    this.key = opts.challenger?.key ?? null;
    this.batch = opts.batch === undefined ? DEFAULT_BATCH : opts.batch;
    this.intraOpThreads = opts.intraOpThreads;
    this.arms = armsOf(this.batched(champion), challenger && this.batched(challenger), this.key);
    this.token = opts.token === null ? null : Buffer.from(opts.token);
    this.maxBody = opts.maxBodyBytes ?? 1024 * 1024;
    this.bodyTimeout = opts.bodyTimeoutMs ?? 10_000;
    this.predictTimeout = opts.predictTimeoutMs ?? 10_000;
    this.log = opts.log ?? (() => undefined);
    this.metrics.model = champion.info.path;
    this.deadlines = new Deadlines(Math.min(250, Math.max(10, Math.min(this.bodyTimeout, this.predictTimeout) / 5)));
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5_000;
  }

  /** Loads the model(s) (failing before any socket opens) and listens. */
  static async start(opts: ServeOptions): Promise<ModelServer> {
    if (opts.token !== null && opts.token.length === 0)
      throw new ServeLoadError('the token is empty; give a non-empty --token or --no-token');
    const c = opts.challenger;
    if (c && !(c.split >= 0 && c.split <= 1)) throw new ServeLoadError(`the split must be from 0 to 1, not ${c.split}`);
    const [champion, challenger] = await Promise.all([
      loadServedModel(opts.model, opts.registered, opts.intraOpThreads),
      c ? loadServedModel(c.model, c.registered, opts.intraOpThreads) : Promise.resolve(null),
    ]);
    const s = new ModelServer(champion, challenger, opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        s.server.off('error', reject);
        const a = s.server.address() as AddressInfo;
        s.baseUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
        resolve();
      });
    });
    return s;
  }

  /** Base URL, fixed once listening (it stays readable after close). */
  get url(): string {
    return this.baseUrl;
  }

  get model(): ServeModelInfo {
    return this.arms.champion.info;
  }

  get challenger(): { model: ServeModelInfo; split: number; key: string | null } | undefined {
    const c = this.arms.challenger;
    return c ? { model: c.info, split: this.split, key: this.key } : undefined;
  }

  get deploymentId(): number | null {
    return this.logState.deploymentId;
  }

  /**
   * Connects the server to its `deployments` row and prediction log (the row needs the URL, known once listening).
   * `log` null: no log, for `reason`.
   */
  attachDeployment(deploymentId: number | null, log: PredictionLog | null, reason = ''): void {
    this.logState = { log, deploymentId, reason };
  }

  /** The request handler, for embedding in another server (the bench drives it through its own node:http server). */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const t0 = performance.now();
    const route = routeOf(req.url);
    this.metrics.inFlight++;
    res.once('close', () => {
      this.metrics.inFlight--;
      this.metrics.observe(route, res.statusCode, (performance.now() - t0) / 1000);
    });
    this.dispatch(route, req, res, t0).catch((e: unknown) => this.fail(req, res, e));
  };

  /** Loads `file` completely, then swaps it in at once; on failure the current model keeps serving. Swaps run one at a time. */
  swapModel(file: string, registered?: Registered, arm: DeploymentArm = 'champion'): Promise<ServeModelInfo> {
    const next = this.swapping.then(async () => {
      try {
        if (arm === 'challenger' && !this.arms.challenger)
          throw new ServeLoadError('this server has no challenger to swap (start it with --challenger)');
        const loaded = this.batched(await loadServedModel(file, registered, this.intraOpThreads));
        const a = this.arms;
        this.arms = arm === 'champion' ? armsOf(loaded, a.challenger, this.key) : armsOf(a.champion, loaded, this.key);
        this.metrics.swaps++;
        if (arm === 'champion') this.metrics.model = loaded.info.path;
        this.log(
          `swapped the ${arm} to ${registered ? `${registered.name} version ${registered.version} (${file})` : file}`,
        );
        return loaded.info;
      } catch (e) {
        this.metrics.swapFailures++;
        this.log(
          `swap of the ${arm} to ${file} refused, still serving the previous model: ${e instanceof Error ? e.message : String(e)}`,
        );
        throw e;
      }
    });
    this.swapping = next.catch(() => undefined);
    return next;
  }

  /** The model with its own batcher (each arm batches separately: its rows never share a call with the other's). */
  private batched(l: Loaded): Loaded {
    return this.batch ? new Batcher(l, this.batch, this.metrics.batch).loaded() : l;
  }

  /** Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes. */
  async close(graceMs = 5_000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
    this.deadlines.stop();
  }

  private send(
    res: http.ServerResponse,
    status: number,
    body: string,
    type = JSON_TYPE,
    extra?: Record<string, string>,
  ): void {
    if (res.headersSent) return;
    if (this.closing) res.setHeader('connection', 'close');
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'x-content-type-options': 'nosniff',
      ...extra,
    });
    res.end(body);
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, e: unknown): void {
    const known = e instanceof RequestError;
    const status = known ? e.status : 500;
    const code = known ? e.code : 'internal';
    // Clients get a message, never a stack; the log keeps the detail.
    const message = known ? e.message : 'the server failed on this request; the server log has the detail';
    this.log(
      `${status} ${req.method ?? '?'} ${req.url ?? '?'}: ${known ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    );
    if (status === 401) res.setHeader('www-authenticate', 'Bearer');
    if (status === 413 || status === 408) {
      // The rest of the body is not read: close the connection rather than leave it mid-request.
      res.setHeader('connection', 'close');
      res.once('finish', () => req.destroy());
    }
    this.send(res, status, JSON.stringify({ error: { code, message } }));
  }

  private authorized(req: http.IncomingMessage): boolean {
    if (this.token === null) return true;
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ')) return false;
    const given = Buffer.from(h.slice(7).trim());
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  private logInfo(): ServeLogInfo {
    const l = this.logState.log;
    if (!l) return { enabled: false, sample: 0, maxRows: 0, reason: this.logState.reason, logged: 0, dropped: 0 };
    return {
      enabled: true,
      sample: l.sample,
      maxRows: l.maxRows,
      logged: l.logged,
      dropped: l.dropped,
      pending: l.pending,
      writer: l.threaded ? 'thread' : 'serving-thread',
    };
  }

  private async dispatch(route: Route, req: http.IncomingMessage, res: http.ServerResponse, t0: number): Promise<void> {
    if (route === 'other')
      throw new RequestError(
        404,
        'not_found',
        `no route ${req.method ?? ''} ${(req.url ?? '').split('?', 1)[0] ?? ''}; the routes are POST /invocations, POST /feedback, GET /health, GET /metrics`,
      );
    if (req.method !== METHODS[route]) {
      res.setHeader('allow', METHODS[route]);
      throw new RequestError(405, 'method_not_allowed', `${route} takes ${METHODS[route]}, not ${req.method ?? '?'}`);
    }
    if (!this.authorized(req)) {
      throw new RequestError(
        401,
        'unauthorized',
        req.headers.authorization
          ? 'the bearer token is wrong'
          : 'send the token printed by cairn serve as "Authorization: Bearer TOKEN"',
      );
    }
    if (route === '/health') {
      const c = this.challenger;
      const health: ServeHealth = {
        status: 'ok',
        model: this.arms.champion.info,
        uptimeSeconds: (Date.now() - this.started) / 1000,
        ...(c ? { challenger: c } : {}),
        deploymentId: this.logState.deploymentId,
        log: this.logInfo(),
      };
      return this.send(res, 200, JSON.stringify(health));
    }
    if (route === '/metrics') {
      const l = this.logState.log;
      if (l) {
        this.metrics.logged = l.logged;
        this.metrics.dropped = l.dropped;
      }
      return this.send(res, 200, this.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
    }
    const body = await this.readJson(req);
    if (route === '/feedback') {
      const events = typeof body === 'object' && body !== null && 'events' in body;
      return this.send(res, 200, JSON.stringify(events ? await this.events(body) : await this.feedback(body)));
    }
    await this.invoke(req, res, body, t0);
  }

  private async readJson(req: http.IncomingMessage): Promise<unknown> {
    const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
    if (type !== JSON_TYPE)
      throw new RequestError(
        415,
        'unsupported_media_type',
        `send the body as application/json${type ? `, not ${type}` : ' (the Content-Type header is missing)'}`,
      );
    const text = await this.readBody(req);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new RequestError(
        400,
        'malformed_json',
        `the body is not valid JSON (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  }

  private async feedback(body: unknown): Promise<FeedbackResponse> {
    const log = this.logState.log;
    if (!log)
      throw new RequestError(
        409,
        'no_log',
        `this server keeps no prediction log (${this.logState.reason}), so it has nothing to attach labels to`,
      );
    const parsed = feedbackRequestSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `body.${issue.path.join('.')}: ` : '';
      throw new RequestError(
        400,
        'bad_feedback',
        `${where}${issue?.message ?? 'invalid'}; send {"request_id": "...", "labels": [label or null per row]} or {"feedback": [{"request_id": "...", "row": 0, "label": ...}]} (request_id: the X-Cairn-Request-Id header of the answer)`,
      );
    }
    const b = parsed.data;
    const items: FeedbackItem[] = [];
    if ('labels' in b)
      b.labels.forEach((label, row) => label !== null && items.push({ requestId: b.request_id, row, label }));
    else
      for (const f of b.feedback)
        if (f.label !== null) items.push({ requestId: f.request_id, row: f.row, label: f.label });
    if (items.length === 0) return { updated: 0, unknown: 0 };
    try {
      return await log.feedback(items);
    } catch (e) {
      if (e instanceof Error && 'code' in e && (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED'))
        throw new RequestError(503, 'busy', 'the prediction log is locked by another writer; retry the feedback');
      if (e instanceof StoreConnectionError)
        throw new RequestError(
          503,
          'busy',
          `the prediction log's store is out of reach (${e.message}); retry the feedback`,
        );
      throw e;
    }
  }

  /** Impression, click and purchase events about top-k answers (docs/deploy.md): all stored, or none and a 400. */
  private async events(body: unknown): Promise<AbEventsResponse> {
    const log = this.logState.log;
    if (!log) {
      const why = `this server logs to no deployment (${this.logState.reason}), so it issued no impressions`;
      throw new RequestError(409, 'no_log', why);
    }
    const parsed = abEventsRequestSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `body.${issue.path.join('.')}: ` : '';
      // zod says a missing field "received undefined": say it is missing.
      const missing = /^Invalid input: expected (\w+), received undefined$/;
      const what = (issue?.message ?? 'invalid').replace(missing, 'missing (a $1)');
      throw new RequestError(
        400,
        'bad_event',
        `${where}${what}; send {"events": [{"event_id": "...", "impression_id": "...", "type": ` +
          `"impression" | "click" | "purchase", "revenue": (purchase: a number >= 0)}]}`,
      );
    }
    try {
      return await log.store.abEvents.addEvents(log.deploymentId, parsed.data.events, Date.now());
    } catch (e) {
      if (e instanceof UnknownImpressionError) {
        const first = e.indexes[0] ?? 0;
        const id = parsed.data.events[first]?.impression_id ?? '';
        throw new RequestError(
          400,
          'unknown_impression',
          `body.events.${first}.impression_id: "${id}" is no impression of this deployment` +
            `${e.indexes.length > 1 ? ` (nor are ${e.indexes.length - 1} more)` : ''}; ` +
            `use an "impressions[].id" of a ` +
            `top-k answer (POST /invocations?k=N). Nothing of this request was stored`,
        );
      }
      throw e;
    }
  }

  /** One impression per row of a top-k answer, stored before the answer leaves so its events always find it. */
  private async issueImpressions(
    requestId: string,
    predictions: Prediction[],
    toChallenger: Uint8Array | null,
    cv: number | null,
    xv: number | null,
  ): Promise<ServedImpression[] | undefined> {
    const log = this.logState.log;
    if (!log) return undefined;
    const servedAt = Date.now();
    const impressions = predictions.map((_, r): ServedImpression => {
      const ch = toChallenger?.[r] === 1;
      return { id: `${requestId}/${r}`, arm: ch ? 'challenger' : 'champion', version: ch ? xv : cv };
    });
    await log.store.abEvents.addImpressions(
      impressions.map((imp, r) => ({
        ...imp,
        deploymentId: log.deploymentId,
        itemsJson: JSON.stringify(predictions[r] ?? null),
        servedAt,
      })),
    );
    return impressions;
  }

  private async invoke(req: http.IncomingMessage, res: http.ServerResponse, body: unknown, t0: number): Promise<void> {
    const given = req.headers[H.clientRequestId];
    if (given !== undefined && (typeof given !== 'string' || !REQUEST_ID.test(given)))
      throw new RequestError(
        400,
        'bad_request_id',
        'the X-Request-Id header must be 1 to 200 visible ASCII characters (no spaces)',
      );
    const requestId = given ?? this.newRequestId();
    // One reference read: a swap during this request does not change the models it uses.
    const k = topKOf(req.url);
    const a = k === undefined ? this.arms : this.topKArms(k);
    const asked = explainFlag(body);
    const rows = requestRows(asked.body, a.fields);
    const n = rows.count;
    let predictions: Prediction[];
    let toChallenger: Uint8Array | null = null;
    let keys: Array<string | null> | string | null = null;
    let challengerRows = 0;
    let explanations: ServedContributions | undefined;
    // One deadline per prediction: past it the client gets a 503 at once, and the late answer is dropped below.
    const deadline = this.deadlines.add(this.predictTimeout, () =>
      this.fail(
        req,
        res,
        new RequestError(
          503,
          'timeout',
          `the model took longer than ${this.predictTimeout} ms; retry, or send fewer rows`,
        ),
      ),
    );
    try {
      if (!a.challenger) {
        const table = tableFrom(rows, a.champion.fields, a.championAt);
        predictions = await a.champion.predict(table);
        if (asked.explain) explanations = explainRows(a.champion, table);
      } else {
        if (asked.explain)
          throw new RequestError(409, 'not_explainable', 'explain: true is not served during an A/B split');
        toChallenger = new Uint8Array(n);
        if (a.keyAt >= 0) {
          const k = new Array<string | null>(n);
          for (let r = 0; r < n; r++) {
            const c = rows.cell(a.keyAt, r);
            if (c === undefined || c === null)
              throw new RequestError(
                400,
                'missing_key',
                `row ${r + 1}: the A/B key column "${this.key ?? ''}" is ${c === null ? 'null' : 'missing'}; every row needs a key value`,
              );
            const text = String(c);
            k[r] = text;
            toChallenger[r] = challengerShare(text) < this.split ? 1 : 0;
          }
          keys = k;
        } else {
          const header = req.headers[H.key];
          const key = typeof header === 'string' && header.length > 0 ? header : null;
          keys = key;
          const arm = key !== null ? challengerShare(key) < this.split : Math.random() < this.split;
          if (arm) toChallenger.fill(1);
        }
        for (let r = 0; r < n; r++) challengerRows += toChallenger[r] ?? 0;
        predictions = await this.predictSplit(a, rows, toChallenger, challengerRows);
      }
    } finally {
      this.deadlines.delete(deadline);
    }
    if (res.headersSent) return;
    this.metrics.predictions += n;
    const championRows = n - challengerRows;
    if (championRows > 0) this.metrics.arm('champion', championRows);
    if (challengerRows > 0) this.metrics.arm('challenger', challengerRows);
    const arm = challengerRows === 0 ? 'champion' : championRows === 0 ? 'challenger' : 'mixed';
    const headers: Record<string, string> = { [H.requestId]: requestId, [H.arm]: arm };
    // Without a challenger every row is the champion's: the count adds nothing (and every header costs each client).
    if (a.challenger) headers[H.armRows] = `champion=${championRows},challenger=${challengerRows}`;
    const cv = a.champion.version;
    const xv = a.challenger?.version ?? null;
    if (arm === 'champion' && cv !== null) headers[H.version] = String(cv);
    else if (arm === 'challenger' && xv !== null) headers[H.version] = String(xv);
    else if (arm === 'mixed' && (cv !== null || xv !== null))
      headers[H.version] = `champion=${cv ?? ''},challenger=${xv ?? ''}`;
    const impressions =
      k === undefined ? undefined : await this.issueImpressions(requestId, predictions, toChallenger, cv, xv);
    if (res.headersSent) return;
    const answer = { predictions, ...(explanations ? { explanations } : {}), ...(impressions ? { impressions } : {}) };
    this.send(res, 200, JSON.stringify(answer), JSON_TYPE, headers);
    const log = this.logState.log;
    if (log?.sampled(requestId)) {
      const latencyMs = performance.now() - t0;
      const at = Date.now();
      for (let r = 0; r < n; r++) {
        const ch = toChallenger?.[r] === 1;
        log.add({
          requestId,
          row: r,
          arm: ch ? 'challenger' : 'champion',
          version: ch ? xv : cv,
          abKey: keys === null || typeof keys === 'string' ? keys : (keys[r] ?? null),
          columns: ch ? a.challengerNames : a.championNames,
          fieldAt: ch ? a.challengerAt : a.championAt,
          cells: rows,
          prediction: predictions[r],
          latencyMs,
          at,
        });
      }
    }
  }

  private newRequestId(): string {
    return `${this.idPrefix}-${(++this.requests).toString(36).padStart(10, '0')}`;
  }

  /** Both arms answering top-k requests: rows of the user column alone. */
  private topKArms(k: number): Arms {
    const a = this.arms;
    const variant = (l: Loaded): Loaded => {
      if (!l.topK)
        throw new RequestError(
          400,
          'not_recommender',
          `?k= asks for each user's top-k items, which only a recommender answers; ${l.info.path} is a ${l.info.task} model`,
        );
      return l.topK(k);
    };
    return armsOf(variant(a.champion), a.challenger ? variant(a.challenger) : null, this.key);
  }

  /** Each arm predicts its rows (in parallel); answers are put back in request order. */
  private async predictSplit(
    a: Arms,
    rows: Rows,
    toChallenger: Uint8Array,
    challengerRows: number,
  ): Promise<Prediction[]> {
    const challenger = a.challenger;
    if (!challenger || challengerRows === 0)
      return a.champion.predict(tableFrom(rows, a.champion.fields, a.championAt));
    if (challengerRows === rows.count) return challenger.predict(tableFrom(rows, challenger.fields, a.challengerAt));
    const ch = new Int32Array(challengerRows);
    const cp = new Int32Array(rows.count - challengerRows);
    for (let r = 0, i = 0, j = 0; r < rows.count; r++) {
      if (toChallenger[r]) ch[i++] = r;
      else cp[j++] = r;
    }
    const [p, q] = await Promise.all([
      a.champion.predict(tableFrom(rows, a.champion.fields, a.championAt, cp)),
      challenger.predict(tableFrom(rows, challenger.fields, a.challengerAt, ch)),
    ]);
    const out = new Array<Prediction>(rows.count);
    cp.forEach((r, i) => (out[r] = p[i] as Prediction));
    ch.forEach((r, i) => (out[r] = q[i] as Prediction));
    return out;
  }

  private readBody(req: http.IncomingMessage): Promise<string> {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > this.maxBody)
      return Promise.reject(
        new RequestError(
          413,
          'too_large',
          `the body is ${declared} bytes; the limit is ${this.maxBody} (send fewer rows per request)`,
        ),
      );
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (err?: RequestError): void => {
        this.deadlines.delete(deadline);
        req.off('data', onData).off('end', onEnd).off('error', onError);
        if (err) {
          req.pause();
          reject(err);
        } else
          resolve(
            chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
          );
      };
      const onData = (c: Buffer): void => {
        size += c.length;
        if (size > this.maxBody)
          done(
            new RequestError(
              413,
              'too_large',
              `the body is over the limit of ${this.maxBody} bytes (send fewer rows per request)`,
            ),
          );
        else chunks.push(c);
      };
      const onEnd = (): void => done();
      const onError = (): void =>
        done(new RequestError(400, 'aborted', 'the request was aborted while its body was read'));
      const deadline = this.deadlines.add(this.bodyTimeout, () =>
        done(new RequestError(408, 'timeout', `the body did not arrive within ${this.bodyTimeout} ms`)),
      );
      req.on('data', onData).on('end', onEnd).on('error', onError);
    });
  }
}

/**
 * Request deadlines checked by one coarse interval instead of two timers per request, to keep the hot path to a Set
 * insert and delete; a deadline fires at most one tick late.
 */
/** What a finished deadline fires (never, it is gone from the set): holds nothing. */
const noop = (): void => undefined;

class Deadlines {
  private readonly entries = new Set<{ at: number; fire: () => void }>();
  private readonly interval: NodeJS.Timeout;

  constructor(tickMs: number) {
    this.interval = setInterval(() => this.sweep(), tickMs);
    this.interval.unref();
  }

  add(ms: number, fire: () => void): { at: number; fire: () => void } {
    const e = { at: performance.now() + ms, fire };
    this.entries.add(e);
    return e;
  }

  /**
   * Finishes a deadline. Its closure (which holds the request and response) is dropped first: measured with V8's
   * sampling heap profiler, deleting the entry alone still let answered requests survive young-generation GCs and be
   * promoted, to be collected only by mark-compact (bench:serve: 46 MB promoted per 10,000 requests, 4 MB with the
   * closure dropped; throughput without the log 74% → 83% of the bare server).
   */
  delete(e: { at: number; fire: () => void }): void {
    e.fire = noop;
    this.entries.delete(e);
  }

  stop(): void {
    clearInterval(this.interval);
  }

  private sweep(): void {
    const now = performance.now();
    for (const e of this.entries) {
      if (e.at <= now) {
        this.entries.delete(e);
        e.fire();
      }
    }
  }
}
