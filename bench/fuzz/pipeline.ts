/**
 * Fuzz benchmark: 10,000 seeded mutations of the valid pipeline fixtures through parse, check, resolve and the
 * editor features. Prints how many cases ran, threw (must be 0), had findings, the codes seen, and the slowest case.
 * Usage: node --import tsx bench/fuzz/pipeline.ts [count] [seed]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPipeline, parsePipeline, resolvePipeline } from '@cairn/protocol';
import { pipelineService } from '../../language-server/src/services/pipeline/index.js';
import { mutate, prng } from './mutate.js';

const count = Number(process.argv[2] ?? 10_000);
const seed = Number(process.argv[3] ?? 20261123);
const dir = join(__dirname, '../../test/fixtures/pipelines/valid');
const seeds = readdirSync(dir)
  .filter((f) => f.endsWith('.cairn.yaml'))
  .sort()
  .map((f) => readFileSync(join(dir, f), 'utf8'));
const host = { fileExists: () => true, readText: () => undefined, pipelinesNamingCard: () => [] };

const rand = prng(seed);
let threw = 0;
let withFindings = 0;
let over1s = 0;
const codes = new Map<string, number>();
let slowest = { ms: 0, index: -1, chars: 0 };
let previous = parsePipeline('/f/f.cairn.yaml', seeds[0] ?? '');
const started = performance.now();
for (let i = 0; i < count; i++) {
  const text = mutate(seeds[i % seeds.length] ?? '', rand);
  const offset = Math.floor(rand() * (text.length + 1));
  const t0 = performance.now();
  try {
    const doc = parsePipeline('/f/f.cairn.yaml', text, previous);
    const ds = checkPipeline(doc, host);
    pipelineService.completions(doc, offset, host);
    pipelineService.hover(doc, offset, host);
    pipelineService.references(doc, offset, host, true);
    resolvePipeline(doc, { root: '/f' });
    if (ds.length > 0) withFindings++;
    for (const d of ds) codes.set(d.code, (codes.get(d.code) ?? 0) + 1);
    previous = doc;
  } catch (error) {
    threw++;
    console.error(`case ${i} threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  const ms = performance.now() - t0;
  if (ms > 1000) over1s++;
  if (ms > slowest.ms) slowest = { ms, index: i, chars: text.length };
}
const total = performance.now() - started;
console.log(
  `cases ${count} (seed ${seed}), threw ${threw}, over 1 s ${over1s}, with findings ${withFindings}, total ${(total / 1000).toFixed(1)} s`,
);
console.log(`slowest: case ${slowest.index} (${slowest.chars} chars) ${slowest.ms.toFixed(1)} ms`);
console.log(
  `codes: ${[...codes.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`)
    .join(', ')}`,
);
process.exitCode = threw > 0 || over1s > 0 ? 1 : 0;
