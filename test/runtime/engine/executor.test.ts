import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { alive, commandStep, EventLog, pipelineOf, tempWorkspace } from './helpers.js';

describe('executor: order, parallelism, failures', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  before(() => {
    ws = tempWorkspace();
    engine = new Engine(ws.dir, { parallelism: 2 });
  });
  after(async () => {
    await engine.close();
    ws.cleanup();
  });

  test('runs independent steps in parallel and dependents after them', async () => {
    // a waits for b's start marker: it can only succeed when both run at the same time.
    const waitFor = (f: string) =>
      `i=0; while [ ! -f ${f} ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i+1)); done; [ -f ${f} ]`;
    const p = pipelineOf(ws.dir, [
      commandStep('a', `touch a.started && ${waitFor('b.started')} && echo a > a.out`, { outs: { out: 'a.out' } }),
      commandStep('b', `touch b.started && ${waitFor('a.started')} && echo b > b.out`, { outs: { out: 'b.out' } }),
      commandStep('c', 'cat a.out b.out > c.out', {
        needs: ['a', 'b'],
        deps: ['a.out', 'b.out'],
        outs: { out: 'c.out' },
      }),
    ]);
    const log = new EventLog();
    const outcome = await engine.run(p, {}, log.listener);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome.steps));
    assert.equal(readFileSync(path.join(ws.dir, 'c.out'), 'utf8'), 'a\nb\n');
    const finished = log.events.flatMap((e) =>
      e.type === 'progress' && e.step && e.status === 'succeeded' ? [e.step] : [],
    );
    assert.equal(finished.at(-1), 'c');
  });

  test('parallelism 1 runs one step at a time', async () => {
    const p = pipelineOf(ws.dir, [
      commandStep('x', 'echo start-x >> order.txt; sleep 0.05; echo end-x >> order.txt', { cache: false }),
      commandStep('y', 'echo start-y >> order.txt; sleep 0.05; echo end-y >> order.txt', { cache: false }),
    ]);
    writeFileSync(path.join(ws.dir, 'order.txt'), '');
    const outcome = await engine.run(p, { parallelism: 1 });
    assert.equal(outcome.status, 'succeeded');
    const lines = readFileSync(path.join(ws.dir, 'order.txt'), 'utf8').trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.slice(0, 3)),
      ['sta', 'end', 'sta', 'end'],
    );
  });

  test('a step with resources.cpu takes that many core slots: two 2-core steps on 2 slots never overlap', async () => {
    const p = pipelineOf(ws.dir, [
      commandStep('big1', 'echo start >> cpu.txt; sleep 0.05; echo end >> cpu.txt', {
        cache: false,
        resources: { cpu: 2 },
      }),
      commandStep('big2', 'echo start >> cpu.txt; sleep 0.05; echo end >> cpu.txt', {
        cache: false,
        resources: { cpu: 2 },
      }),
    ]);
    writeFileSync(path.join(ws.dir, 'cpu.txt'), '');
    assert.equal((await engine.run(p)).status, 'succeeded');
    assert.deepEqual(readFileSync(path.join(ws.dir, 'cpu.txt'), 'utf8').trim().split('\n'), [
      'start',
      'end',
      'start',
      'end',
    ]);
  });

  test('a non-zero exit fails the step, skips dependents, and says why', async () => {
    const p = pipelineOf(ws.dir, [
      commandStep('bad', 'echo about to fail; exit 3'),
      commandStep('after', 'echo never > never.out', { needs: ['bad'], outs: { o: 'never.out' } }),
    ]);
    const outcome = await engine.run(p);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.steps.bad?.status, 'failed');
    assert.match(outcome.steps.bad?.error ?? '', /exited with code 3/);
    assert.equal(outcome.steps.after?.status, 'skipped');
    assert.ok(!existsSync(path.join(ws.dir, 'never.out')));
    const detail = await engine.store.runs.detail(outcome.runId);
    assert.equal(detail?.status, 'failed');
    assert.match(detail?.error ?? '', /step 'bad' failed/);
    const logFile = detail?.steps.find((s) => s.step === 'bad')?.log ?? '';
    assert.match(readFileSync(path.join(ws.dir, logFile), 'utf8'), /about to fail/);
  });

  test('a missing program is named in the failure', async () => {
    const outcome = await engine.run(pipelineOf(ws.dir, [commandStep('missing', 'no-such-program-cairn --flag')]));
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.steps.missing?.error ?? '', /program not found: 'no-such-program-cairn'/);
  });

  test('a declared output that is not produced fails the step', async () => {
    const outcome = await engine.run(
      pipelineOf(ws.dir, [commandStep('lazy', 'echo nothing', { outs: { model: 'models/model.bin' } })]),
    );
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.steps.lazy?.error ?? '', /declared output 'model' \(models\/model\.bin\) was not produced/);
  });

  test('a missing dependency names the step that produces it', async () => {
    const p = pipelineOf(ws.dir, [
      commandStep('make', 'echo 1 > made.txt', { outs: { o: 'made.txt' } }),
      commandStep('use', 'cat made.txt', { needs: ['make'], deps: ['made.txt'] }),
    ]);
    const outcome = await engine.run(p, { step: 'use' });
    assert.equal(outcome.status, 'failed');
    assert.deepEqual(Object.keys(outcome.steps), ['use']);
    assert.match(
      outcome.steps.use?.error ?? '',
      /dependency 'made.txt' does not exist — it is an output of step 'make'/,
    );
  });

  test('--step with downstream runs the step and everything after it only', async () => {
    const p = pipelineOf(ws.dir, [
      commandStep('s1', 'echo 1 > s1.txt', { outs: { o: 's1.txt' } }),
      commandStep('s2', 'cat s1.txt > s2.txt', { needs: ['s1'], deps: ['s1.txt'], outs: { o: 's2.txt' } }),
      commandStep('s3', 'cat s2.txt > s3.txt', { needs: ['s2'], deps: ['s2.txt'], outs: { o: 's3.txt' } }),
      commandStep('other', 'echo o > other.txt', { outs: { o: 'other.txt' } }),
    ]);
    assert.equal((await engine.run(p)).status, 'succeeded');
    const outcome = await engine.run(p, { step: 's2', downstream: true, force: true });
    assert.deepEqual(Object.keys(outcome.steps).sort(), ['s2', 's3']);
    assert.equal(outcome.steps.s2?.cacheHit, false);
    await assert.rejects(engine.start(p, { step: 'nope' }), /has no step 'nope'; its steps are: s1, s2, s3, other/);
  });

  test('paths leaving the workspace are refused before anything runs', async () => {
    const before = engine.store.db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number };
    const p = pipelineOf(ws.dir, [commandStep('escape', 'echo x > ../escaped.txt', { outs: { o: '../escaped.txt' } })]);
    await assert.rejects(engine.start(p), /output 'o' of step 'escape' \(\.\.\/escaped\.txt\) leaves the workspace/);
    const abs = pipelineOf(ws.dir, [commandStep('abs', 'cat /etc/hostname', { deps: ['/etc/hostname'] })]);
    await assert.rejects(engine.start(abs), /dependency '\/etc\/hostname' of step 'abs' leaves the workspace/);
    const afterCount = engine.store.db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number };
    assert.equal(afterCount.n, before.n);
  });

  test('params reach the command; secrets are redacted in logs and in the store', async () => {
    const p = pipelineOf(
      ws.dir,
      [
        commandStep(
          'env',
          'echo "lr=$CAIRN_PARAM_LR token=$CAIRN_PARAM_API_TOKEN"; cat "$CAIRN_PARAMS_FILE" > params.seen; echo done > "$CAIRN_OUTPUT_RESULT"',
          { params: ['lr'], outs: { result: 'result.txt' } },
        ),
      ],
      { lr: { value: 0.01, type: 'float' }, 'api-token': { value: 's3cr3t-value', secret: true } },
    );
    const log = new EventLog();
    const outcome = await engine.run(p, {}, log.listener);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome.steps));
    assert.ok(log.logLines('env').includes('lr=0.01 token=***'), log.logLines('env').join('\n'));
    assert.deepEqual(JSON.parse(readFileSync(path.join(ws.dir, 'params.seen'), 'utf8')), {
      lr: 0.01,
      'api-token': 's3cr3t-value',
    });
    const detail = await engine.store.runs.detail(outcome.runId);
    assert.equal(detail?.params['api-token'], '***');
    assert.equal(detail?.params.lr, 0.01);
    const logText = readFileSync(path.join(ws.dir, detail?.steps[0]?.log ?? ''), 'utf8');
    assert.ok(!logText.includes('s3cr3t-value'));
    assert.equal(readFileSync(path.join(ws.dir, 'result.txt'), 'utf8'), 'done\n');
  });

  test('metrics from the CAIRN_METRICS file and marked stdout lines are recorded; bad lines are reported, not recorded', async () => {
    const script = [
      'import json, os',
      'with open(os.environ["CAIRN_METRICS"], "a") as f:',
      '    for i in range(5): f.write(json.dumps({"key": "loss", "value": 1.0 / (i + 1), "step": i}) + "\\n")',
      '    f.write("not json\\n"); f.write(json.dumps({"key": "loss", "value": "NaN"}) + "\\n")',
      'print("::cairn-metric acc=0.75 step=4")',
      'print("::cairn-metric acc=nan")',
    ].join('\n');
    writeFileSync(path.join(ws.dir, 'metrics.py'), script);
    const p = pipelineOf(ws.dir, [commandStep('train', 'python3 metrics.py', { deps: ['metrics.py'] })]);
    const log = new EventLog();
    const outcome = await engine.run(p, {}, log.listener);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome.steps));
    const history = await engine.store.metrics.history(outcome.runId, 'loss');
    assert.deepEqual(
      history.points.map((pt) => pt.step),
      [0, 1, 2, 3, 4],
    );
    assert.equal(history.points[4]?.value, 0.2);
    const detail = await engine.store.runs.detail(outcome.runId);
    assert.equal(detail?.metrics.acc, 0.75);
    assert.equal(detail?.metrics.loss, 0.2);
    const lines = log.logLines('train').join('\n');
    assert.match(lines, /CAIRN_METRICS line 6 is not JSON/);
    assert.match(lines, /CAIRN_METRICS line 7 ignored: value/);
    assert.match(lines, /metric line ignored: acc=nan is not a finite number/);
    assert.equal(log.events.filter((e) => e.type === 'metric').length, 6);
  });

  test('metrics files declared by a step are recorded (nested keys joined by dots)', async () => {
    const p = pipelineOf(ws.dir, [
      commandStep('eval', `echo '{"auc": 0.9, "per_class": {"a": {"f1": 0.5}}, "note": "x"}' > eval.json`, {
        metrics: ['eval.json'],
      }),
    ]);
    const outcome = await engine.run(p);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome.steps));
    assert.deepEqual((await engine.store.runs.detail(outcome.runId))?.metrics, { auc: 0.9, 'per_class.a.f1': 0.5 });
  });

  test('cancelling kills the whole process tree and marks the run cancelled', async () => {
    const p = pipelineOf(ws.dir, [
      commandStep('tree', 'sh -c "sleep 60 & echo \\$! > grandchild.pid; wait" & echo $! > child.pid; wait', {
        cache: false,
      }),
      commandStep('later', 'echo never', { needs: ['tree'] }),
    ]);
    const log = new EventLog();
    const handle = await engine.start(p, {}, log.listener);
    await log.waitFor((e) => e.type === 'progress' && e.step === 'tree' && e.status === 'running');
    // The pid files are the signal that the tree is up.
    const pidFile = path.join(ws.dir, 'grandchild.pid');
    await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    const child = Number(readFileSync(path.join(ws.dir, 'child.pid'), 'utf8'));
    assert.ok(alive(grandchild) && alive(child));
    assert.equal(engine.cancel(handle.runId), true);
    const outcome = await handle.done;
    assert.equal(outcome.status, 'cancelled');
    assert.equal(outcome.steps.tree?.status, 'cancelled');
    assert.equal(outcome.steps.later?.status, 'cancelled');
    await waitUntil(() => !alive(grandchild) && !alive(child));
    assert.equal((await engine.store.runs.detail(handle.runId))?.status, 'cancelled');
  });
});

/** Polls a condition on the event loop (file-system facts have no event to wait on); fails after 30 s (a busy machine). */
async function waitUntil(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
