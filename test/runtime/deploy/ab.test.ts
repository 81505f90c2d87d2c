import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { abResultSchema } from '@cairn/protocol';
import '../../../runtime/src/builtins/all.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { ModelRegistry } from '../../../runtime/src/registry/registry.js';
import { seededRandom } from '../../../runtime/src/util/prng.js';
import { builtinStep, pipelineOf, tempWorkspace } from '../engine/helpers.js';
import { cli } from './fixture.js';

// A/B analysis: online from a deployment's feedback per arm (both tests), and a replay of two registered
// recommender versions on the same holdout rows (paired bootstrap). Prediction rows are written as cairn serve logs them.

function ratings(shift: number): string {
  const lines = ['userId,movieId,rating'];
  for (let u = 1; u <= 30; u++)
    for (let m = 1; m <= 12; m++) if ((u * m) % 4 !== 0) lines.push(`${u},${100 + m},${1 + ((m * 7 + shift * u) % 5)}`);
  return lines.join('\n') + '\n';
}

describe('A/B analysis', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;

  before(async () => {
    ws = tempWorkspace('cairn-ab-');
    engine = new Engine(ws.dir, { parallelism: 2 });
    const pipeline = pipelineOf(ws.dir, [
      builtinStep(
        'train',
        'train.popularity',
        { ratings: 'ratings.csv', user: 'userId', item: 'movieId', rating: 'rating' },
        { outs: { model: 'models/pop.json' } },
      ),
      builtinStep(
        'register',
        'model.register',
        { model: 'models/pop.json', name: 'recs', alias: 'challenger' },
        { needs: ['train'] },
      ),
    ]);
    // v1 learns the holdout's item means (shift 0); v2 is trained on other ratings (shift 3): clearly worse.
    writeFileSync(path.join(ws.dir, 'ratings.csv'), ratings(0));
    assert.equal((await engine.run(pipeline)).status, 'succeeded');
    writeFileSync(path.join(ws.dir, 'ratings.csv'), ratings(3));
    assert.equal((await engine.run(pipeline)).status, 'succeeded');
    await new ModelRegistry(engine.store, engine.objects, ws.dir).setAlias('recs', 'champion', 1, 'test');
    writeFileSync(path.join(ws.dir, 'holdout.csv'), ratings(0));

    // Online arms: a classifier deployment (correct / incorrect) and a regressor deployment (squared error).
    const db = engine.store.db;
    const dep = (name: string) =>
      Number(
        db
          .prepare(
            "INSERT INTO deployments (name, ref, version, challenger_ref, challenger_version, split, url, pid, log_sample, status, started_at) VALUES (?, ?, 1, ?, 2, 0.5, 'http://127.0.0.1:1', ?, 1, 'serving', ?)",
          )
          .run(name, `${name}@champion`, `${name}@challenger`, process.pid, Date.now()).lastInsertRowid,
      );
    const insert = db.prepare(
      'INSERT INTO predictions (deployment_id, request_id, row, arm, version, inputs_json, prediction_json, latency_ms, at, label_json, label_at) VALUES (?, ?, 0, ?, ?, ?, ?, 1, ?, ?, ?)',
    );
    const clf = dep('clf');
    for (let i = 0; i < 200; i++) {
      const arm = i % 2 === 0 ? 'champion' : 'challenger';
      // Champion right on 60 of 100 rows, challenger on 85 of 100; 20 more requests without feedback.
      const right = arm === 'champion' ? i % 10 < 6 : Math.floor(i / 2) % 20 < 17;
      insert.run(
        clf,
        `c${i}`,
        arm,
        arm === 'champion' ? 1 : 2,
        '{"x":1}',
        JSON.stringify({ label: right ? 'good' : 'bad', probabilities: {} }),
        i,
        JSON.stringify('good'),
        i,
      );
    }
    for (let i = 0; i < 20; i++)
      insert.run(
        clf,
        `u${i}`,
        i % 2 === 0 ? 'champion' : 'challenger',
        i % 2 === 0 ? 1 : 2,
        '{"x":1}',
        '{"label":"good","probabilities":{}}',
        300 + i,
        null,
        null,
      );
    const reg = dep('reg');
    const random = seededRandom(3);
    for (let i = 0; i < 300; i++) {
      const arm = i % 3 === 0 ? 'challenger' : 'champion';
      const truth = 1 + random() * 4;
      const noise = (random() - 0.5) * (arm === 'champion' ? 1 : 1.02);
      insert.run(
        reg,
        `r${i}`,
        arm,
        arm === 'champion' ? 1 : 2,
        '{"x":1}',
        JSON.stringify(truth + noise),
        i,
        JSON.stringify(truth),
        i,
      );
    }
  });
  after(async () => {
    await engine.close();
    ws.cleanup();
  });

  test('online, classifier: per-arm accuracy from feedback and the two-proportion z-test', async () => {
    const r = await cli(['ab', 'report', 'clf', '--format', 'json'], ws.dir);
    assert.equal(r.code, 0, r.stderr);
    const result = abResultSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual(
      result.arms.map((a) => [a.arm, a.version, a.requests, a.labelled, a.metrics.accuracy]),
      [
        ['champion', 1, 110, 100, 0.6],
        ['challenger', 2, 110, 100, 0.85],
      ],
    );
    assert.equal(result.test.method, 'two-proportion-z');
    assert.equal(result.test.winner, 'challenger');
    assert.ok(result.test.pValue < 0.001);
    assert.match(
      result.test.statement,
      /^Two-proportion z-test .* accuracy 0\.6 \(champion, n=100\) vs 0\.85 \(challenger, n=100\).* the challenger is better\.$/,
    );
    assert.equal((await engine.store.monitor.abResults({ name: 'clf' }))[0]?.id, result.id, 'stored in ab_results');
  });

  test('online, regressor: rmse and mae per arm, an unpaired bootstrap that finds no difference', async () => {
    const r = await cli(['ab', 'report', 'reg', '--alpha', '0.01'], ws.dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /champion\s+1\s+200\s+200\s+0\.\d{4}\s+0\.\d{4}/);
    assert.match(
      r.stdout,
      /Unpaired percentile bootstrap \(2000 resamples, seed 42\) of the difference in mean squared error: .* p = 0\.\d+ ≥ α = 0\.01: no significant difference\./,
    );
    assert.match(r.stdout, /winner: inconclusive/);
  });

  test('replay: both registered versions on the same holdout rows, paired bootstrap; the better-fitting champion wins', async () => {
    const r = await cli(
      ['ab', 'replay', 'recs', '--holdout', 'holdout.csv', '--label', 'rating', '--format', 'json'],
      ws.dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const result = abResultSchema.parse(JSON.parse(r.stdout));
    assert.equal(result.source, 'replay');
    assert.equal(result.holdout, 'holdout.csv');
    assert.deepEqual([result.championVersion, result.challengerVersion], [1, 2]);
    assert.equal(result.test.method, 'bootstrap');
    assert.match(result.test.statement, /^Paired percentile bootstrap/);
    const [champ, chall] = result.arms;
    assert.ok(
      champ && chall && (champ.metrics.rmse ?? 9) < (chall.metrics.rmse ?? 0),
      'v1 was trained on these ratings',
    );
    assert.equal(result.test.winner, 'champion');
    assert.ok(result.test.ci[0] > 0, "the challenger's MSE is higher: the whole interval is above 0");
    assert.equal((await engine.store.monitor.abResults({ id: result.id }))[0]?.source, 'replay');
  });

  test('bad requests are explained', async () => {
    const none = await cli(['ab', 'report', 'recs'], ws.dir);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /recs has no deployment with a challenger/);
    const same = await cli(
      ['ab', 'replay', 'recs', '--holdout', 'holdout.csv', '--label', 'rating', '--challenger', '1'],
      ws.dir,
    );
    assert.equal(same.code, 1);
    assert.match(same.stderr, /both version 1/);
    const usage = await cli(['ab', 'replay', 'recs'], ws.dir);
    assert.equal(usage.code, 2);
  });
});
