import { Store } from '../../../runtime/src/store/store.js';
import { newRun } from '../../lib/stores.js';

/**
 * A writer process for the concurrency test: `node --import tsx pgWriter.ts URL TAG RUNS POINTS` records RUNS runs of
 * POINTS metric points each, tags and step runs, then prints the run ids as JSON. Any error exits non-zero.
 */
async function main(): Promise<void> {
  const [url, tag, runs, points] = process.argv.slice(2);
  if (!url || !tag) throw new Error('usage: pgWriter.ts URL TAG RUNS POINTS');
  const store = await Store.postgres(url);
  const ids: number[] = [];
  try {
    for (let r = 0; r < Number(runs); r++) {
      const id = await store.runs.createRun(newRun('shared', { user: tag, host: 'h' }));
      const steps = await store.runs.createStepRuns(id, ['a', 'b']);
      for (let i = 0; i < Number(points); i++) store.writer.add(id, steps.get('a') ?? null, 'loss', i, i);
      await store.runs.setTag(id, 'writer', tag);
      await store.writer.flush();
      await store.runs.finishRun(id, 'succeeded');
      ids.push(id);
    }
  } finally {
    await store.close();
  }
  process.stdout.write(JSON.stringify(ids) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
