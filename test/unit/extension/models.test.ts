import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Alert, Deployment, GateReport, ModelVersion } from '@cairn/protocol';
import {
  alertStatusText,
  curlCommand,
  deployBlock,
  deployLenses,
  deploymentDescription,
  failingGates,
  gateItems,
  gateSummary,
  registerSteps,
  samePath,
  versionDescription,
  versionTooltip,
} from '../../../extension/src/models/modelsModel.js';

const report = (states: Array<'pass' | 'fail' | 'overridden'>): GateReport => {
  const ids = ['card', 'card-metrics', 'evaluation', 'drift'] as const;
  const details = [
    'MODEL_CARD.md:41: missing section "Limitations"',
    'roc_auc 0.838 claimed, 0.839 tracked',
    'roc_auc 0.84 ≥ 0.75',
    'no open drift alert',
  ];
  return {
    name: 'credit-risk',
    version: 3,
    passed: !states.includes('fail'),
    gates: states.map((state, i) => ({
      gate: ids[i] ?? 'drift',
      state,
      detail: details[i] ?? '',
      ...(i === 0 ? { file: 'MODEL_CARD.md', line: 40 } : {}),
      ...(state === 'overridden' ? { override: { reason: 'known gap', actor: 'ana', at: 1 } } : {}),
    })),
  };
};

const deployment: Deployment = {
  id: 4,
  name: 'credit-risk',
  ref: 'credit-risk@3',
  version: 3,
  challenger: { ref: 'credit-risk@challenger', version: 4, split: 0.2, key: null },
  url: 'http://127.0.0.1:5123',
  pid: 99,
  logSample: 1,
  status: 'serving',
  startedAt: 0,
  stoppedAt: null,
  logged: 120,
  labelled: 40,
};

test('the gate summary counts passing gates and names the first failing one without its file:line', () => {
  const failing = gateSummary(report(['fail', 'pass', 'pass', 'pass']));
  assert.equal(failing.title, '$(warning) gates 3/4 — card: missing section "Limitations"');
  assert.match(failing.tooltip, /✗ card: MODEL_CARD\.md:41: missing section "Limitations"\n✓ card metrics/);
  assert.equal(gateSummary(report(['pass', 'pass', 'pass', 'pass'])).title, '$(pass) gates 4/4 ✓');
  // An overridden gate counts as passing (it was promoted past with a recorded reason).
  assert.equal(gateSummary(report(['overridden', 'pass', 'pass', 'pass'])).title, '$(pass) gates 4/4 ✓');
  assert.deepEqual(failingGates(report(['fail', 'pass', 'fail', 'pass'])), ['card', 'evaluation']);
});

test('the gates quick pick shows each gate with its state, detail and file line (1-based) unless the detail names it', () => {
  const items = gateItems(report(['fail', 'overridden', 'pass', 'pass']));
  const moved = gateItems({
    ...report(['pass', 'pass', 'pass', 'pass']),
    gates: [{ gate: 'card', state: 'pass', detail: 'no errors', file: 'cards/m.md', line: 0 }],
  });
  assert.equal(moved[0]?.detail, 'no errors (cards/m.md:1)');
  assert.deepEqual(
    items.map((i) => [i.label, i.description, i.detail]),
    [
      ['$(error) card', 'fail', 'MODEL_CARD.md:41: missing section "Limitations"'],
      ['$(warning) card metrics', 'overridden: known gap', 'roc_auc 0.838 claimed, 0.839 tracked'],
      ['$(pass) evaluation', 'pass', 'roc_auc 0.84 ≥ 0.75'],
      ['$(pass) drift', 'pass', 'no open drift alert'],
    ],
  );
});

test('deploy lenses: untrusted explains, unregistered says so, registered deploys and shows gates and the URL', () => {
  assert.deepEqual(
    deployLenses({ offset: 5, model: 'm', trusted: false, version: 1, gates: undefined, serving: undefined }).map(
      (l) => [l.title, l.command],
    ),
    [['$(shield) Deploying is off in Restricted Mode', 'cairn.explainRestrictedMode']],
  );
  assert.match(
    deployLenses({ offset: 5, model: 'm', trusted: true, version: undefined, gates: undefined, serving: undefined })[0]
      ?.title ?? '',
    /m is not registered yet/,
  );
  const lenses = deployLenses({
    offset: 7,
    model: 'credit-risk',
    trusted: true,
    version: 3,
    gates: report(['fail', 'pass', 'pass', 'pass']),
    serving: deployment,
  });
  assert.deepEqual(
    lenses.map((l) => [l.offset, l.title, l.command]),
    [
      [7, '$(rocket) Deploy locally', 'cairn.models.deploy'],
      [7, '$(warning) gates 3/4 — card: missing section "Limitations"', 'cairn.models.promote'],
      [7, '$(globe) serving at http://127.0.0.1:5123', 'cairn.models.copyCurl'],
    ],
  );
  assert.deepEqual(lenses[0]?.args, [{ name: 'credit-risk', version: 3 }]);
  // On a pipeline's deploy: key the deploy lens names the pipeline, so the server takes its deploy: settings.
  const onDeployKey = deployLenses({
    offset: 7,
    model: 'credit-risk',
    trusted: true,
    version: 3,
    gates: undefined,
    serving: undefined,
    pipeline: '/w/cairn.yaml',
  });
  assert.deepEqual(onDeployKey[0]?.args, [{ name: 'credit-risk', version: 3, pipeline: '/w/cairn.yaml' }]);
  const unknown = deployLenses({
    offset: 0,
    model: 'x',
    trusted: true,
    version: 2,
    gates: { error: 'no runtime/checkGates' },
    serving: undefined,
  });
  assert.deepEqual(
    unknown.map((l) => l.title),
    ['$(rocket) Deploy locally', '$(question) gates: unknown'],
  );
});

