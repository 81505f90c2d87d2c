import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { LineIndex, parsePipeline } from '@cairn/protocol';
import { generatePipeline } from '../../../bench/lib/generatePipeline.js';
import { diagnosticsOf } from '../../../language-server/src/services/pipeline/diagnostics.js';
import { languageServices } from '../../../language-server/src/services/registry.js';
import type { WorkspaceHost } from '../../../language-server/src/services/types.js';
import { fileUri, LspSession, messageOf } from '../helpers/lspClient.js';

/**
 * The open path (workspace scan, shared parse, plain-YAML fast path, block split, first check) must publish exactly
 * the findings of a whole-text parse and full check of the same text.
 */

/** A generated pipeline with findings of several kinds, and blocks the fast path leaves to yaml (comments, lists). */
function brokenPipeline(): string {
  return generatePipeline(300)
    .replace('${steps.prep_3.outputs.table}', '${steps.prep_3.outputs.tabel}')
    .replace('  fx_7:\n', '  # the features of batch 7\n  fx_7:\n    needs:\n      - split_7\n')
    .replace('    uses: train.mlp\n', '    uses: train.mlpp\n')
    .replace('  split_11:\n', '  split_11:\n    description: first\n    description: again\n')
    .replace('      target: label\n', "      target: 'label'   # quoted\n");
}

function fullCheck(file: string, text: string) {
  const host: WorkspaceHost = {
    fileExists: (f) => fs.existsSync(f),
    readText: (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined),
    pipelinesNamingCard: () => [],
    workspaceFolderOf: () => path.dirname(file),
  };
  const lines = new LineIndex(text);
  return diagnosticsOf(parsePipeline(file, text, undefined, { full: true }), host).map((d) => ({
    code: d.code,
    range: lines.rangeOf(d.span),
    message: d.message,
  }));
}

test('open: the first diagnostics of a large pipeline equal the full check of its text', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-lsp-open-'));
  try {
    for (const f of ['data/raw.csv', 'data/reference.csv', 'src/prep.py']) {
      fs.mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
      fs.writeFileSync(
        path.join(dir, f),
        f.endsWith('.csv') ? 'age,income,region,label\n30,1,north,1\n' : 'print(1)\n',
      );
    }
    const text = brokenPipeline();
    const file = path.join(dir, 'big.cairn.yaml');
    // On disk as well: the start-up scan parses it, and the open shares that parse.
    fs.writeFileSync(file, text);
    // A second pipeline whose buffer differs from its file on disk: the scan's parse must not be taken for it.
    const other = path.join(dir, 'other.cairn.yaml');
    const otherText = text.replace('  prep_0:\n', '  prep_0:\n    needs: [nowhere]\n');
    fs.writeFileSync(other, text);
    const session = await LspSession.start(languageServices(), { folders: [dir] });
    try {
      for (const [f, t] of [
        [file, text],
        [other, otherText],
      ] as const) {
        const expected = fullCheck(f, t);
        assert.ok(
          expected.length >= 3,
          `the test pipeline has findings: ${JSON.stringify(expected.map((d) => d.code))}`,
        );
        const published = await session.open(fileUri(f), t, 'cairn-pipeline');
        assert.deepEqual(
          published.diagnostics.map((d) => ({ code: d.code, range: d.range, message: messageOf(d) })),
          expected,
          path.basename(f),
        );
      }
    } finally {
      await session.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
