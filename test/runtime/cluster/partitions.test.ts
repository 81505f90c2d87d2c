import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parsePipeline, PipelineCode } from '@cairn/protocol';
import {
  clusterFindings,
  memoryMb,
  parseSinfo,
  querySinfo,
  resourceFindings,
} from '../../../runtime/src/cluster/partitions.js';

// What `sinfo -h -o "%P %c %m %G"` prints: the default partition starred, gres with or without a type.
const sinfo = 'debug* 4 7900 (null)\ngpu 16 64000 gpu:a100:2(S:0-1)\n';

const pipeline = `version: 1
steps:
  small:
    run: echo hi
    resources: { cpu: 2, memory: 4Gi }
  big:
    run: echo hi
    resources: { cpu: 32 }
  trainer:
    run: echo hi
    resources: { gpu: required, memory: 32G }
`;

test('sinfo lines parse into partitions; memory requests into MB', () => {
  assert.deepEqual(parseSinfo(sinfo), [
    { name: 'debug', cpus: 4, memoryMb: 7900, gpus: 0 },
    { name: 'gpu', cpus: 16, memoryMb: 64000, gpus: 2 },
  ]);
  assert.equal(memoryMb('4Gi'), 4096);
  assert.equal(memoryMb('512MB'), 512);
  assert.equal(memoryMb('1T'), 1024 * 1024);
});

test('a request no partition can give is an error on its resources: key, naming what the partitions offer', () => {
  const doc = parsePipeline('cairn.yaml', pipeline);
  const found = resourceFindings(doc, parseSinfo(sinfo));
  assert.deepEqual(
    found.map((d) => [doc.lines.rangeOf(d.span).start.line, d.code]),
    [[7, PipelineCode.unsatisfiableResources]],
  );
  assert.match(found[0]?.message ?? '', /Step 'big' asks for 32 cpu.*debug: 4 cpu, 7900 MB, 0 gpu; gpu: 16 cpu/);
  // Held to the configured partition, the gpu step cannot run either.
  const onDebug = resourceFindings(doc, parseSinfo(sinfo), 'debug');
  assert.deepEqual(
    onDebug.map((d) => doc.lines.rangeOf(d.span).start.line),
    [7, 10],
  );
  assert.match(onDebug[1]?.message ?? '', /'trainer' asks for 32G memory, a gpu, which partition 'debug'/);
});

test('an unreachable cluster is a warning, not silence; a pipeline without resources asks nothing', () => {
  const doc = parsePipeline('cairn.yaml', pipeline);
  const empty = mkdtempSync(path.join(os.tmpdir(), 'cairn-nosinfo-'));
  const saved = process.env.PATH;
  process.env.PATH = empty; // no sinfo on PATH: the real "not installed" failure
  try {
    const result = querySinfo();
    assert.deepEqual(result, { ok: false, reason: 'sinfo is not installed' });
    const found = clusterFindings(doc, undefined);
    assert.deepEqual(
      found.map((d) => d.code),
      [PipelineCode.clusterUnreachable],
    );
    assert.match(found[0]?.message ?? '', /unreachable \(sinfo is not installed\)/);
  } finally {
    process.env.PATH = saved;
    rmSync(empty, { recursive: true, force: true });
  }
  let asked = false;
  const none = parsePipeline('cairn.yaml', 'version: 1\nsteps:\n  a:\n    run: echo hi\n');
  assert.deepEqual(
    clusterFindings(none, undefined, () => ((asked = true), { ok: true, partitions: [] })),
    [],
  );
  assert.equal(asked, false);
});
