import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { main } from '../../../runtime/src/cli/main.js';
import { loadPipeline } from '../../../runtime/src/executor/loadPipeline.js';
import { stepAnnotation } from '../../../runtime/src/export/argo.js';

const repo = path.resolve(__dirname, '..', '..', '..');

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { cwd, isTty: false, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

interface Task {
  name: string;
  template: string;
  dependencies?: string[];
}
interface Template {
  name: string;
  metadata?: { annotations?: Record<string, string> };
  dag?: { tasks: Task[] };
  container?: { args: string[]; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } };
}
interface Exported {
  kind: string;
  spec: { arguments?: { parameters: { name: string; value?: string }[] }; templates: Template[] };
}

/** The published Argo models are ES modules only (this test is loaded as CommonJS). */
type ModelClass = new (data: unknown) => { validate(): void };
let models: { Workflow: ModelClass; WorkflowTemplate: ModelClass };

/** Throws, naming the offending field, where Argo's schema rejects the object. */
function validate(obj: { kind: string }): void {
  if (obj.kind === 'WorkflowTemplate') new models.WorkflowTemplate(obj).validate();
  else new models.Workflow(obj).validate();
}

const flags = ['--target', 'argo', '--image', 'ghcr.io/example/cairn:1', '--pvc', 'cairn-ws'];

