import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { builtinOutputPath, explanationsSchema } from '@cairn/protocol';
import { commands } from '../../../runtime/src/cli/commands/index.js';
import type { CliIo } from '../../../runtime/src/cli/command.js';

// Both samples end to end, as a user runs them (`cairn validate`, then `cairn run`), on a copy in a temp folder and
// with fewer epochs. The recommender's collect step needs Rscript with dslabs (scripts/setup.sh --with-data).

const repo = resolve(__dirname, '..', '..', '..');

async function cli(
  name: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const command = commands.find((c) => c.name === name);
  assert.ok(command, `cairn ${name} exists`);
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd, isTty: false };
  const code = await command.run(args, io);
  return { code, stdout, stderr };
}

function copySample(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), `cairn-sample-${name}-`)), name);
  cpSync(join(repo, 'samples', name), dir, {
    recursive: true,
    filter: (src) => !src.includes(`${name}/.cairn`) && !src.endsWith(`${name}/data/ratings.csv`),
  });
  return dir;
}

/** The credit sample explains its three models (docs/ml.md, "Explanations"). */
function checkCreditExplanations(dir: string): void {
  const read = (step: string) =>
    explanationsSchema.parse(JSON.parse(readFileSync(join(dir, builtinOutputPath(step, 'explanations.json')), 'utf8')));
  const methods = [
    ['evaluate', 'linear'],
    ['evaluate-gbdt', 'tree-shap'],
    ['evaluate-mlp', null],
  ] as const;
  for (const [step, method] of methods) {
    const e = read(step);
    assert.equal(e.importance.features.length, 13, `${step}: one importance per feature`);
    assert.equal(e.contributions?.method ?? null, method, `${step}: ${e.note ?? ''}`);
    for (const row of e.contributions?.rows ?? []) {
      const sum = (e.contributions?.base[0] ?? 0) + (row.values[0] ?? []).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - (row.margin[0] ?? NaN)) < 1e-9, `${step} row ${row.row}`);
    }
  }
}

interface Outcome {
  status: string;
  error?: string;
  steps: Record<string, { status: string }>;
}

for (const [sample, params, steps] of [
  [
    'credit',
    ['-p', 'epochs=3'],
    ['validate', 'split', 'train', 'mlp', 'evaluate', 'evaluate-mlp', 'gbdt', 'evaluate-gbdt', 'drift', 'register'],
  ],
  [
    'recommender',
    ['-p', 'epochs=2', '-p', 'factors=8'],
    ['collect', 'validate', 'split', 'features', 'train', 'baseline', 'content', 'hybrid', 'evaluate', 'register'],
  ],
] as const) {
  test(`sample ${sample}: validates cleanly and runs end to end`, async () => {
    const dir = copySample(sample);
    const checked = await cli('validate', [dir, '--format', 'json'], dir);
    const diagnostics = (JSON.parse(checked.stdout) as { diagnostics: Array<{ severity: string; message: string }> })
      .diagnostics;
    assert.deepEqual(
      diagnostics.filter((d) => d.severity === 'error' || d.severity === 'warning'),
      [],
      'no errors or warnings',
    );
    const ran = await cli('run', [join(dir, 'cairn.yaml'), ...params, '--workspace', dir, '--format', 'json'], dir);
    const outcome = JSON.parse(ran.stdout) as Outcome;
    assert.equal(outcome.status, 'succeeded', `${outcome.error ?? ''}\n${ran.stderr}`);
    assert.equal(ran.code, 0);
    for (const s of steps) assert.equal(outcome.steps[s]?.status, 'succeeded', `step ${s}`);
    if (sample === 'credit') checkCreditExplanations(dir);
  });
}
