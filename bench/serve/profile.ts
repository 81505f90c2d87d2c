/**
 * bench/serve/profile.ts — where one server's CPU goes under load: V8's CPU profile of `--requests` single-row requests
 * at `--connections` to one server for one model Cairn produces (./models.ts), self time summed per function (top
 * `--top`) and per area (the load generator's node:http client, node:http's server side, the model call, the rest).
 * The client shares the process, as in bench:serve, so its share is printed too.
 *
 *   node bench/lib/runBundled.mjs bench/serve/profile.ts [-- --model 1 --server batched|unbatched|bare
 *     --requests 20000 --connections 64 --top 40 --threads N]
 */
import * as http from 'node:http';
import { Session } from 'node:inspector/promises';
import { ModelServer } from '../../runtime/src/serve/index.js';
import { arg } from './args.js';
import { bareServer, load, TOKEN, type BareInputs } from './load.js';
import { benchModels } from './models.js';

const MODEL = arg('model', 1);
const REQUESTS = arg('requests', 20_000);
const CONNECTIONS = arg('connections', 64);
const TOP = arg('top', 40);
/** onnxruntime intra-op threads (default: cairn serve's for Cairn, onnxruntime's for the bare server). */
const THREADS = process.argv.includes('--threads') ? arg('threads', 1) : undefined;
const at = process.argv.indexOf('--server');
const SERVER = at >= 0 ? (process.argv[at + 1] ?? 'batched') : 'batched';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Which part of the process a function belongs to (by its script). */
function area(url: string, name: string): string {
  if (url.includes('_http_client') || url.includes('_http_agent')) return 'load generator (node:http client)';
  if (url.includes('_http_server') || url.includes('_http_outgoing') || url.includes('_http_incoming'))
    return 'node:http (both ends)';
  if (url.includes('onnxruntime') || url.includes('backend.js')) return 'onnxruntime-node';
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') return name;
  if (url.startsWith('node:')) return 'other node internals';
  if (url === '') return `native: ${name}`;
  return 'bench / cairn code';
}

async function main(): Promise<void> {
  const models = await benchModels();
  const m = models[MODEL - 1];
  if (!m) throw new Error(`--model ${MODEL}: there are ${models.length} models (1 to ${models.length})`);
  const inputs: BareInputs = {};
  const cells: number[] = [];
  for (const [name, f] of Object.entries(m.bare)) {
    inputs[name] = { type: f.type, width: f.width };
    cells.push(...f.data);
  }
  const server =
    SERVER === 'bare'
      ? await bareServer(m.onnx, inputs, true, THREADS)
      : await ModelServer.start({
          model: m.onnx,
          port: 0,
          token: TOKEN,
          ...(SERVER === 'unbatched' ? { batch: null } : {}),
          intraOpThreads: THREADS,
        });
  const body =
    SERVER === 'bare'
      ? JSON.stringify({ dataframe_split: { data: [cells] } })
      : JSON.stringify({ dataframe_split: { columns: m.columns, data: [m.row] } });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  await load({ url: server.url, body }, 2000, CONNECTIONS, agent);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const s = await load({ url: server.url, body }, REQUESTS, CONNECTIONS, agent);
  const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
  session.disconnect();
  agent.destroy();
  if (server instanceof ModelServer) await server.close(0);
  else await server.close();
  const time = new Map<number, number>();
  profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const t = time.get(n.id) ?? 0;
    total += t;
    const { functionName, url, lineNumber } = n.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + t);
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + t);
  }
  const perReq = (us: number): string => `${(us / s.done).toFixed(1).padStart(6)} µs/req`;
  console.log(
    `${m.name}, ${SERVER} server, ${s.done} requests at ${CONNECTIONS} connections: ${(s.done / s.secs).toFixed(0)} req/s, process CPU ${(s.cpuUs / s.done).toFixed(0)} µs/req, failed ${s.failed}`,
  );
  console.log('self time by area:');
  for (const [k, t] of [...areas].sort((a, b) => b[1] - a[1]))
    console.log(`  ${perReq(t)} ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
  console.log(`self time by function (top ${TOP}):`);
  for (const [k, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`  ${perReq(t)} ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
