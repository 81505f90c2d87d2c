import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Diagnostic, Position } from 'vscode-languageserver/node';
import { mutate, mutateLines, prng } from '../../bench/fuzz/mutate.js';
import { languageServices } from '../../language-server/src/services/registry.js';
import { fileUri, LspSession, messageOf } from './helpers/lspClient.js';

// The language server fuzzed with mutated real pipelines (the samples and every fixture): 2,000 seeded mutations
// (characters and lines deleted, inserted and duplicated; tabs, brackets, `${`, reserved characters; deep nesting),
// each sent as an edit, then one request on it. Every request answers, no service fails, and no diagnostic names
// JavaScript internals. robustness.test.ts has the hand-picked cases.

const root = path.join(__dirname, '..', '..');
const seedFiles = [
  ...readdirSync(path.join(root, 'samples'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(root, 'samples', d.name, 'cairn.yaml')),
  ...['valid', 'broken'].flatMap((dir) =>
    readdirSync(path.join(root, 'test/fixtures/pipelines', dir))
      .filter((f) => f.endsWith('.cairn.yaml'))
      .sort()
      .map((f) => path.join(root, 'test/fixtures/pipelines', dir, f)),
  ),
].filter((f) => {
  try {
    readFileSync(f);
    return true;
  } catch {
    return false;
  }
});
const seeds = seedFiles.map((f) => readFileSync(f, 'utf8'));

const MUTATIONS = 2000;

/** Words of a JavaScript engine or of a value printed without care; a stack frame (`at f (file:1:2)`). */
const internals =
  /undefined|\bnull\b|of undefined|is not a function|Maximum call stack|TypeError|RangeError|\[object|\bNaN\b|\bat \S+ \(|\.[jt]s:\d+:\d+/;

let session: LspSession;
before(async () => {
  session = await LspSession.start(languageServices());
});
after(async () => {
  await session.dispose();
});

function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, offset).split(/\r\n|\r|\n/);
  return { line: before.length - 1, character: (before[before.length - 1] ?? '').length };
}

function checkDiagnostics(ds: Diagnostic[], text: string, label: string): void {
  const lineCount = text.split(/\r\n|\r|\n/).length;
  for (const d of ds) {
    const message = messageOf(d);
    assert.ok(typeof d.code === 'string' && d.code.length > 0, `${label}: a diagnostic without a code`);
    assert.ok(message.trim().length > 0, `${label}: an empty message`);
    assert.doesNotMatch(message, internals, `${label}: ${String(d.code)} names JavaScript internals`);
    assert.ok(d.range.start.line < lineCount && d.range.end.line < lineCount, `${label}: range outside the document`);
  }
}

test(`fuzz: ${MUTATIONS} seeded mutations of ${seeds.length} real pipelines through the language server`, async () => {
  assert.ok(seeds.length >= 20, `seed pipelines found: ${seeds.length}`);
  const rand = prng(20261207);
  const uri = fileUri(path.join(os.tmpdir(), 'cairn-lsp-fuzz', 'cairn.yaml'));
  let text = seeds[0] ?? '';
  await session.open(uri, text, 'cairn-pipeline');
  const seen = { yaml: 0, nesting: 0, quoteFixes: 0, requests: 0 };
  for (let i = 0; i < MUTATIONS; i++) {
    // Mostly a fresh mutation of a seed; sometimes the previous text mutated further (edits pile up in an editor).
    const from = rand() < 0.7 ? (seeds[Math.floor(rand() * seeds.length)] ?? '') : text;
    text = rand() < 0.5 ? mutateLines(from, rand) : mutate(from, rand);
    const label = `mutation ${i}`;
    const published = await session.change(uri, [{ text }]);
    checkDiagnostics(published.diagnostics, text, label);
    for (const d of published.diagnostics) {
      if (d.code !== 'yaml-syntax') continue;
      seen.yaml++;
      if (/Nesting deeper/.test(messageOf(d))) seen.nesting++;
    }
    const at = positionAt(text, Math.floor(rand() * (text.length + 1)));
    // One request per edit, in turn: each must answer (a failing service would be logged and answer its fallback).
    switch (i % 8) {
      case 0:
        await session.hover(uri, at);
        break;
      case 1:
        await session.completion(uri, at);
        break;
      case 2:
        await session.definition(uri, at);
        break;
      case 3:
        await session.references(uri, at);
        break;
      case 4: {
        const range = await session.prepareRename(uri, at);
        // A refused rename answers with an error: that is an answer too.
        if (range)
          await session
            .rename(uri, range.start, 'renamed')
            .catch((e: unknown) => assert.ok(e instanceof Error, `${label}: rename failed oddly`));
        break;
      }
      case 5:
        await session.symbols(uri);
        break;
      default: {
        const d = published.diagnostics[Math.floor(rand() * published.diagnostics.length)];
        const actions = await session.codeActions(uri, d?.range ?? { start: at, end: at }, d ? [d] : []);
        for (const a of actions) {
          assert.doesNotMatch(a.title, internals, `${label}: a quick fix title names JavaScript internals`);
          if (/^Quote the value/.test(a.title)) seen.quoteFixes++;
        }
      }
    }
    seen.requests++;
  }
  await session.close(uri);
  const failures = session.logs.filter((l) => l.type === 1).map((l) => l.message.split('\n')[0]);
  assert.deepEqual(failures, [], 'no service failed on any mutation');
  assert.equal(seen.requests, MUTATIONS);
  // The mutations do reach the YAML errors of interest.
  assert.ok(seen.yaml > MUTATIONS / 4, `YAML syntax findings: ${seen.yaml}`);
  assert.ok(seen.nesting > 10, `nesting findings: ${seen.nesting}`);
  assert.ok(seen.quoteFixes > 0, `quote quick fixes offered: ${seen.quoteFixes}`);
});
