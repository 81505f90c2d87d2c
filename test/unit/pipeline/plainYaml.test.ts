import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mutate, prng } from '../../../bench/fuzz/mutate.js';
import { generatePipeline } from '../../../bench/lib/generatePipeline.js';
import { splitBlocks } from '../../../protocol/src/pipeline/incremental.js';
import { parsePlainYaml, plainValue } from '../../../protocol/src/pipeline/plainYaml.js';
import { parseYaml, parseYamlWithPackage } from '../../../protocol/src/pipeline/yamlTree.js';

/**
 * The plain-YAML fast path (plainYaml.ts) must give exactly the tree and findings of the `yaml` package's parse
 * wherever it accepts a text, and accept the pipelines it exists for.
 */

const repo = join(__dirname, '../../..');

function pipelineFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) continue;
    if (statSync(full).isDirectory()) pipelineFiles(full, out);
    else if (/\.ya?ml$/.test(name)) out.push(full);
  }
  return out;
}

const files = [...pipelineFiles(join(repo, 'samples')), ...pipelineFiles(join(repo, 'test/fixtures'))].sort();
const texts = files.map((f) => readFileSync(f, 'utf8'));

/** Compares the fast path with yaml on `text` (and, when it splits, on each block as the incremental parse does). */
function compare(text: string, label: string): { accepted: number; tried: number } {
  let accepted = 0;
  let tried = 0;
  const one = (t: string, base: number, depth: number, what: string) => {
    tried++;
    const plain = parsePlainYaml(t, base, depth);
    if (!plain) return;
    accepted++;
    const reference = parseYamlWithPackage(t, base, depth);
    assert.deepEqual(
      { root: plain.root, diagnostics: plain.diagnostics, hasAnchors: false, documents: 1 },
      reference,
      `${label} ${what}: the fast path differs from yaml on ${JSON.stringify(t.slice(0, 300))}`,
    );
    // parseYaml takes the fast path here.
    assert.deepEqual(parseYaml(t, base, depth), reference);
  };
  one(text, 0, 0, 'whole');
  for (const b of splitBlocks(text) ?? []) one(text.slice(b.start, b.end), b.start, b.kind === 'step' ? 1 : 0, 'block');
  return { accepted, tried };
}

test('plain YAML: the generated benchmark pipeline is read by the fast path, exactly as yaml reads it', () => {
  const text = generatePipeline(200);
  const r = compare(text, 'generated');
  assert.equal(r.accepted, r.tried, 'every block of the generated pipeline is plain');
});

test('plain YAML: every sample and fixture pipeline (whole and block by block) equals yaml where accepted', () => {
  let accepted = 0;
  let tried = 0;
  for (let i = 0; i < texts.length; i++) {
    const r = compare(texts[i] ?? '', files[i] ?? '');
    accepted += r.accepted;
    tried += r.tried;
  }
  // Most blocks of real pipelines take the fast path (the rest use comments inside steps, block lists...).
  assert.ok(accepted > tried / 3, `only ${accepted} of ${tried} texts took the fast path`);
});

test('plain YAML: 3,000 seeded mutations equal yaml wherever the fast path accepts them', () => {
  const rand = prng(20261207);
  const seeds = [generatePipeline(15), ...texts.filter((t) => t.includes('steps:'))];
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const text = mutate(seeds[i % seeds.length] ?? '', rand);
    accepted += compare(text, `mutation ${i}`).accepted;
  }
  assert.ok(accepted > 3000, `only ${accepted} mutated texts or blocks took the fast path`);
});

test('plain YAML: edge cases of ranges, comments, quoting, duplicates and scalars equal yaml', () => {
  const cases = [
    'a: 1\n# c\n',
    'a: 1\n\n\n',
    'a:\n  b: 1\n# c\nd: 2',
    'a:\n  b:\n    c: 1\n# x\n',
    'a:\n  b:\nc: 1',
    'a: x   # y  \n',
    'a: # c\nb: 1\n',
    '# head\n\na: 1\n',
    "a: 'it''s' # q\nb: \"x y\"\n",
    'a: { b: 1, c: [1, 2, { d: e }] } # c\n',
    'a: []\nb: {}\nc: [ ]\n',
    'a: 1\na: 2\nb:\n  c: 1\n  c: { x: 1, x: 2 }\n',
    'a: 0o17\nb: 0x1F\nc: -.inf\nd: .NaN\ne: 1e3\nf: 1.50\ng: +7\nh: 007\ni: ~\nj: Null\nk: TRUE\nl: 1_000\nm: 1.2.3\n',
    'a: -1\nb: -x\nc: ?x\nd: :x\ne: a:b\nf: http://x/y\ng: a,b [c] {d}\nh: x#y\n',
    'a: é ünïcode 🙂\n',
    '  s:\n    a: 1\n# c\n',
    '  s:\n    a: { b: 1 } # q\n# c\n\n',
    'a:\n  b: 1\n c: 2\n',
    'a: b\n  c\n',
    'a: [1,\n  2]\n',
    'a: "x\\ty"\n',
    'a: |\n  x\n',
    'a: &x 1\nb: *x\n',
    'a: !!str 1\n',
    '- a\n- b\n',
    'a: b: c\n',
    'x:\n  - 1\n',
    '"k": 1\n',
    'a: 1 # c\n  # deeper\n',
    'steps:\n',
    'a:\n',
    'a:',
    'a: 1',
  ];
  for (const c of cases) compare(c, 'edge case');
  assert.equal(parsePlainYaml('a: [1,\n  2]\n', 0, 0), undefined, 'multi-line flow is left to yaml');
  assert.notEqual(parsePlainYaml(cases[9] ?? '', 0, 0), undefined, 'nested flow collections are plain');
  assert.equal(plainValue('1.50'), 1.5);
  assert.equal(plainValue('0x1F'), 31);
  assert.equal(plainValue('2Gi'), '2Gi');
});