test('curl: bearer token, JSON body with one zero/empty row of the input columns, quotes escaped', () => {
  const cmd = curlCommand('http://127.0.0.1:5123/', 'tok', [
    { name: 'Age', type: 'number' },
    { name: "Home's", type: 'string' },
  ]);
  assert.equal(
    cmd,
    `curl -s -H 'Authorization: Bearer tok' -H 'Content-Type: application/json' -d '{"dataframe_records":[{"Age":0,"Home'\\''s":""}]}' 'http://127.0.0.1:5123/invocations'`,
  );
  assert.doesNotMatch(curlCommand('http://h:1', null, undefined), /Authorization/);
});

test('descriptions: versions with aliases and key metric, deployments with arms and counts, alert counts', () => {
  const v: ModelVersion = {
    name: 'credit-risk',
    version: 3,
    runId: 12,
    stepRunId: 1,
    step: 'register',
    artifactHash: 'a',
    artifactKind: 'file',
    path: 'model.json',
    cardPath: 'MODEL_CARD.md',
    cardHash: null,
    metrics: { roc_auc: 0.83812, f1: 0.5 },
    createdAt: Date.UTC(2026, 0, 2, 3, 4),
    aliases: ['champion'],
  };
  assert.equal(versionDescription(v), 'champion · f1 0.5');
  assert.match(
    versionTooltip(v),
    /^credit-risk v3 \(champion\)\nregistered 2026-01-02 03:04 by run #12 \(step register\)\nmodel: model\.json\ncard: MODEL_CARD\.md\nmetrics:\n {2}f1: 0\.5\n {2}roc_auc: 0\.8381$/,
  );
  assert.equal(
    deploymentDescription(deployment),
    'http://127.0.0.1:5123 · v3 + challenger v4 (20%) · 120 logged, 40 labelled',
  );
  const alert = (id: number, kind: Alert['kind']): Alert => ({
    id,
    name: 'm',
    version: 1,
    deploymentId: 4,
    kind,
    message: 'drifted',
    reportId: 2,
    openedAt: id,
    closedAt: null,
    closedReason: null,
    retrainRunId: null,
  });
  assert.equal(alertStatusText([]), undefined);
  assert.equal(alertStatusText([alert(1, 'drift')]), '$(warning) 1 drift alert');
  assert.equal(alertStatusText([alert(1, 'drift'), alert(2, 'online-metric')]), '$(warning) 2 alerts');
});

test('register steps of a pipeline: model name and card when they are plain strings', () => {
  const text = `version: 1
name: p
steps:
  train:
    run: echo hi > m.json
    outs: [m.json]
  register:
    uses: model.register
    with:
      model: \${steps.train.outputs.m}
      name: credit-risk
      card: MODEL_CARD.md
  again:
    uses: model.register
    with:
      model: \${steps.train.outputs.m}
      name: \${params.name}
`;
  const steps = registerSteps('/w/cairn.yaml', text);
  assert.deepEqual(
    steps.map((s) => [s.step, text.slice(s.keyStart, s.keyStart + s.step.length), s.model, s.card]),
    [
      ['register', 'register', 'credit-risk', 'MODEL_CARD.md'],
      ['again', 'again', undefined, undefined],
    ],
  );
  assert.ok(samePath('./samples/MODEL_CARD.md', 'samples/MODEL_CARD.md'));
  assert.ok(!samePath('a/MODEL_CARD.md', 'MODEL_CARD.md'));
});

test('deploy block: its lenses act on the register step that registers the deployed model', () => {
  const text = `version: 1
name: p
steps:
  train:
    run: python train.py
    outputs: { m: model.onnx, other: other.onnx }
  register:
    uses: model.register
    with:
      model: \${steps.train.outputs.m}
      name: credit-risk
  register-other:
    uses: model.register
    with:
      model: \${steps.train.outputs.other}
      name: other-model
deploy:
  model: \${steps.train.outputs.other}
`;
  const block = deployBlock('/w/cairn.yaml', text);
  assert.equal(block?.model, 'other-model', 'the step whose with.model is the deployed model');
  assert.equal(text.slice(block?.keyStart, (block?.keyStart ?? 0) + 'deploy'.length), 'deploy');
  // No deploy block: no lens; a deployed file no step registers, with two registered names: no guess.
  assert.equal(deployBlock('/w/cairn.yaml', text.replace(/deploy:[\s\S]*$/, '')), undefined);
  assert.equal(
    deployBlock(
      '/w/cairn.yaml',
      text.replace(/(deploy:\n  model: )\$\{steps.train.outputs.other\}/, '$1elsewhere.onnx'),
    ),
    undefined,
  );
  // One registered name: that one.
  assert.equal(
    deployBlock(
      '/w/cairn.yaml',
      text
        .replace('name: other-model', 'name: credit-risk')
        .replace(/(deploy:\n  model: )\$\{steps.train.outputs.other\}/, '$1elsewhere.onnx'),
    )?.model,
    'credit-risk',
  );
});
