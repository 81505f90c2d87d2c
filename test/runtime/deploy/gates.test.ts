import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gateReportSchema, modelCardTemplate, promotionSchema } from '@cairn/protocol';
import '../../../runtime/src/builtins/all.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { insertAlert, closeAlert } from '../../../runtime/src/monitor/alerts.js';
import { checkGates, promote } from '../../../runtime/src/registry/gates.js';
import { ModelRegistry } from '../../../runtime/src/registry/registry.js';
import { tempWorkspace } from '../engine/helpers.js';
import { cli, gatedRecsPipeline } from './fixture.js';

// Promotion gates against a real store: a pipeline trains a popularity model, an evaluation step reports rmse with a
// `gate:`, and model.register registers it with a card. Each run changes the data (so a new version) and the card.

function ratings(shift: number): string {
  const lines = ['userId,movieId,rating'];
  for (let u = 1; u <= 12; u++)
    for (let m = 1; m <= 8; m++) if ((u * m) % 3 !== 0) lines.push(`${u},${100 + m},${1 + ((u + m + shift) % 5)}`);
  return lines.join('\n') + '\n';
}

/** A complete card (every section written), claiming `rmse` in its model-index. */
function card(rmse: string, drop?: string): string {
  const claims = [
    'model-index:',
    '- name: recs',
    '  results:',
    '  - task:',
    '      type: tabular-regression',
    '    dataset:',
    '      type: ratings',
    '      name: Ratings',
    '    metrics:',
    '    - type: rmse',
    `      value: ${rmse}`,
  ].join('\n');
  let text = modelCardTemplate('recs')
    .replace('---\n', `---\n${claims}\n`)
    .replace(/^- \*\*([^*]+):\*\* $/gm, '- **$1:** written')
    .replace(/<!--[^>]*-->/g, 'Written.')
    .replace('./cairn.yaml', './other.cairn.yaml');
  if (drop !== undefined) text = text.replace(new RegExp(`## ${drop}\\n\\n[^#]*`), '');
  return text;
}

