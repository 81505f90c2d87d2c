import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkPipeline, parsePipeline, PipelineCode, resolvePipeline } from '@cairn/protocol';
import { mutate, prng } from '../../../bench/fuzz/mutate.js';
import { pipelineService } from '../../../language-server/src/services/pipeline/index.js';

const dir = join(__dirname, '../../fixtures/pipelines/valid');
const seeds = readdirSync(dir)
  .filter((f) => f.endsWith('.cairn.yaml'))
  .sort()
  .map((f) => readFileSync(join(dir, f), 'utf8'));
const codes = new Set<string>(Object.values(PipelineCode));
const host = { fileExists: () => true, readText: () => undefined, pipelinesNamingCard: () => [] };

// A hang, not a speed target: the 1 s bound is checked by bench/fuzz/pipeline.ts over 10,000 cases on a quiet machine.
const HANG_MS = 5000;

test('fuzz: 300 seeded mutations of the valid fixtures never throw and never hang', () => {
  const rand = prng(20261123);
  let withFindings = 0;
  let previous = parsePipeline('f.cairn.yaml', seeds[0] ?? '');
  for (let i = 0; i < 300; i++) {
    const text = mutate(seeds[i % seeds.length] ?? '', rand);
    const t0 = performance.now();
    // Incremental from an unrelated previous parse, as an editor switching content would do.
    const doc = parsePipeline('/p/f.cairn.yaml', text, previous);
    const diagnostics = checkPipeline(doc, host);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < HANG_MS, `case ${i} took ${elapsed.toFixed(0)} ms`);
    for (const d of diagnostics) {
      assert.ok(codes.has(d.code), `case ${i}: unknown code ${d.code}`);
      assert.ok(
        d.span.start >= 0 && d.span.start <= d.span.end && d.span.end <= text.length,
        `case ${i}: bad span for ${d.code}`,
      );
      assert.ok(d.message.length > 0);
    }
    if (diagnostics.length > 0) withFindings++;
    // The editor features must not throw on broken text either.
    const offset = Math.floor(rand() * (text.length + 1));
    pipelineService.completions(doc, offset, host);
    pipelineService.hover(doc, offset, host);
    pipelineService.definition(doc, offset, host);
    pipelineService.references(doc, offset, host, true);
    pipelineService.prepareRename(doc, offset);
    pipelineService.symbols(doc);
    resolvePipeline(doc, { root: '/p' });
    previous = doc;
  }
  assert.ok(withFindings > 150, `mutations should mostly break something (${withFindings})`);
});
