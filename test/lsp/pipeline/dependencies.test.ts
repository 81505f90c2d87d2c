import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { FileChangeType } from 'vscode-languageserver/node';
import { fileUri } from '../helpers/lspClient.js';
import { dir, pipeline, reset, session, uri, usePipelineSession } from './session.js';

usePipelineSession();

describe('cross-file dependencies through the language server', () => {
  test('cross-file: a missing data file is reported until it exists, then re-checked on the watcher event', async () => {
    const missing = pipeline.replace('data/customers.csv', 'data/clients.csv');
    const p = await session.change(uri, [{ text: missing }]);
    assert.deepEqual(
      p.diagnostics.map((d) => d.code),
      ['missing-file'],
    );
    fs.writeFileSync(path.join(dir, 'data', 'clients.csv'), 'age,churned\n');
    const healed = session.waitForDiagnostics(uri, (x) => x.diagnostics.length === 0);
    await session.filesChanged([{ uri: fileUri(path.join(dir, 'data', 'clients.csv')), type: FileChangeType.Created }]);
    await healed;
    await reset();
  });

  test('the Markdown file the pipeline names as its card is checked as a model card', async () => {
    const cardUri = fileUri(path.join(dir, 'docs', 'churn.md'));
    const text = fs.readFileSync(path.join(dir, 'docs', 'churn.md'), 'utf8');
    const broken = text.replace(/^license: .*$/m, 'license: not-a-license');
    const p = await session.open(cardUri, broken, 'markdown');
    assert.ok(
      p.diagnostics.some((d) => d.code === 'card/unknown-license'),
      `card diagnostics: ${p.diagnostics.map((d) => String(d.code)).join(', ')}`,
    );
    await session.close(cardUri);
  });
});
