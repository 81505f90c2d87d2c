import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { validateOutputSchema } from '@cairn/protocol';
import { buildCli, runCli } from './cli.js';
import { tempWorkspace } from './helpers.js';

/** The CLI contract: `--format json` on stdout only, exit codes 0 / 1 / 2, clear messages. */
describe('cairn run / runs / lineage / gc', () => {
  let cli: string;
  let ws: ReturnType<typeof tempWorkspace>;
  before(async () => {
    cli = await buildCli();
    ws = tempWorkspace('cairn-cli-');
    writeFileSync(path.join(ws.dir, 'data.csv'), 'x\n1\n2\n');
    writeFileSync(
      path.join(ws.dir, 'cairn.yaml'),
      `version: 1
name: cli
params:
  factor: 2
  threshold: 0.5
steps:
  scale:
    run: awk 'NR > 1 { print $1 * \${params.factor} }' data.csv > scaled.txt
    deps: [data.csv]
    outputs: { scaled: scaled.txt }
  score:
    run: |
      awk '{ s += $1 } END { print "::cairn-metric score=" s }' \${steps.scale.outputs.scaled}; sort -rn \${steps.scale.outputs.scaled} > final.txt
    outputs: { final: final.txt }
    gate:
      score: { max: 10 }
`,
    );
  });
  after(() => ws.cleanup());

  test('run: JSON outcome, cache hits on the second run, params typed and recorded', async () => {
    const first = await runCli(cli, ['run', 'cairn.yaml', '--format', 'json'], ws.dir);
    assert.equal(first.code, 0, first.stderr);
    const outcome = JSON.parse(first.stdout) as {
      runId: number;
      status: string;
      steps: Record<string, { cacheHit: boolean }>;
    };
    assert.equal(outcome.status, 'succeeded');
    const second = JSON.parse(
      (await runCli(cli, ['run', 'cairn.yaml', '--format', 'json'], ws.dir)).stdout,
    ) as typeof outcome;
    assert.deepEqual(
      Object.values(second.steps).map((s) => s.cacheHit),
      [true, true],
    );
    const third = await runCli(cli, ['run', 'cairn.yaml', '-p', 'factor=3'], ws.dir);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /✓ scale\s+succeeded/);
    assert.match(third.stdout, /run 3: succeeded \(2 steps, 0 from cache\)/);
    const shown = JSON.parse((await runCli(cli, ['runs', 'show', '3', '--format', 'json'], ws.dir)).stdout) as {
      paramDetails: Record<string, { value: unknown; overridden: boolean }>;
      metrics: Record<string, number>;
      gates: unknown;
    };
    assert.deepEqual(shown.paramDetails.factor, { value: 3, type: 'int', secret: false, overridden: true });
    assert.equal(shown.metrics.score, 9);
    assert.deepEqual(
      shown.gates,
      { score: { score: { max: 10 } } },
      'step score, metric score: the gate of the pipeline file, stored with the run',
    );
  });

  test('a gate outside its bounds fails the step and the run (exit 1), and is not cached', async () => {
    const r = await runCli(cli, ['run', 'cairn.yaml', '-p', 'factor=5', '--format', 'json'], ws.dir);
    assert.equal(r.code, 1);
    const outcome = JSON.parse(r.stdout) as {
      status: string;
      steps: Record<string, { status: string; error: string | null }>;
    };
    assert.equal(outcome.steps.score?.status, 'failed');
    assert.match(outcome.steps.score?.error ?? '', /gate failed: score = 15 is above the maximum 10/);
    const again = JSON.parse(
      (await runCli(cli, ['run', 'cairn.yaml', '-p', 'factor=5', '--format', 'json'], ws.dir)).stdout,
    ) as typeof outcome;
    assert.equal(again.steps.score?.status, 'failed');
  });

  test('an invalid pipeline prints the validate diagnostics and runs nothing (exit 1); bad usage exits 2', async () => {
    writeFileSync(path.join(ws.dir, 'bad.cairn.yaml'), 'version: 1\nsteps:\n  a:\n    run: echo ${params.nope}\n');
    const r = await runCli(cli, ['run', 'bad.cairn.yaml', '--format', 'json'], ws.dir);
    assert.equal(r.code, 1);
    const out = validateOutputSchema.parse(JSON.parse(r.stdout));
    assert.ok(
      out.diagnostics.some((d) => d.severity === 'error' && d.range.start.line === 3 && d.file === 'bad.cairn.yaml'),
    );
    const text = await runCli(cli, ['run', 'bad.cairn.yaml'], ws.dir);
    assert.match(text.stderr, /^bad\.cairn\.yaml:4:\d+: error /m);
    assert.equal((await runCli(cli, ['run', 'cairn.yaml', '-p', 'factor'], ws.dir)).code, 2);
    assert.equal((await runCli(cli, ['run', 'cairn.yaml', '--step', 'nope'], ws.dir)).code, 2);
    assert.equal((await runCli(cli, ['run', 'missing.cairn.yaml'], ws.dir)).code, 2);
    const typed = await runCli(cli, ['run', 'cairn.yaml', '-p', 'factor=two', '--format', 'json'], ws.dir);
    assert.equal(typed.code, 1);
    assert.match(typed.stdout, /'factor' is a int/);
    assert.equal((await runCli(cli, ['runs', 'show', 'abc'], ws.dir)).code, 2);
    assert.equal((await runCli(cli, ['runs', 'show', '999'], ws.dir)).code, 1);
  });

  test('runs list filters and sorts; compare shows only differing params', async () => {
    const list = JSON.parse(
      (
        await runCli(
          cli,
          ['runs', 'list', '--format', 'json', '--status', 'succeeded', '--sort', 'param:factor', '--asc'],
          ws.dir,
        )
      ).stdout,
    ) as {
      runs: Array<{ id: number; params: Record<string, unknown> }>;
      total: number;
    };
    assert.deepEqual(
      list.runs.map((r) => r.params.factor),
      [2, 2, 3],
    );
    const filtered = JSON.parse(
      (await runCli(cli, ['runs', 'list', '--format', 'json', '--param', 'factor>=3', '--metric', 'score<10'], ws.dir))
        .stdout,
    ) as typeof list;
    assert.deepEqual(
      filtered.runs.map((r) => r.id),
      [3],
    );
    const cmp = JSON.parse((await runCli(cli, ['runs', 'compare', '1', '3', '--format', 'json'], ws.dir)).stdout) as {
      params: Record<string, unknown[]>;
    };
    assert.deepEqual(cmp.params, { factor: [2, 3] });
    const table = await runCli(cli, ['runs', 'list'], ws.dir);
    assert.match(table.stdout, /^ID\s+PIPELINE\s+STATUS/);
  });

  test('lineage of a run and of a path; a changed input marks its dependents stale', async () => {
    // Bring the workspace back to the factor=3 outputs (restored from cache), then look at that run.
    const latest = JSON.parse(
      (await runCli(cli, ['run', 'cairn.yaml', '-p', 'factor=3', '--format', 'json'], ws.dir)).stdout,
    ) as { runId: number };
    const graph = JSON.parse((await runCli(cli, ['lineage', String(latest.runId)], ws.dir)).stdout) as {
      nodes: Array<{ id: string; kind: string; path?: string; stale: boolean }>;
      edges: Array<{ from: string; to: string }>;
    };
    const data = graph.nodes.find((n) => n.path === 'data.csv');
    assert.equal(data?.kind, 'data');
    assert.deepEqual(
      graph.nodes.filter((n) => n.stale),
      [],
    );
    writeFileSync(path.join(ws.dir, 'data.csv'), 'x\n1\n2\n3\n');
    const after = JSON.parse((await runCli(cli, ['lineage', 'final.txt'], ws.dir)).stdout) as typeof graph;
    const staleSteps = after.nodes.filter((n) => n.kind === 'step' && n.stale);
    assert.ok(staleSteps.length >= 1, JSON.stringify(after.nodes));
    assert.ok(after.nodes.some((n) => n.path === 'final.txt' && n.stale));
    const unknown = await runCli(cli, ['lineage', 'nothing-here.txt'], ws.dir);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no run recorded 'nothing-here.txt'/);
  });

  test('gc keeps what runs refer to', async () => {
    const r = await runCli(cli, ['gc', '--format', 'json'], ws.dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { dryRun: false, removed: 0, bytes: 0, tempFiles: 0 });
    const rerun = JSON.parse(
      (await runCli(cli, ['run', 'cairn.yaml', '-p', 'factor=3', '--format', 'json', '--step', 'score'], ws.dir))
        .stdout,
    ) as { steps: Record<string, { cacheHit: boolean }> };
    assert.equal(rerun.steps.score?.cacheHit, true);
  });
});
