import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic, PublishDiagnosticsParams } from 'vscode-languageserver/node';
import { generatePipeline } from '../../bench/lib/generatePipeline.js';
import { languageServices } from '../../language-server/src/services/registry.js';
import { fileUri, LspSession, messageOf } from './helpers/lspClient.js';

// Bad input never crashes the server: each case gets a clear diagnostic or none, and the server still answers a hover
// (and a completion) on the same document afterwards.

const validPipeline = `version: 1
name: tiny
params:
  lr: 0.01
steps:
  train:
    run: python train.py --lr \${params.lr}
    outputs: { model: model.bin }
`;

function junk(bytes: number, seed: number): string {
  // Deterministic bytes (an LCG), read as latin1 so every byte becomes one character, controls and NULs included.
  const out = Buffer.alloc(bytes);
  let x = seed;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x & 0xff;
  }
  return out.toString('latin1');
}

function fiveMegabytes(): string {
  // A real pipeline repeated until it passes 5 MB: large, and mostly valid.
  const base = generatePipeline(2000);
  let text = base;
  let n = 0;
  while (text.length < 5 * 1024 * 1024) text += `\n# filler ${n++}\n` + base.replace(/^/gm, '# ');
  return text;
}

const aliasBomb = [
  'version: 1',
  'name: bomb',
  'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'steps: {}',
  '',
].join('\n');

interface Case {
  name: string;
  text: string;
  /** Codes that must be among the diagnostics (empty: none required). */
  expect?: string[];
  /** The whole result must be clean. */
  clean?: boolean;
  /** Longest acceptable time to diagnostics (default 10 s, for the 5 MB files on a slow CI core). */
  budgetMs?: number;
}

const pipelineCases: Case[] = [
  { name: 'empty file', text: '', expect: ['not-a-mapping'] },
  { name: 'only whitespace and comments', text: '\n  \n# nothing\n', expect: ['not-a-mapping'] },
  { name: 'binary junk', text: junk(4096, 7) },
  { name: 'NUL bytes', text: 'version: 1\u0000\u0000\nname: x\n' },
  { name: 'a 5 MB file', text: fiveMegabytes() },
  {
    name: 'anchors and aliases',
    text: 'version: 1\nname: anchors\nparams:\n  lr: &rate 0.01\n  lr2: *rate\nsteps:\n  a: &step\n    run: echo ${params.lr} ${params.lr2}\n  b: *step\n',
  },
  // 10^5 nodes once expanded: must be refused or bounded quickly, never expanded for seconds.
  { name: 'an alias bomb', text: aliasBomb, budgetMs: 5000 },
  { name: 'multi-document YAML', text: `${validPipeline}---\nversion: 1\n`, expect: ['multi-document'] },
  { name: 'tabs for indentation', text: validPipeline.replace('  lr: 0.01', '\tlr: 0.01'), expect: ['yaml-syntax'] },
  { name: 'a byte-order mark', text: `\uFEFF${validPipeline}`, clean: true },
  { name: 'CRLF line ends', text: validPipeline.replace(/\n/g, '\r\n'), clean: true },
  { name: 'lone CR line ends', text: validPipeline.replace(/\n/g, '\r') },
  {
    name: 'a deeply nested value',
    text: `version: 1\nname: deep\nsteps: {}\nx: ${'['.repeat(2000)}${']'.repeat(2000)}\n`,
  },
  {
    name: 'an unterminated interpolation',
    text: validPipeline.replace('${params.lr}', '${params.lr'),
    expect: ['interpolation-syntax'],
  },
  // Deep enough to exhaust yaml's recursive composer: one nesting finding in our words instead.
  {
    name: 'an unclosed 20,000-deep flow sequence',
    text: `${validPipeline}x: ${'['.repeat(20_000)}\n`,
    expect: ['yaml-syntax'],
  },
  {
    name: '20,000 nested list items on one line',
    text: `${validPipeline}x:\n${'- '.repeat(20_000)}a\n`,
    expect: ['yaml-syntax'],
  },
  {
    name: 'an interpolation in a flow mapping',
    text: validPipeline.replace('{ model: model.bin }', '{ model: ${params.lr}.bin }'),
    expect: ['yaml-syntax'],
  },
];

