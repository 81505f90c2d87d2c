import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TrackedMetricsNotification } from '@cairn/protocol';
import {
  CodeActionKind,
  CompletionItemKind,
  DiagnosticSeverity,
  FileChangeType,
  InsertTextFormat,
  MessageType,
} from 'vscode-languageserver/node';
import { fakeService } from './helpers/fakeService.js';
import { applyEdits, fileUri, LspSession } from './helpers/lspClient.js';

// The server's own mechanics (sync, debounce, dispatch, cross-file, conversions, robustness) against a fake service.

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-lsp-server-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function services() {
  return { pipeline: fakeService('pipeline'), modelCard: fakeService('card') };
}

describe('language server mechanics', () => {
  test('publishes diagnostics with LSP ranges, code and source on open', async () => {
    const s = await LspSession.start(services());
    const uri = fileUri(path.join(dir, 'a.cairn.yaml'));
    const p = await s.open(uri, 'name: x\nstep: bad\n', 'cairn-pipeline');
    assert.equal(p.version, 1);
    assert.deepEqual(
      p.diagnostics.map((d) => [
        d.code,
        d.source,
        d.severity,
        d.range.start.line,
        d.range.start.character,
        d.range.end.line,
        d.range.end.character,
      ]),
      [['pipeline-bad', 'cairn', DiagnosticSeverity.Error, 1, 6, 1, 9]],
    );
    await s.dispose();
  });

  test('dispatches by file name and language id; other files get nothing', async () => {
    const svc = services();
    const s = await LspSession.start(svc);
    const byName = await s.open(fileUri(path.join(dir, 'cairn.yaml')), 'x: bad', 'yaml');
    assert.equal(byName.diagnostics[0]?.code, 'pipeline-bad');
    const byId = await s.open(fileUri(path.join(dir, 'whatever.txt')), 'x: bad', 'cairn-model-card');
    assert.equal(byId.diagnostics[0]?.code, 'card-bad');
    const card = await s.open(fileUri(path.join(dir, 'MODEL_CARD.md')), 'x: bad', 'markdown');
    assert.equal(card.diagnostics[0]?.code, 'card-bad');
    const named = await s.open(fileUri(path.join(dir, 'churn.modelcard.md')), 'x: bad', 'markdown');
    assert.equal(named.diagnostics[0]?.code, 'card-bad');
    const plain = fileUri(path.join(dir, 'notes.md'));
    await s.openQuietly(plain, 'x: bad', 'markdown');
    // A hover on a file that is not ours answers null (and proves the open was processed).
    assert.equal(await s.hover(plain, { line: 0, character: 0 }), null);
    assert.equal(s.published.filter((p) => p.uri === plain).length, 0);
    await s.dispose();
  });

  test('incremental edits update diagnostics and reuse the previous parse', async () => {
    const svc = services();
    const s = await LspSession.start(svc);
    const uri = fileUri(path.join(dir, 'inc.cairn.yaml'));
    await s.open(uri, 'a: bad\nb: ok\n', 'cairn-pipeline');
    const fixed = await s.change(uri, [
      { range: { start: { line: 0, character: 3 }, end: { line: 0, character: 6 } }, text: 'good' },
    ]);
    assert.deepEqual(fixed.diagnostics, []);
    const broken = await s.change(uri, [
      { range: { start: { line: 1, character: 3 }, end: { line: 1, character: 5 } }, text: 'bad' },
    ]);
    assert.deepEqual(
      broken.diagnostics.map((d) => d.range.start),
      [{ line: 1, character: 3 }],
    );
    assert.ok(
      svc.pipeline.stats.parsesWithPrevious >= 2,
      `previous parse passed on re-parse (${svc.pipeline.stats.parsesWithPrevious})`,
    );
    await s.dispose();
  });

  test('debounces edits: a burst is validated once, at its last version', async () => {
    const svc = services();
    const s = await LspSession.start(svc, { debounceMs: 400 });
    const uri = fileUri(path.join(dir, 'burst.cairn.yaml'));
    await s.open(uri, 'a: 1\n', 'cairn-pipeline'); // the first content is checked at once
    const callsAfterOpen = svc.pipeline.stats.diagnosticsCalls;
    // Sent in one tick (not awaited one by one): the burst reaches the server before any timer can run, so a pause
    // of the whole process between two edits on a busy machine cannot split it.
    const last = Math.max(
      ...(await Promise.all(Array.from({ length: 5 }, (_, i) => s.sendChange(uri, [{ text: `a: ${i}\nb: bad\n` }])))),
    );
    const p = await s.nextDiagnostics(uri, last);
    assert.equal(p.version, last);
    assert.deepEqual(
      s.published.filter((x) => x.uri === uri).map((x) => x.version),
      [1, last],
      'intermediate versions are never published',
    );
    assert.equal(svc.pipeline.stats.diagnosticsCalls - callsAfterOpen, 1);
    await s.dispose();
  });

  test('a throwing service is logged once per version and the server keeps answering', async () => {
    const s = await LspSession.start(services());
    const uri = fileUri(path.join(dir, 'throw.cairn.yaml'));
    const p = await s.open(uri, 'a: 1\nthrow\n', 'cairn-pipeline');
    assert.deepEqual(p.diagnostics, []);
    assert.equal(await s.hover(uri, { line: 0, character: 0 }), null);
    assert.deepEqual(await s.completion(uri, { line: 0, character: 0 }), []);
    assert.deepEqual(await s.symbols(uri), []);
    const errors = () => s.logs.filter((l) => l.type === MessageType.Error);
    assert.equal(errors().length, 1, 'one log line for the whole version');
    assert.match(
      errors()[0]?.message ?? '',
      /pipeline service failed \(diagnostics\).*throw\.cairn\.yaml.*asked to throw/s,
    );
    await s.change(uri, [{ text: 'a: 2\nthrow\n' }]);
    assert.equal(errors().length, 2, 'a new version logs again');
    const healed = await s.change(uri, [{ text: 'a: bad\n' }]);
    assert.equal(healed.diagnostics.length, 1);
    assert.match(JSON.stringify(await s.hover(uri, { line: 0, character: 0 })), /\*\*a\*\* = bad/);
    await s.dispose();
  });

  test('completion, hover, symbols convert offsets to ranges and keep their kinds', async () => {
    const s = await LspSession.start(services());
    const uri = fileUri(path.join(dir, 'feat.cairn.yaml'));
    await s.open(uri, 'first: 1\r\nsecond: two\r\nref: first\r\n', 'cairn-pipeline');
    const items = await s.completion(uri, { line: 1, character: 3 });
    const alpha = items.find((i) => i.label === 'alpha');
    assert.equal(alpha?.kind, CompletionItemKind.Property);
    assert.deepEqual(alpha?.textEdit, {
      range: { start: { line: 1, character: 0 }, end: { line: 1, character: 3 } },
      newText: 'alpha',
    });
    assert.deepEqual(alpha?.documentation, { kind: 'markdown', value: '**alpha** docs' });
    const beta = items.find((i) => i.label === 'beta');
    assert.equal(beta?.insertTextFormat, InsertTextFormat.Snippet);
    const hover = await s.hover(uri, { line: 1, character: 2 });
    assert.deepEqual(hover?.range, { start: { line: 1, character: 0 }, end: { line: 1, character: 6 } });
    const symbols = await s.symbols(uri);
    assert.deepEqual(
      symbols.map((x) => [x.name, x.range.start.line, x.selectionRange.end.character]),
      [
        ['first', 0, 5],
        ['second', 1, 6],
        ['ref', 2, 3],
      ],
    );
    await s.dispose();
  });

  test('definition, references, prepareRename and rename go through the protocol', async () => {
    const s = await LspSession.start(services());
    const uri = fileUri(path.join(dir, 'nav.cairn.yaml'));
    const text = 'train: 1\nref: train\nother: 2\nref: train\n';
    await s.open(uri, text, 'cairn-pipeline');
    const defs = await s.definition(uri, { line: 1, character: 7 });
    assert.deepEqual(defs, [{ uri, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 5 } } }]);
    const refs = await s.references(uri, { line: 0, character: 1 });
    assert.deepEqual(
      refs.map((r) => r.range.start.line),
      [0, 1, 3],
    );
    assert.deepEqual(
      (await s.references(uri, { line: 0, character: 1 }, false)).map((r) => r.range.start.line),
      [1, 3],
    );
    assert.deepEqual(await s.prepareRename(uri, { line: 0, character: 2 }), {
      start: { line: 0, character: 0 },
      end: { line: 0, character: 5 },
    });
    assert.equal(await s.prepareRename(uri, { line: 1, character: 1 }), null);
    const edit = await s.rename(uri, { line: 0, character: 2 }, 'fit');
    assert.equal(applyEdits(text, edit?.changes?.[uri] ?? []), 'fit: 1\nref: fit\nother: 2\nref: fit\n');
    await assert.rejects(s.rename(uri, { line: 0, character: 2 }, '1 bad'), /not a valid key name/);
    await s.dispose();
  });

  test('quick fixes come from diagnostic fixes; applying the preferred one clears the diagnostic', async () => {
    const s = await LspSession.start(services());
    const uri = fileUri(path.join(dir, 'fix.cairn.yaml'));
    const text = 'a: 1\nb: bad\n';
    const p = await s.open(uri, text, 'cairn-pipeline');
    const diagnostic = p.diagnostics[0];
    assert.ok(diagnostic);
    const actions = await s.codeActions(uri, diagnostic.range, [diagnostic]);
    assert.deepEqual(
      actions.map((a) => [a.title, a.kind, a.isPreferred]),
      [
        ['Replace with "good"', CodeActionKind.QuickFix, true],
        ['Replace with "fine"', CodeActionKind.QuickFix, false],
      ],
    );
    assert.equal(actions[0]?.diagnostics?.[0]?.code, 'pipeline-bad');
    assert.deepEqual(
      await s.codeActions(uri, { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }),
      [],
      'nothing away from the finding',
    );
    const fixed = applyEdits(text, actions[0]?.edit?.changes?.[uri] ?? []);
    assert.equal(fixed, 'a: 1\nb: good\n');
    const after = await s.change(uri, [{ text: fixed }]);
    assert.deepEqual(after.diagnostics, []);
    await s.dispose();
  });

  test('cross-file: a dependency edited in the editor or on disk re-validates its dependents', async () => {
    const s = await LspSession.start(services());
    const data = path.join(dir, 'data.csv');
    fs.writeFileSync(data, 'ok\n');
    const uri = fileUri(path.join(dir, 'dep.cairn.yaml'));
    const first = await s.open(uri, 'dep: data.csv\ndep: missing.csv\n', 'cairn-pipeline');
    assert.deepEqual(
      first.diagnostics.map((d) => d.code),
      ['pipeline-missing'],
    );
    // On disk: the watcher reports the change.
    fs.writeFileSync(data, 'broken\n');
    const next = s.waitForDiagnostics(uri, (p) => p.diagnostics.some((d) => d.code === 'pipeline-broken'));
    await s.filesChanged([{ uri: fileUri(data), type: FileChangeType.Changed }]);
    await next;
    fs.writeFileSync(path.join(dir, 'missing.csv'), 'ok\n');
    const created = s.waitForDiagnostics(uri, (p) => !p.diagnostics.some((d) => d.code === 'pipeline-missing'));
    await s.filesChanged([{ uri: fileUri(path.join(dir, 'missing.csv')), type: FileChangeType.Created }]);
    await created;
    // In the editor: the open buffer wins over disk.
    const dataUri = fileUri(data);
    await s.openQuietly(dataUri, 'broken\n', 'csv');
    const healed = s.waitForDiagnostics(uri, (p) => p.diagnostics.length === 0);
    await s.sendChange(dataUri, [{ text: 'fine\n' }]);
    await healed;
    await s.dispose();
  });

  test('Markdown a pipeline names as its card is served by the model-card service', async () => {
    const folder = fs.mkdtempSync(path.join(dir, 'ws-'));
    fs.writeFileSync(path.join(folder, 'cairn.yaml'), 'dep: docs/card.md\n');
    fs.mkdirSync(path.join(folder, 'docs'));
    fs.writeFileSync(path.join(folder, 'docs', 'card.md'), 'card: yes\n');
    const s = await LspSession.start(services(), { folders: [folder] });
    const cardUri = fileUri(path.join(folder, 'docs', 'card.md'));
    const card = await s.open(cardUri, 'card: yes\nx: bad\n', 'markdown');
    assert.deepEqual(
      card.diagnostics.map((d) => [d.code, d.message]),
      [
        ['card-bad', '"bad" is not allowed in a card'],
        ['card-card', 'card of cairn.yaml'],
      ],
    );
    // The pipeline stops naming it: the Markdown file is no longer a card and its diagnostics are cleared.
    const pipelineUri = fileUri(path.join(folder, 'cairn.yaml'));
    const cleared = s.waitForDiagnostics(cardUri, (p) => p.diagnostics.length === 0);
    await s.open(pipelineUri, 'dep: other.md\n', 'cairn-pipeline');
    await cleared;
    await s.dispose();
  });

  test('cairn/trackedMetrics reaches the services; invalid params are refused with a log line', async () => {
    const s = await LspSession.start(services());
    const uri = fileUri(path.join(dir, 'metrics.modelcard.md'));
    await s.open(uri, 'metric: churn\n', 'cairn-model-card');
    const got = s.waitForDiagnostics(uri, (p) => p.diagnostics.some((d) => d.message === 'accuracy 0.91'));
    await s.notify(TrackedMetricsNotification.method, { model: 'churn', metrics: { accuracy: 0.91 } });
    await got;
    await s.notify(TrackedMetricsNotification.method, { model: 'churn', metrics: { accuracy: 'high' } });
    // Requests are answered in order, so after this hover the notification above has been handled.
    await s.hover(uri, { line: 0, character: 0 });
    assert.ok(s.logs.some((l) => l.type === MessageType.Warning && l.message.includes('cairn/trackedMetrics')));
    await s.dispose();
  });

  test('settings are pulled from the client (workspace/configuration) at start and on every change', async () => {
    let debounceMs = 400;
    const svc = services();
    const s = await LspSession.start(svc, {
      debounceMs: 0,
      configuration: (section) => (section === 'cairn' ? { validation: { debounceMs } } : null),
    });
    const uri = fileUri(path.join(dir, 'settings.cairn.yaml'));
    await s.open(uri, 'a: 1\n', 'cairn-pipeline');
    assert.deepEqual(s.configurationRequests, ['cairn'], 'pulled once after initialized');
    // Pulled 400 ms: a burst of edits is validated once, at its last version.
    const last = Math.max(
      ...(await Promise.all(Array.from({ length: 3 }, (_, i) => s.sendChange(uri, [{ text: `a: ${i}\n` }])))),
    );
    await s.nextDiagnostics(uri, last);
    assert.deepEqual(
      s.published.filter((p) => p.uri === uri).map((p) => p.version),
      [1, last],
    );
    debounceMs = 0;
    await s.configurationChanged();
    await s.hover(uri, { line: 0, character: 0 }); // requests are answered in order: the pull was asked before this
    assert.deepEqual(s.configurationRequests, ['cairn', 'cairn']);
    await s.dispose();
  });

  test('closing a document clears its diagnostics', async () => {
    const s = await LspSession.start(services());
    const uri = fileUri(path.join(dir, 'close.cairn.yaml'));
    await s.open(uri, 'x: bad\n', 'cairn-pipeline');
    const cleared = s.waitForDiagnostics(uri, (p) => p.diagnostics.length === 0);
    await s.close(uri);
    const p = await cleared;
    assert.equal(p.version, undefined);
    await s.dispose();
  });
});
