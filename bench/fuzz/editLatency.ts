/**
 * Edit latency of the pipeline language on a generated 1,000-step pipeline: re-parse + check after a one-character
 * edit inside one step (the incremental path the language server takes), against a full parse + check of the same
 * text and `yaml`'s parseDocument alone, all measured in this run. Target: incremental p50 < 20 ms.
 * Usage: node --import tsx bench/fuzz/editLatency.ts [steps] [edits]
 */
import { parseDocument } from 'yaml';
import { checkPipeline, parsePipeline } from '@cairn/protocol';
import { generatePipeline } from '../lib/generatePipeline.js';
import { prng } from './mutate.js';

const steps = Number(process.argv[2] ?? 1000);
const edits = Number(process.argv[3] ?? 200);
const host = { fileExists: () => true };
const base = generatePipeline(steps);
const rand = prng(7);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

// Where one-character edits go: inside values and keys of steps (not the step-name line).
const stepStart = base.indexOf('\nsteps:\n');
const candidates: number[] = [];
for (let i = base.indexOf('\n    ', stepStart); i >= 0 && i < base.length; i = base.indexOf('\n    ', i + 1)) {
  // After the indentation: inside a key or value, never in the indentation itself.
  let j = i + 1;
  while (base[j] === ' ') j++;
  candidates.push(j + 1);
}

let doc = parsePipeline('g.cairn.yaml', base);
checkPipeline(doc, host);
let text = base;
const incremental: number[] = [];
let fallbacks = 0;
let at = 0;
for (let i = 0; i < edits; i++) {
  // A typo and its correction: insert a letter somewhere in a step, then delete it again.
  if (i % 2 === 0) at = candidates[Math.floor(rand() * candidates.length)] ?? 0;
  text = i % 2 === 0 ? text.slice(0, at) + 'x' + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
  const t0 = performance.now();
  const next = parsePipeline('g.cairn.yaml', text, doc);
  checkPipeline(next, host);
  incremental.push(performance.now() - t0);
  if (next.mode !== 'incremental') fallbacks++;
  doc = next;
}

const full: number[] = [];
const yamlOnly: number[] = [];
for (let i = 0; i < 15; i++) {
  let t0 = performance.now();
  checkPipeline(parsePipeline('g.cairn.yaml', base, undefined, { full: true }), host);
  full.push(performance.now() - t0);
  t0 = performance.now();
  parseDocument(base);
  yamlOnly.push(performance.now() - t0);
}

const p50 = pct(incremental, 50);
console.log(
  `pipeline: ${steps} steps, ${base.length} chars, ${base.split('\n').length} lines; ${edits} one-character edits (${fallbacks} fell back to a full parse)`,
);
console.log(
  `incremental parse+check: p50 ${p50.toFixed(2)} ms, p95 ${pct(incremental, 95).toFixed(2)} ms, max ${Math.max(...incremental).toFixed(2)} ms`,
);
console.log(`full parse+check:        p50 ${pct(full, 50).toFixed(2)} ms`);
console.log(`yaml.parseDocument only: p50 ${pct(yamlOnly, 50).toFixed(2)} ms`);
console.log(
  `ratio incremental/full ${(p50 / pct(full, 50)).toFixed(3)}, incremental/yaml ${(p50 / pct(yamlOnly, 50)).toFixed(3)}; target p50 < 20 ms: ${p50 < 20 ? 'met' : 'NOT met'}`,
);
