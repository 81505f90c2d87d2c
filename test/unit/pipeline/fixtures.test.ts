import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkPipeline, parsePipeline, PipelineCode } from '@cairn/protocol';

const root = join(__dirname, '../../fixtures/pipelines/');
const codes = new Set<string>(Object.values(PipelineCode));

function files(dir: string): string[] {
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.cairn.yaml'))
    .sort();
}

function findings(dir: string, file: string): { text: string; got: string[] } {
  const text = readFileSync(join(root, dir, file), 'utf8');
  const doc = parsePipeline(file, text);
  const diagnostics = checkPipeline(doc, { fileExists: (p) => existsSync(join(root, dir, p)) });
  const got = diagnostics.map((d) => {
    const r = doc.lines.rangeOf(d.span);
    return `${d.code} ${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
  });
  return { text, got };
}

/** `# expect: code L:C-L:C; code L:C-L:C` on the first line (0-based LSP positions). */
function expected(text: string): string[] {
  const m = /^# expect: (.*)$/m.exec(text.split('\n')[0] ?? '');
  if (!m) throw new Error('broken fixture without an `# expect:` first line');
  return (m[1] ?? '')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

test('every broken fixture gives exactly its expected codes and ranges', () => {
  const broken = files('broken');
  assert.ok(broken.length >= 40, `only ${broken.length} broken fixtures`);
  const seen = new Set<string>();
  for (const f of broken) {
    const { text, got } = findings('broken', f);
    const want = expected(text);
    assert.ok(want.length > 0, `${f}: expects nothing`);
    assert.deepEqual([...got].sort(), [...want].sort(), `${f}: findings differ`);
    for (const w of want) seen.add(w.split(' ')[0] ?? '');
  }
  // The corpus covers every code the parse and check can report (resolve-only codes are tested in resolve.test.ts;
  // the cluster's codes come from `cairn validate` asking Slurm, tested in test/runtime/cluster/partitions.test.ts).
  const resolveOnly = new Set<string>([PipelineCode.badOverride, PipelineCode.missingParam]);
  const clusterOnly = new Set<string>([PipelineCode.unsatisfiableResources, PipelineCode.clusterUnreachable]);
  const missing = [...codes].filter((c) => !seen.has(c) && !resolveOnly.has(c) && !clusterOnly.has(c));
  assert.deepEqual(missing, [], 'codes without a fixture');
});

test('valid fixtures give no diagnostics at all', () => {
  const valid = files('valid');
  assert.ok(valid.length >= 5);
  for (const f of valid) {
    const { got } = findings('valid', f);
    assert.deepEqual(got, [], `${f} should be clean`);
  }
});