describe('promotion gates', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  let engine: Engine;
  let ctx: { store: Engine['store']; objects: Engine['objects']; workspace: string };
  const steps = (root: string, maxRmse: number, registerNeedsEvaluate: boolean) =>
    gatedRecsPipeline(root, maxRmse, registerNeedsEvaluate, 'MODEL_CARD.md');
  const runWith = async (shift: number, cardText: string, maxRmse = 1, needsEvaluate = true) => {
    writeFileSync(path.join(ws.dir, 'ratings.csv'), ratings(shift));
    writeFileSync(path.join(ws.dir, 'MODEL_CARD.md'), cardText);
    return engine.run(steps(ws.dir, maxRmse, needsEvaluate));
  };

  before(async () => {
    ws = tempWorkspace('cairn-gates-');
    engine = new Engine(ws.dir, { parallelism: 2 });
    ctx = { store: engine.store, objects: engine.objects, workspace: ws.dir };
    writeFileSync(path.join(ws.dir, 'other.cairn.yaml'), 'version: 1\n'); // the card's `cairn.pipeline` link must exist
    // The runs' pipeline file, as the evaluation gate reads it to list the gated steps.
    writeFileSync(
      path.join(ws.dir, 'cairn.yaml'),
      'version: 1\nname: test\nsteps:\n  evaluate:\n    run: echo "::cairn-metric rmse=0.9137"\n    gate:\n      rmse: { max: 1 }\n',
    );
    assert.equal((await runWith(0, card('0.914'))).status, 'succeeded'); // v1: complete, claim matches at 3 decimals
    assert.equal((await runWith(1, card('0.914', 'Factors'))).status, 'succeeded'); // v2: no Factors section
    assert.equal((await runWith(2, card('0.95'))).status, 'succeeded'); // v3: wrong claim
    const failed = await runWith(3, card('0.914'), 0.5, false); // v4: its evaluation gate failed
    assert.equal(failed.status, 'failed');
    assert.equal((await new ModelRegistry(engine.store, engine.objects, ws.dir).get('recs')).latestVersion, 4);
  });
  after(async () => {
    await engine.close();
    ws.cleanup();
  });

  test('a complete card with matching claims, passed evaluation gates and no alert passes every gate', async () => {
    const report = gateReportSchema.parse(await checkGates(ctx, 'recs', 1));
    assert.deepEqual(
      report.gates.map((g) => [g.gate, g.state]),
      [
        ['card', 'pass'],
        ['card-metrics', 'pass'],
        ['evaluation', 'pass'],
        ['drift', 'pass'],
      ],
    );
    assert.equal(report.passed, true);
    assert.match(report.gates[2]?.detail ?? '', /evaluate: rmse=0\.9137 ≤ 1/);
  });

  test('a missing card section fails the card gate and blocks promotion (exit 1, each failing gate listed)', async () => {
    const report = await checkGates(ctx, 'recs', 2);
    const cardGate = report.gates.find((g) => g.gate === 'card');
    assert.equal(cardGate?.state, 'fail');
    assert.match(cardGate?.detail ?? '', /^MODEL_CARD\.md:\d+: missing section "Factors"/);
    assert.equal(cardGate?.file, 'MODEL_CARD.md');
    const r = await cli(['models', 'promote', 'recs', '2', '--alias', 'production', '--format', 'json'], ws.dir);
    assert.equal(r.code, 1, r.stderr);
    const out = promotionSchema.parse(JSON.parse(r.stdout));
    assert.equal(out.move, undefined);
    assert.match(r.stderr, /refused: recs version 2 fails card/);
    assert.equal(
      (await new ModelRegistry(engine.store, engine.objects, ws.dir).get('recs')).aliases.production,
      undefined,
      'nothing moved',
    );
  });

  test('overriding the failing gate needs a reason; the override is stored and the reason is in the alias history', async () => {
    const noReason = await cli(
      ['models', 'promote', 'recs', '2', '--alias', 'production', '--override', 'card'],
      ws.dir,
    );
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--override needs --reason/);
    const r = await cli(
      [
        'models',
        'promote',
        'recs',
        '2',
        '--alias',
        'production',
        '--override',
        'card',
        '--reason',
        'Factors documented in the wiki until the card is fixed',
      ],
      ws.dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /! card\s+overridden/);
    const m = await new ModelRegistry(engine.store, engine.objects, ws.dir).get('recs');
    assert.equal(m.aliases.production, 2);
    const move = m.history[0];
    assert.match(move?.reason ?? '', /promoted past failing gate card: Factors documented in the wiki/);
    const rows = engine.store.db
      .prepare<
        [],
        { gate: string; reason: string; history_id: number; version: number; alias: string; detail: string }
      >('SELECT * FROM gate_overrides')
      .all();
    assert.equal(rows.length, 1);
    assert.deepEqual(
      [rows[0]?.gate, rows[0]?.version, rows[0]?.alias, rows[0]?.history_id],
      ['card', 2, 'production', move?.id],
    );
    assert.match(rows[0]?.detail ?? '', /Factors/);
  });

  test('a claimed metric that does not match the tracked one fails card-metrics, naming it and its line', async () => {
    const report = await checkGates(ctx, 'recs', 3);
    const g = report.gates.find((x) => x.gate === 'card-metrics');
    assert.equal(g?.state, 'fail');
    assert.match(g?.detail ?? '', /claims rmse = 0\.95, but Cairn tracked rmse = 0\.9137 for version 3/);
    assert.equal(g?.line, 11, 'the `value: 0.95` line (0-based)');
    assert.equal(report.gates.find((x) => x.gate === 'card')?.state, 'pass');
  });

  test('a run whose evaluation gate failed fails the evaluation gate', async () => {
    const report = await checkGates(ctx, 'recs', 4);
    const g = report.gates.find((x) => x.gate === 'evaluation');
    assert.equal(g?.state, 'fail');
    assert.match(g?.detail ?? '', /step evaluate: gate failed: rmse = 0\.9137 is above the maximum 0\.5/);
  });

  test('an open drift alert fails the drift gate until it is closed', async () => {
    const alert = await insertAlert(engine.store, {
      name: 'recs',
      version: 1,
      deploymentId: null,
      kind: 'drift',
      message: 'latest window drifted',
      reportId: null,
    });
    const blocked = await promote(ctx, 'recs', 1, 'champion', { actor: 'test' });
    assert.equal(blocked.move, undefined);
    assert.match(
      blocked.gates.gates.find((g) => g.gate === 'drift')?.detail ?? '',
      new RegExp(`#${alert.id} latest window drifted.*cairn monitor close ${alert.id}`),
    );
    await closeAlert(engine.store, alert.id, 'retrained');
    const ok = await promote(ctx, 'recs', 1, 'champion', { actor: 'test' });
    assert.equal(ok.move?.version, 1);
    const text = await cli(['models', 'gates', 'recs', 'champion'], ws.dir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /recs version 1: gates pass/);
  });
});
