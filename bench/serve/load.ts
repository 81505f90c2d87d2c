/**
 * The two ends every bench:serve measurement shares: the bare baseline server (node:http + JSON.parse/stringify + one
 * session.run per request, no checks) and the keep-alive load generator; bench/serve/run.ts and profile.ts use both.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-node';

export const TOKEN = 'bench-token-0123456789abcdef';
const TIME_LIMIT_MS = 60_000;

/** session.run inputs of the bare server: each takes `width` cells of the body's one row, in order. */
export type BareInputs = Record<string, { type: 'float32' | 'int64'; width: number }>;

/** A node:http server that only parses the body's row into tensors and calls session.run: no checks, no transform. */
export async function bareServer(
  onnx: string,
  inputs: BareInputs,
  callModel = true,
  /** onnxruntime's intra-op threads; bench:serve leaves onnxruntime's default (profile.ts --threads sets it). */
  intraOpNumThreads?: number,
): Promise<{ url: string; close: () => Promise<void> }> {
  const session = await ort.InferenceSession.create(onnx, {
    logSeverityLevel: 3,
    ...(intraOpNumThreads === undefined ? {} : { intraOpNumThreads }),
  });
  const output = session.outputNames.includes('probabilities') ? 'probabilities' : (session.outputNames[0] ?? '');
  const specs = Object.entries(inputs);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const b = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { dataframe_split: { data: number[][] } };
      const x = b.dataframe_split.data[0] ?? [];
      const feeds: Record<string, ort.Tensor> = {};
      let at = 0;
      for (const [name, f] of specs) {
        const cells = x.slice(at, (at += f.width));
        feeds[name] =
          f.type === 'int64'
            ? new ort.Tensor(
                'int64',
                BigInt64Array.from(cells, (v) => BigInt(v)),
                [1],
              )
            : new ort.Tensor('float32', Float32Array.from(cells), [1, f.width]);
      }
      // Without the model call (a fixed answer): the HTTP/JSON floor, the most any batching could approach.
      (callModel ? session.run(feeds) : Promise.resolve({ [output]: new ort.Tensor('float32', [0.5], [1]) })).then(
        (out) => {
          const text = JSON.stringify({ predictions: [Array.from(out[output]?.data as Float32Array, Number)] });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${a.port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await session.release();
    },
  };
}

/** A server under load and the one-row body its clients send. */
export interface Target {
  url: string;
  body: string;
}

/** Requests of one slice: how many, wall seconds, process CPU µs, latencies (ms) and failures. */
export interface Slice {
  done: number;
  secs: number;
  cpuUs: number;
  lat: Float64Array;
  failed: number;
}

/** `total` requests over `connections` keep-alive sockets of `agent`; latency per request in ms. */
export async function load(to: Target, total: number, connections: number, agent: http.Agent): Promise<Slice> {
  const { body } = to;
  const target = new URL(`${to.url}/invocations`);
  const headers = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    authorization: `Bearer ${TOKEN}`,
  };
  const lat = new Float64Array(total);
  let next = 0;
  let failed = 0;
  const deadline = performance.now() + TIME_LIMIT_MS;
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            lat[i] = performance.now() - t0;
            if (res.statusCode !== 200) failed++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(body);
    });
  const worker = async (): Promise<void> => {
    while (next < total && performance.now() < deadline) await one(next++);
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: connections }, () => worker()));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const done = Math.min(next, total);
  return { done, secs, cpuUs: cpu.user + cpu.system, lat: lat.subarray(0, done), failed };
}
