import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { RunEvent } from '@cairn/protocol';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { EventLog, commandStep, pipelineOf, tempWorkspace } from './helpers.js';
import { forEachBackend } from '../../lib/stores.js';

// A metric reported without a step number gets the next step of its key (0, 1, 2…), per step run.
forEachBackend('metric steps of command steps', (b) => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let runId = 0;
  const log = new EventLog();
  before(async () => {
    ws = tempWorkspace('cairn-metric-steps-');
    engine = new Engine(ws.dir, { parallelism: 2, store: await b.open() });
    const script = [
      'import json, os',
      // stdout, no step: loss three times, acc once.
      'print("::cairn-metric loss=0.5")',
      'print("::cairn-metric loss=0.4 acc=0.7")',
      'print("::cairn-metric loss=0.3")',
      // An explicit step, then none: the counter continues past it.
      'print("::cairn-metric lr=0.1 step=5")',
      'print("::cairn-metric lr=0.05")',
      'print("::cairn-metric lr=0.01 step=2")',
      'print("::cairn-metric lr=0.005")',
      // The CAIRN_METRICS file, no step.
      'with open(os.environ["CAIRN_METRICS"], "a") as f:',
      '    for v in (0.9, 0.8, 0.7): f.write(json.dumps({"key": "val_loss", "value": v}) + "\\n")',
      // A metrics file read at the end: one more point of its key.
      'with open("summary.json", "w") as f: json.dump({"auc": 0.81}, f)',
      'print("::cairn-metric auc=0.8")',
    ].join('\n');
    writeFileSync(path.join(ws.dir, 'report.py'), script);
    const p = pipelineOf(ws.dir, [
      commandStep('train', 'python3 report.py', { deps: ['report.py'], metrics: ['summary.json'] }),
      // Another step of the same run reporting its own key without steps starts at 0.
      commandStep('other', 'printf "::cairn-metric rows=10\\n::cairn-metric rows=20\\n"', { needs: ['train'] }),
    ]);
    const outcome = await engine.run(p, {}, log.listener);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome.steps));
    runId = outcome.runId;
  });
  after(async () => {
    await engine.close();
    ws.cleanup();
  });

  const steps = async (key: string) =>
    (await engine.store.metrics.history(runId, key)).points.map((pt) => [pt.step, pt.value]);

  test('successive reports without a step get 0, 1, 2… per metric name', async () => {
    assert.deepEqual(await steps('loss'), [
      [0, 0.5],
      [1, 0.4],
      [2, 0.3],
    ]);
    assert.deepEqual(await steps('acc'), [[0, 0.7]]);
    assert.deepEqual(await steps('rows'), [
      [0, 10],
      [1, 20],
    ]);
  });

  test('after an explicit step, the next report without one goes one past the highest step so far', async () => {
    assert.deepEqual(await steps('lr'), [
      [2, 0.01],
      [5, 0.1],
      [6, 0.05],
      [7, 0.005],
    ]);
  });

  test('the CAIRN_METRICS file and metrics files count the same way; live events carry the assigned step', async () => {
    assert.deepEqual(await steps('val_loss'), [
      [0, 0.9],
      [1, 0.8],
      [2, 0.7],
    ]);
    assert.deepEqual(await steps('auc'), [
      [0, 0.8],
      [1, 0.81],
    ]);
    const live = log.events
      .filter((e): e is Extract<RunEvent, { type: 'metric' }> => e.type === 'metric' && e.key === 'loss')
      .map((e) => e.step);
    assert.deepEqual(live, [0, 1, 2]);
  });
});
