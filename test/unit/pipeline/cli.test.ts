import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pipelineJsonSchema, validateOutputSchema } from '@cairn/protocol';
import { main } from '../../../runtime/src/cli/main.js';

const repo = join(__dirname, '../../..');
const fixtures = join(repo, 'test/fixtures/pipelines');

async function cairn(args: string[], cwd = repo): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd, isTty: false });
  return { code, stdout, stderr };
}

const tmp = mkdtempSync(join(tmpdir(), 'cairn-validate-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('validate: valid fixtures pass with exit 0 and a summary line', async () => {
  const r = await cairn(['validate', 'test/fixtures/pipelines/valid']);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /^\d+ files checked: no problems\.\n$/);
});

test('validate: a broken pipeline prints path:line:col severity code message and exits 1', async () => {
  const r = await cairn(['validate', 'test/fixtures/pipelines/broken/unknown-step-key.cairn.yaml']);
  assert.equal(r.code, 1);
  const lines = r.stdout.trim().split('\n');
  assert.equal(
    lines[0],
    "test/fixtures/pipelines/broken/unknown-step-key.cairn.yaml:9:5 error unknown-key Unknown key 'depz' in 'prep': did you mean 'deps'?",
  );
  assert.equal(lines[1], '1 file checked: 1 error, 0 warnings, 0 other.');
});

test('validate --format json follows the CLI contract (0-based ranges) and holds every broken fixture', async () => {
  const r = await cairn(['validate', '--format', 'json', join(fixtures, 'broken')]);
  assert.equal(r.code, 1);
  const out = validateOutputSchema.parse(JSON.parse(r.stdout));
  const unknownKey = out.diagnostics.find((d) => d.file.endsWith('unknown-step-key.cairn.yaml'));
  assert.deepEqual(unknownKey?.range, { start: { line: 8, character: 4 }, end: { line: 8, character: 8 } });
  const files = new Set(out.diagnostics.map((d) => d.file));
  assert.ok(files.size >= 40, `${files.size} files with findings`);
});

test('validate: a deploy.ab.split that cannot be served (shares, aliases) exits 1 naming file:line:col', async () => {
  const sum = await cairn(['validate', 'test/fixtures/pipelines/broken/ab-split-sum.cairn.yaml']);
  assert.equal(sum.code, 1);
  assert.equal(
    sum.stdout.split('\n')[0],
    'test/fixtures/pipelines/broken/ab-split-sum.cairn.yaml:10:12 error ab-split deploy.ab.split shares add up to 1.1, not 1: they are shares of all traffic; write challenger: 0.1 (with champion: 0.9)',
  );
  writeFileSync(
    join(tmp, 'aliases.cairn.yaml'),
    'version: 1\nsteps:\n  a:\n    run: echo hi\n    outputs: { m: model.onnx }\ndeploy:\n  model: ${steps.a.outputs.m}\n  ab:\n    split: { production: 0.5, staging: 0.5 }\n',
  );
  const aliases = await cairn(['validate', 'aliases.cairn.yaml'], tmp);
  assert.equal(aliases.code, 1);
  assert.match(
    aliases.stdout,
    /^aliases\.cairn\.yaml:9:12 error ab-split deploy\.ab\.split names production, staging: .*one of them champion or challenger/,
  );
});

test('validate: warnings alone exit 0', async () => {
  const r = await cairn(['validate', join(fixtures, 'broken/unused-param.cairn.yaml')]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /warning unused-param/);
});

test('validate walks folders, skips node_modules/.git/.cairn, and checks the model card a pipeline names', async () => {
  const dir = join(tmp, 'project');
  for (const d of ['node_modules/x', '.git', '.cairn/work', 'sub', 'docs'])
    mkdirSync(join(dir, d), { recursive: true });
  const bad = 'version: 1\nsteps:\n  a:\n    runn: echo\n';
  for (const d of ['node_modules/x', '.git', '.cairn/work']) writeFileSync(join(dir, d, 'cairn.yaml'), bad);
  writeFileSync(
    join(dir, 'sub/train.cairn.yaml'),
    'version: 1\nsteps:\n  a:\n    run: echo hi\n    outputs: { m: model.onnx }\ndeploy:\n  model: ${steps.a.outputs.m}\n  card: docs/card.md\n',
  );
  writeFileSync(join(dir, 'sub/docs.md'), '# not a card\n');
  mkdirSync(join(dir, 'sub/docs'), { recursive: true });
  writeFileSync(join(dir, 'sub/docs/card.md'), '# A card with nothing in it\n');
  const r = await cairn(['validate', '--format', 'json', 'project'], tmp);
  const out = validateOutputSchema.parse(JSON.parse(r.stdout));
  const files = [...new Set(out.diagnostics.map((d) => d.file))].sort();
  // The named card is checked (it lacks every section); the pipelines under skipped folders are not.
  assert.deepEqual(files, ['project/sub/docs/card.md']);
  assert.ok(out.diagnostics.some((d) => d.code === 'card/missing-section'));
  // Missing card sections are warnings: nothing here is an error.
  assert.equal(r.code, 0);
});

test('validate: usage errors exit 2 with a clear message', async () => {
  const none = await cairn(['validate']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /name at least one file or folder/);
  const missing = await cairn(['validate', 'no/such/place.cairn.yaml']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no\/such\/place\.cairn\.yaml: no such file or folder/);
  const format = await cairn(['validate', '--format', 'xml', '.']);
  assert.equal(format.code, 2);
  const other = join(tmp, 'notes.txt');
  writeFileSync(other, 'hello');
  const wrongKind = await cairn(['validate', other]);
  assert.equal(wrongKind.code, 2);
  assert.match(wrongKind.stderr, /not a pipeline/);
});

test('schema prints the JSON Schema, and schemas/cairn-pipeline.schema.json is not stale', async () => {
  const r = await cairn(['schema']);
  assert.equal(r.code, 0);
  const printed: unknown = JSON.parse(r.stdout);
  assert.deepEqual(printed, pipelineJsonSchema());
  const committed = readFileSync(join(repo, 'schemas/cairn-pipeline.schema.json'), 'utf8');
  assert.equal(
    committed,
    r.stdout,
    'schemas/cairn-pipeline.schema.json is stale: run `npm run schema` (or `cairn schema > schemas/cairn-pipeline.schema.json`)',
  );
});
