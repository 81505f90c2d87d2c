import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TrackedMetricsNotification } from '@cairn/protocol';
import type { Diagnostic } from 'vscode-languageserver/node';
import { z } from 'zod';
import { languageServices } from '../../language-server/src/services/registry.js';
import { applyEdits, fileUri, LspSession, messageOf } from './helpers/lspClient.js';

// Model cards end to end through the protocol with the real model-card service: the broken-card corpus, completion,
// hover, outline, navigation and quick fixes.

const corpus = path.join(__dirname, '..', 'fixtures', 'cards');
const expectedSchema = z.record(
  z.string(),
  z.union([
    z.string(),
    z.object({
      expect: z.array(z.string()),
      host: z
        .object({
          tracked: z.record(z.string(), z.record(z.string(), z.number())).optional(),
          personalPipelines: z.array(z.string()).optional(),
        })
        .optional(),
    }),
  ]),
);

let dir: string;
let session: LspSession;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-lsp-cards-'));
  for (const f of fs.readdirSync(path.join(corpus, 'broken')))
    fs.copyFileSync(path.join(corpus, 'broken', f), path.join(dir, f));
  // The corpus assumes a pipeline beside the cards.
  fs.writeFileSync(path.join(dir, 'cairn.yaml'), 'version: 1\nname: churn\nsteps: {}\n');
  session = await LspSession.start(languageServices());
});
after(async () => {
  await session.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

const fmt = (d: Diagnostic): string =>
  `${String(d.code)} ${d.range.start.line}:${d.range.start.character}-${d.range.end.line}:${d.range.end.character}`;

describe('model cards through the language server', () => {
  test('every broken card of the corpus gets exactly its expected codes and ranges', async () => {
    const expected = expectedSchema.parse(
      JSON.parse(fs.readFileSync(path.join(corpus, 'broken', 'expected.json'), 'utf8')),
    );
    let checked = 0;
    for (const [name, entry] of Object.entries(expected)) {
      if (typeof entry === 'string') continue; // the "//" note
      // Personal data flagged by the pipeline needs a pipeline with `pii: true`: covered by the service's own tests.
      if (entry.host?.personalPipelines) continue;
      const uri = fileUri(path.join(dir, name));
      const text = fs.readFileSync(path.join(dir, name), 'utf8');
      for (const [model, metrics] of Object.entries(entry.host?.tracked ?? {}))
        await session.notify(TrackedMetricsNotification.method, { model, metrics });
      const p = await session.open(uri, text, 'cairn-model-card');
      let got = p.diagnostics.map(fmt).sort();
      if (entry.host?.tracked && !got.some((g) => g.startsWith('card/metric-mismatch'))) {
        // The metrics notification re-validates the card; wait for that publication.
        got = (
          await session.waitForDiagnostics(uri, (x) => x.diagnostics.some((d) => d.code === 'card/metric-mismatch'))
        ).diagnostics
          .map(fmt)
          .sort();
      }
      assert.deepEqual(got, [...entry.expect].sort(), name);
      assert.ok(
        p.diagnostics.every((d) => d.source === 'cairn' && messageOf(d).length > 0),
        `${name}: source and message`,
      );
      await session.close(uri);
      checked++;
    }
    assert.ok(checked >= 30, `checked ${checked} cards`);
  });

  test('valid cards, including real Hugging Face ones, produce no errors', async () => {
    for (const name of fs.readdirSync(path.join(corpus, 'valid'))) {
      const file = path.join(dir, `valid-${name}`);
      const text = fs.readFileSync(path.join(corpus, 'valid', name), 'utf8');
      const p = await session.open(fileUri(file), text, 'cairn-model-card');
      assert.deepEqual(p.diagnostics.filter((d) => d.severity === 1).map(fmt), [], name);
      await session.close(fileUri(file));
    }
  });

  test('the missing-section quick fix inserts the section and the diagnostic goes away', async () => {
    const uri = fileUri(path.join(dir, 'missing-section.modelcard.md'));
    const text = fs.readFileSync(path.join(dir, 'missing-section.modelcard.md'), 'utf8');
    const p = await session.open(uri, text, 'cairn-model-card');
    const d = p.diagnostics.find((x) => x.code === 'card/missing-section');
    assert.ok(d, 'the card lacks a section');
    const actions = await session.codeActions(uri, d.range, [d]);
    const fix = actions.find((a) => a.kind === 'quickfix' && a.diagnostics?.[0]?.code === 'card/missing-section');
    assert.ok(fix?.edit?.changes?.[uri], `a quick fix; got ${actions.map((a) => a.title).join(' | ')}`);
    const fixed = applyEdits(text, fix.edit.changes[uri]);
    const after = await session.change(uri, [{ text: fixed }]);
    assert.deepEqual(after.diagnostics.filter((x) => x.code === 'card/missing-section').map(fmt), []);
    await session.close(uri);
  });

  test('completion, hover and the outline answer on a real card', async () => {
    const name = 'MODEL_CARD.md';
    const text = fs.readFileSync(path.join(corpus, 'complete', name), 'utf8');
    const uri = fileUri(path.join(dir, name));
    await session.open(uri, text, 'markdown');
    const lines = text.split(/\r?\n/);
    const licenseLine = lines.findIndex((l) => l.startsWith('license:'));
    assert.ok(licenseLine >= 0, 'the complete card declares a license');
    const items = await session.completion(uri, { line: licenseLine, character: 'license: '.length });
    assert.ok(
      items.some((i) => i.label === 'apache-2.0' || i.label === 'mit'),
      `license completions: ${items
        .slice(0, 5)
        .map((i) => i.label)
        .join(', ')}`,
    );
    const keyItems = await session.completion(uri, { line: licenseLine, character: 0 });
    assert.ok(keyItems.length > 0, 'front-matter keys are offered');
    const hover = await session.hover(uri, { line: licenseLine, character: 2 });
    assert.ok(hover, 'hover on the license key');
    const symbols = await session.symbols(uri);
    assert.ok(symbols.length > 0, 'the outline lists headings');
    const headingLine = lines.findIndex((l) => l.startsWith('## '));
    assert.ok(
      symbols.flatMap((s) => [s, ...(s.children ?? [])]).some((s) => s.range.start.line === headingLine),
      'a heading symbol sits on its line',
    );
    // Nothing in a card can be renamed: the server answers null (prepare) or a clear error (rename).
    assert.equal(await session.prepareRename(uri, { line: headingLine, character: 4 }), null);
    await assert.rejects(session.rename(uri, { line: headingLine, character: 4 }, 'x'), /rename/i);
    await session.close(uri);
  });
});
