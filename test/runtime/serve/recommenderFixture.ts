import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { implementations } from '../../../runtime/src/builtins/index.js';
import '../../../runtime/src/builtins/train.js';
import type { BuiltinContext } from '../../../runtime/src/builtins/types.js';
import { PredictionLog } from '../../../runtime/src/deploy/predictionLog.js';
import { ModelServer } from '../../../runtime/src/serve/index.js';
import { Store } from '../../../runtime/src/store/store.js';

/** A small ratings table (users 1–20, items 101–115, most pairs rated), as MovieLens columns. */
export function writeRatings(dir: string): string {
  const lines = ['userId,movieId,rating'];
  for (let u = 1; u <= 20; u++)
    for (let m = 1; m <= 15; m++) if ((u * m) % 4 !== 0) lines.push(`${u},${100 + m},${1 + ((u * 3 + m) % 5)}`);
  const file = join(dir, 'ratings.csv');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/**
 * Trains a matrix-factorization recommender with the real `train.matrix-factorization` built-in (tfjs, seeded) and
 * returns its model.json and ONNX export.
 */
export async function trainRecommender(dir: string): Promise<{ json: string; onnx: string; ratings: string }> {
  const ratings = writeRatings(dir);
  const json = join(dir, 'mf.json');
  const onnx = join(dir, 'mf.onnx');
  const impl = implementations.get('train.matrix-factorization');
  if (!impl) throw new Error('train.matrix-factorization is not registered');
  const ctx: BuiltinContext = {
    root: dir,
    step: 'train',
    options: {
      ratings,
      user: 'userId',
      item: 'movieId',
      rating: 'rating',
      factors: 4,
      implicit: false,
      epochs: 3,
      lr: 0.02,
      l2: 0.01,
      batch_size: 32,
      seed: 2,
      valid_fraction: 0.1,
    },
    outputs: { model: json, onnx },
    dataSchemas: {},
    log: () => undefined,
    metric: () => undefined,
    tag: () => undefined,
    signal: new AbortController().signal,
  };
  await impl(ctx);
  return { json, onnx, ratings };
}

/** A recommender served with a 50/50 split (versions 1 and 2 of `rec`), logging to a deployment of a real store. */
export interface ServedAbRecommender {
  server: ModelServer;
  store: Store;
  log: PredictionLog;
  deploymentId: number;
  close(): Promise<void>;
}

export async function serveAbRecommender(dir: string, token: string): Promise<ServedAbRecommender> {
  const store = new Store(join(dir, '.cairn', 'cairn.db'));
  const model = await trainRecommender(dir);
  const server = await ModelServer.start({
    model: model.json,
    port: 0,
    token,
    registered: { name: 'rec', version: 1 },
    challenger: { model: model.json, registered: { name: 'rec', version: 2 }, split: 0.5, key: null },
  });
  const deploymentId = await store.deployments.start({
    name: 'rec',
    ref: 'rec@1',
    version: 1,
    challenger: { ref: 'rec@2', version: 2, split: 0.5, key: null },
    url: server.url,
    pid: process.pid,
    logSample: 1,
  });
  const log = new PredictionLog(store, deploymentId, { sample: 1, maxRows: 10_000 });
  server.attachDeployment(deploymentId, log);
  return {
    server,
    store,
    log,
    deploymentId,
    async close() {
      await server.close();
      await log.close();
      await store.close();
    },
  };
}