const cardCases: Case[] = [
  { name: 'empty card', text: '' },
  { name: 'binary junk card', text: junk(4096, 11) },
  { name: 'a 5 MB card', text: `---\nlicense: mit\n---\n# Card\n${'Lorem ipsum dolor sit amet. '.repeat(190_000)}\n` },
  { name: 'unclosed front matter with BOM and CRLF', text: '\uFEFF---\r\nlicense: mit\r\n# Card\r\n' },
  { name: 'front matter of anchors and aliases', text: '---\nlicense: &l mit\ntags: [*l, *l]\n---\n# Card\n' },
];

let session: LspSession;
const dir = path.join(os.tmpdir(), 'cairn-lsp-robustness');
before(async () => {
  session = await LspSession.start(languageServices());
});
after(async () => {
  await session.dispose();
});

function checkShape(p: PublishDiagnosticsParams, text: string, name: string): void {
  const lineCount = text.split(/\r\n|\r|\n/).length;
  for (const d of p.diagnostics) {
    assert.ok(typeof d.code === 'string' && d.code.length > 0, `${name}: every diagnostic has a code`);
    assert.ok(messageOf(d).trim().length > 0, `${name}: every diagnostic has a message`);
    assert.doesNotMatch(
      messageOf(d),
      /Maximum call stack|TypeError|RangeError|of undefined|\[object/,
      `${name}: no engine message`,
    );
    assert.ok(
      d.range.start.line < lineCount && d.range.end.line < lineCount,
      `${name}: ranges stay inside the document`,
    );
  }
}

async function survive(c: Case, file: string, languageId: string): Promise<Diagnostic[]> {
  const uri = fileUri(path.join(dir, file));
  const started = Date.now();
  const p = await session.open(uri, c.text, languageId);
  const elapsed = Date.now() - started;
  checkShape(p, c.text, c.name);
  for (const code of c.expect ?? [])
    assert.ok(
      p.diagnostics.some((d) => d.code === code),
      `${c.name}: expected ${code}; got ${p.diagnostics.map((d) => String(d.code)).join(', ')}`,
    );
  if (c.clean)
    assert.deepEqual(
      p.diagnostics.map((d) => `${String(d.code)}: ${messageOf(d)}`),
      [],
      c.name,
    );
  // Still answering: hover, completion and the outline return (any answer) on the same document.
  await session.hover(uri, { line: 0, character: 0 });
  await session.completion(uri, { line: 0, character: 0 });
  await session.symbols(uri);
  await session.close(uri);
  const budget = c.budgetMs ?? 10_000;
  assert.ok(elapsed < budget, `${c.name}: diagnostics within ${budget} ms (took ${elapsed} ms)`);
  return p.diagnostics;
}

describe('bad input never crashes the server', () => {
  for (const c of pipelineCases) {
    test(`pipeline: ${c.name}`, async () => {
      await survive(c, `case.cairn.yaml`, 'cairn-pipeline');
      assert.equal(session.logs.filter((l) => l.type === 1).length, 0, 'no service failure was logged');
    });
  }

  for (const c of cardCases) {
    test(`model card: ${c.name}`, async () => {
      await survive(c, 'case.modelcard.md', 'cairn-model-card');
      assert.equal(session.logs.filter((l) => l.type === 1).length, 0, 'no service failure was logged');
    });
  }

  test('CRLF and LF give the same findings at the same lines', async () => {
    const broken = validPipeline.replace('    outputs:', '    output:');
    const lf = await survive({ name: 'lf', text: broken }, 'lf.cairn.yaml', 'cairn-pipeline');
    const crlf = await survive(
      { name: 'crlf', text: broken.replace(/\n/g, '\r\n') },
      'crlf.cairn.yaml',
      'cairn-pipeline',
    );
    assert.ok(lf.length > 0);
    assert.deepEqual(
      crlf.map((d) => [d.code, d.range]),
      lf.map((d) => [d.code, d.range]),
    );
  });
});
