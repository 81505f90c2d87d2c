import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { Severity, checkModelCard, isModelCardFile, parseModelCard, type ModelCardHost } from '@cairn/protocol';
import { describe, hostWith } from './helpers.js';

const root = path.resolve(__dirname, '../../fixtures/cards');

interface Expectation {
  expect: string[];
  host?: { personalPipelines?: string[]; tracked?: Record<string, Record<string, number>> };
}

function fixtureHost(dir: string, spec: Expectation['host'] = {}): ModelCardHost {
  const personal = new Set((spec.personalPipelines ?? []).map((p) => path.join(dir, p)));
  return hostWith([path.join(dir, 'cairn.yaml')], {
    pipelineHasPersonalData: (p) => personal.has(p),
    trackedMetrics: (m) => spec.tracked?.[m],
  });
}

const brokenDir = path.join(root, 'broken');
const expected = JSON.parse(readFileSync(path.join(brokenDir, 'expected.json'), 'utf8')) as Record<
  string,
  Expectation | string
>;
const brokenFiles = readdirSync(brokenDir)
  .filter((f) => f.endsWith('.md'))
  .sort();

test('the broken-card corpus has at least 20 cards, each with an expectation', () => {
  assert.ok(brokenFiles.length >= 20, `only ${brokenFiles.length} broken cards`);
  for (const f of brokenFiles) assert.ok(typeof expected[f] === 'object', `${f} has no entry in expected.json`);
  for (const f of Object.keys(expected))
    if (f !== '//') assert.ok(brokenFiles.includes(f), `expected.json names missing file ${f}`);
});

for (const f of brokenFiles) {
  test(`broken card ${f} gives exactly its expected diagnostics`, () => {
    const spec = expected[f];
    assert.ok(typeof spec === 'object');
    const file = path.join(brokenDir, f);
    const text = readFileSync(file, 'utf8');
    assert.ok(isModelCardFile(file));
    const diags = checkModelCard(parseModelCard(file, text), fixtureHost(brokenDir, spec.host));
    assert.deepEqual(diags.map((d) => describe(text, d)).sort(), [...spec.expect].sort());
    for (const d of diags) assert.ok(d.message.length > 20, `${d.code} has a message that says what to do`);
  });
}

const validDir = path.join(root, 'valid');
const validFiles = readdirSync(validDir)
  .filter((f) => f.endsWith('.md'))
  .sort();

test('at least 5 real-world-shaped Hugging Face cards', () => {
  assert.ok(validFiles.length >= 5);
});

for (const f of validFiles) {
  test(`valid Hugging Face card ${f} produces no errors`, () => {
    const file = path.join(validDir, f);
    const text = readFileSync(file, 'utf8');
    const diags = checkModelCard(parseModelCard(file, text), fixtureHost(validDir));
    const errors = diags.filter((d) => d.severity === Severity.Error).map((d) => `${describe(text, d)} ${d.message}`);
    assert.deepEqual(errors, []);
    // Only section-level warnings: the metadata of a valid card is clean.
    const other = diags.filter(
      (d) => !['card/missing-section', 'card/placeholder-section', 'card/empty-section'].includes(d.code),
    );
    assert.deepEqual(
      other.map((d) => describe(text, d)),
      [],
    );
  });
}

test('the trainer-generated card is flagged for its placeholder sections, as warnings', () => {
  const text = readFileSync(path.join(validDir, 'trainer-generated.modelcard.md'), 'utf8');
  const diags = checkModelCard(parseModelCard('/v/trainer.modelcard.md', text), hostWith());
  assert.deepEqual(
    diags.filter((d) => d.code === 'card/placeholder-section').map((d) => describe(text, d)),
    [
      'card/placeholder-section 39:3-39:20',
      'card/placeholder-section 43:3-43:30',
      'card/placeholder-section 47:3-47:31',
    ],
  );
  assert.ok(diags.every((d) => d.severity === Severity.Warning));
});

test('HF headings count as their Mitchell equivalents (bert-base-uncased, distilbert SST-2)', () => {
  const bert = parseModelCard(
    '/v/b.modelcard.md',
    readFileSync(path.join(validDir, 'bert-base-uncased.modelcard.md'), 'utf8'),
  );
  const sections = new Set(bert.headings.flatMap((h) => h.sections));
  for (const s of [
    'modelDetails',
    'intendedUse',
    'trainingData',
    'caveatsAndRecommendations',
    'ethicalConsiderations',
    'quantitativeAnalyses',
  ] as const) {
    assert.ok(sections.has(s), `bert card lacks ${s}`);
  }
  const distil = parseModelCard(
    '/v/d.modelcard.md',
    readFileSync(path.join(validDir, 'distilbert-sst2.modelcard.md'), 'utf8'),
  );
  assert.deepEqual(
    distil.metadata.modelIndex[0]?.results.map((r) => r.metrics.map((m) => m.type?.value)),
    [['accuracy', 'precision', 'f1'], ['loss']],
  );
});

test('a complete Mitchell card with its Cairn links produces zero diagnostics', () => {
  const dir = path.join(root, 'complete');
  const file = path.join(dir, 'MODEL_CARD.md');
  const text = readFileSync(file, 'utf8');
  const host = hostWith([path.join(dir, 'cairn.yaml')], {
    pipelineHasPersonalData: () => true,
    trackedMetrics: (m) => (m === 'churn' ? { accuracy: 0.8412, f1: 0.7 } : undefined),
    pipelinesNamingCard: () => [path.join(dir, 'cairn.yaml')],
  });
  const card = parseModelCard(file, text);
  assert.deepEqual(
    checkModelCard(card, host).map((d) => `${describe(text, d)} ${d.message}`),
    [],
  );
  assert.equal(card.metadata.cairn?.model?.value, 'churn');
  assert.equal(card.metadata.cairn?.personalData?.value, true);
});

test('every broken card gives the same findings with CRLF line breaks and a BOM', () => {
  for (const f of brokenFiles) {
    const spec = expected[f];
    if (typeof spec !== 'object' || f.startsWith('front-matter-not-at-start')) continue;
    const lf = readFileSync(path.join(brokenDir, f), 'utf8');
    const crlf = `\uFEFF${lf.replace(/\n/g, '\r\n')}`;
    const diags = checkModelCard(parseModelCard(path.join(brokenDir, f), crlf), fixtureHost(brokenDir, spec.host));
    // Same codes on the same lines (characters shift only by the BOM on line 0).
    assert.deepEqual(
      diags
        .map((d) =>
          describe(crlf, d).replace(/([ -])0:(\d+)/g, (_m, sep: string, c: string) => `${sep}0:${Number(c) - 1}`),
        )
        .sort(),
      [...spec.expect].sort(),
      f,
    );
    for (const fix of diags.flatMap((d) => d.fixes ?? []))
      assert.ok(!/[^\r]\n/.test(fix.newText), `${f}: fix inserts a bare LF`);
  }
});
