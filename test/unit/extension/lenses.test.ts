import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipelineLenses } from '../../../extension/src/codeLens/lensModel.js';
import { outlinePipeline, pipelineName } from '../../../extension/src/codeLens/pipelineOutline.js';
import { runDetailMarkdown, stepNameOfLabel } from '../../../extension/src/commands/reports.js';
import {
  overridesFromRun,
  parseParamOverrides,
  runBlockedReason,
} from '../../../extension/src/commands/paramsInput.js';

const text = `# a comment
version: 1
name: tiny
steps:
  make:
    run: echo hi > out.txt
    outs: [out.txt]
  count:
    run: wc -c \${steps.make.outputs.out}
`;

test('the outline names the pipeline as the runtime does and finds step keys and implied needs', () => {
  const o = outlinePipeline('/w/tiny.cairn.yaml', text);
  assert.equal(o.name, 'tiny');
  assert.equal(o.topOffset, text.indexOf('version'));
  assert.deepEqual(
    o.steps.map((s) => [s.name, text.slice(s.keyStart, s.keyEnd), s.needs]),
    [
      ['make', 'make', []],
      ['count', 'count', ['make']],
    ],
  );
  assert.equal(pipelineName('/w/train.cairn.yaml', {}), 'train');
  assert.equal(pipelineName('/w/cairn.yml', null), 'cairn');
});

test('trusted: run lenses on top and per step, the last result where a run is known', () => {
  const o = outlinePipeline('/w/tiny.cairn.yaml', text);
  const states = new Map([
    [
      'make',
      {
        state: 'fresh' as const,
        why: 'ran in run #4',
        runId: 4,
        status: 'succeeded' as const,
        at: 1000,
        metrics: { acc: 0.5 },
      },
    ],
  ]);
  const lenses = pipelineLenses('URI', o, true, states, 61_000);
  assert.deepEqual(
    lenses.map((l) => [l.offset, l.title, l.command, l.args]),
    [
      [o.topOffset, '$(play) Run all', 'cairn.runPipeline', ['URI']],
      [o.topOffset, '$(symbol-parameter) Run with params…', 'cairn.runWithParams', ['URI']],
      [o.steps[0]?.keyStart, '$(play) Run step', 'cairn.runStep', ['URI', 'make']],
      [o.steps[0]?.keyStart, '$(run-below) Run downstream', 'cairn.runStepDownstream', ['URI', 'make']],
      [o.steps[0]?.keyStart, '✓ succeeded 1m ago · acc 0.5', 'cairn.openStepLog', [4, 'make']],
      [o.steps[1]?.keyStart, '$(play) Run step', 'cairn.runStep', ['URI', 'count']],
      [o.steps[1]?.keyStart, '$(run-below) Run downstream', 'cairn.runStepDownstream', ['URI', 'count']],
    ],
  );
});

test('untrusted: no run lens, one that explains', () => {
  const lenses = pipelineLenses('URI', outlinePipeline('/w/tiny.cairn.yaml', text), false, undefined, 0);
  assert.deepEqual(
    lenses.map((l) => l.command),
    ['cairn.explainRestrictedMode'],
  );
  assert.match(runBlockedReason(false) ?? '', /Restricted Mode/);
  assert.equal(runBlockedReason(true), undefined);
});

test('param overrides parse and re-runs skip secrets', () => {
  assert.deepEqual(parseParamOverrides('lr=0.01, epochs=3 name="a b" ids=[1, 2]'), {
    ok: true,
    params: { lr: '0.01', epochs: '3', name: 'a b', ids: '[1, 2]' },
  });
  assert.equal(parseParamOverrides('lr').ok, false);
  assert.equal(parseParamOverrides('a=1 a=2').ok, false);
  assert.deepEqual(overridesFromRun({ lr: 0.01, token: '***', opt: 'adam', layers: [8, 4] }), {
    lr: '0.01',
    opt: 'adam',
    layers: '[8,4]',
  });
});

test('run details in Markdown escape cells and hide secrets', () => {
  const md = runDetailMarkdown({
    id: 7,
    pipeline: 'p',
    pipelineFile: 'cairn.yaml',
    status: 'failed',
    startedAt: 0,
    endedAt: 1500,
    durationMs: 1500,
    gitCommit: null,
    gitDirty: null,
    backend: null,
    platform: 'linux',
    cairnVersion: '0.1.0',
    params: { note: 'a|b', key: '***' },
    metrics: { f1: 0.51234 },
    tags: {},
    error: 'step train failed',
    paramDetails: {
      note: { value: 'a|b', type: 'string', secret: false, overridden: true },
      key: { value: '***', type: 'string', secret: true, overridden: false },
    },
    steps: [
      {
        step: 'train',
        status: 'failed',
        cacheHit: false,
        cacheSource: 'none',
        cacheKey: null,
        startedAt: 0,
        endedAt: 1500,
        durationMs: 1500,
        error: 'exit 1',
        log: '.cairn/logs/7/train.log',
        outputs: [],
      },
    ],
    gates: null,
  });
  assert.match(md, /^# Run #7 — p — failed/);
  assert.match(md, /\| note \| a\\\|b \| string \| overridden \|/);
  assert.match(md, /\| key \| \\\*\\\*\\\* \| string \| default \|/);
  assert.match(md, /\| f1 \| 0\.5123 \|/);
  assert.match(md, /\| train \| failed: exit 1 \| 1\.5 s \| `\.cairn\/logs\/7\/train\.log` \|/);
});

test('lineage step labels give the step name', () => {
  assert.equal(stepNameOfLabel('train (run 12, cached)'), 'train');
  assert.equal(stepNameOfLabel('make data (run 3)'), 'make data');
  assert.equal(stepNameOfLabel('data/ratings.csv'), undefined);
});