describe('cairn export --target argo', () => {
  before(async () => {
    const loaded: unknown = await import('@kubernetes-models/argo-workflows/argoproj.io/v1alpha1');
    models = loaded as typeof models;
  });
  const samples = readdirSync(path.join(repo, 'samples')).filter((d) =>
    existsSync(path.join(repo, 'samples', d, 'cairn.yaml')),
  );
  test('there are samples to round-trip', () => assert.ok(samples.length >= 2, samples.join(', ')));

  for (const sample of samples) {
    for (const template of [false, true]) {
      test(`${sample}: ${template ? 'WorkflowTemplate' : 'Workflow'} validates, DAG = pipeline`, async () => {
        const dir = path.join(repo, 'samples', sample);
        const r = await cli(['export', 'cairn.yaml', ...flags, ...(template ? ['--template'] : [])], dir);
        assert.equal(r.code, 0, r.stderr);
        const obj = parse(r.stdout) as Exported;
        assert.equal(obj.kind, template ? 'WorkflowTemplate' : 'Workflow');
        validate(obj);

        const loaded = loadPipeline('cairn.yaml', { cwd: dir, workspace: dir });
        assert.ok(loaded.ok);
        const p = loaded.pipeline;
        const byName = new Map(obj.spec.templates.map((t) => [t.name, t]));
        const stepOf = (task: string) => byName.get(task)?.metadata?.annotations?.[stepAnnotation] ?? `?${task}`;
        const dag = byName.get('pipeline')?.dag;
        assert.ok(dag);
        const edges = (pairs: [string, string][]) => pairs.map(([a, b]) => `${a}->${b}`).sort();
        assert.deepEqual(dag.tasks.map((t) => stepOf(t.template)).sort(), p.steps.map((s) => s.name).sort());
        assert.deepEqual(
          edges(
            dag.tasks.flatMap((t) =>
              (t.dependencies ?? []).map((d): [string, string] => [stepOf(d), stepOf(t.template)]),
            ),
          ),
          edges(p.steps.flatMap((s) => s.needs.map((n): [string, string] => [n, s.name]))),
        );
        const params = Object.fromEntries((obj.spec.arguments?.parameters ?? []).map((x) => [x.name, x.value]));
        const expected = Object.fromEntries(
          Object.entries(p.params)
            .filter(([, v]) => !v.secret)
            .map(([k, v]) => [k, typeof v.value === 'string' ? v.value : JSON.stringify(v.value)]),
        );
        assert.deepEqual(params, expected);
        for (const s of p.steps) {
          const args = obj.spec.templates.find((t) => stepOf(t.name) === s.name)?.container?.args ?? [];
          assert.deepEqual(args.slice(0, 4), ['run', 'cairn.yaml', '--step', s.name]);
          for (const name of s.params)
            assert.ok(args.includes(`${name}={{workflow.parameters.${name}}}`), `${s.name}: ${name}`);
        }
      });
    }
  }

  const ws = (yaml: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cairn-argo-'));
    writeFileSync(path.join(dir, 'cairn.yaml'), yaml);
    return dir;
  };

  test('resources → requests/limits, gpu required → nvidia.com/gpu, secrets from a Kubernetes secret', async () => {
    const dir = ws(`version: 1
name: Res_Test
params:
  token: { type: string, secret: true, default: abc }
  n: 3
steps:
  prep_data:
    run: echo \${params.n} > a.txt
    outputs: { a: a.txt }
    resources: { cpu: 2, memory: 512MB, gpu: optional }
  train:
    run: cat \${steps.prep_data.outputs.a} > b.txt; echo \${params.token} > /dev/null
    outputs: { b: b.txt }
    resources: { memory: 4Gi, gpu: required }
`);
    try {
      const out = path.join(dir, 'wf.yaml');
      const r = await cli(
        ['export', 'cairn.yaml', ...flags, '--remote', 's3://bucket/cairn', '-o', 'wf.yaml', '--format', 'json'],
        dir,
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { ok: true, kind: 'Workflow', file: 'wf.yaml' });
      const text = readFileSync(out, 'utf8');
      assert.ok(!text.includes('abc'), 'the secret value is not in the output');
      const obj = parse(text) as Exported & { metadata: { generateName: string } };
      validate(obj);
      assert.equal(obj.metadata.generateName, 'res-test-');
      const t = (name: string) => obj.spec.templates.find((x) => x.name === name)?.container;
      assert.deepEqual(t('prep-data')?.resources, {
        requests: { cpu: '2', memory: '512M' },
        limits: { cpu: '2', memory: '512M' },
      });
      assert.deepEqual(t('train')?.resources, {
        requests: { memory: '4Gi' },
        limits: { memory: '4Gi', 'nvidia.com/gpu': '1' },
      });
      assert.deepEqual(obj.spec.arguments?.parameters, [{ name: 'n', value: '3' }]);
      const train = t('train') as unknown as { args: string[]; env: unknown[] };
      assert.ok(train.args.includes('token=$(CAIRN_SECRET_TOKEN)'));
      assert.deepEqual(train.env, [
        { name: 'CAIRN_SECRET_TOKEN', valueFrom: { secretKeyRef: { name: 'cairn-secrets', key: 'token' } } },
        { name: 'CAIRN_REMOTE', value: 's3://bucket/cairn' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a file outside the workspace: error naming the step and line (allow_outside: its line); no file', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'cairn-argo-outside-'));
    writeFileSync(path.join(outside, 'ref.csv'), 'x\n1\n');
    const dir = ws(`version: 1
name: outside
allow_outside: [${outside}]
steps:
  reads_ref:
    run: cat ${outside}/ref.csv > b.txt
    deps: [${outside}/ref.csv]
    outputs: { b: b.txt }
`);
    const bare = ws(`version: 1
name: bare
allow_outside: [${outside}]
steps:
  hello: { run: echo hi > a.txt, outputs: { a: a.txt } }
`);
    try {
      const b = await cli(['export', 'cairn.yaml', ...flags], bare);
      assert.equal(b.code, 1);
      assert.match(b.stderr, /cairn\.yaml:3: allow_outside: names folders outside the workspace/);
      const r = await cli(['export', 'cairn.yaml', ...flags, '-o', 'wf.yaml'], dir);
      assert.equal(r.code, 1, r.stdout);
      assert.ok(
        r.stderr.includes(`cairn.yaml:5: step 'reads_ref' uses ${outside}/ref.csv, a path outside the workspace`),
        r.stderr,
      );
      assert.ok(!existsSync(path.join(dir, 'wf.yaml')));
      const j = await cli(['export', 'cairn.yaml', ...flags, '--format', 'json'], dir);
      assert.equal(j.code, 1);
      assert.equal((JSON.parse(j.stdout) as { ok: boolean }).ok, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
      rmSync(bare, { recursive: true, force: true });
    }
  });

  test('usage errors exit 2', async () => {
    const r = await cli(['export', 'cairn.yaml', '--target', 'airflow'], repo);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the only target is argo/);
  });
});
