import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { outsideTags, type ResolvedPipeline } from '@cairn/protocol';
import { manifestText } from '../../../runtime/src/cas/objectStore.js';
import { Engine } from '../../../runtime/src/executor/engine.js';
import { loadPipeline } from '../../../runtime/src/executor/loadPipeline.js';
import { lineage } from '../../../runtime/src/lineage/lineage.js';
import { assertInsideWorkspace, assertWritableInside, PathEscapeError } from '../../../runtime/src/util/confine.js';
import { commandStep, pipelineOf } from './helpers.js';

/**
 * Confinement with real symbolic links: each case builds `<tmp>/ws` (the workspace) beside `<tmp>/outside` and checks,
 * by a checksum of every entry, that nothing outside changed, and that no outside content reached `.cairn/objects`.
 */

/** Every entry below `dir` (links not followed): kind, mode, and content hash or link target. */
function checksum(dir: string): string {
  const lines: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, r);
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) lines.push(`${r} link ${readlinkSync(abs)}`);
      else if (st.isDirectory()) {
        lines.push(`${r} dir ${st.mode}`);
        walk(r);
      } else
        lines.push(
          `${r} file ${st.mode} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`,
        );
    }
  };
  walk('');
  return lines.join('\n');
}

/** Hashes of every file below `dir` (for "no outside content was copied into the object store"). */
function contentHashes(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string) => {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const abs = path.join(d, n);
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(abs);
      else if (st.isFile()) out.add(createHash('sha256').update(readFileSync(abs)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

describe('workspace confinement with real symbolic links', () => {
  let top: string;
  let ws: string;
  let outside: string;
  let engine: Engine;
  let before: string;
  let outsideContent: Set<string>;

  beforeEach(() => {
    top = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'cairn-confine-')));
    ws = path.join(top, 'ws');
    outside = path.join(top, 'outside');
    mkdirSync(ws);
    mkdirSync(path.join(outside, 'sub'), { recursive: true });
    // Unique contents, so a copy of any of them in .cairn/objects is recognisable.
    writeFileSync(path.join(outside, 'x'), `outside x ${top}\n`);
    writeFileSync(path.join(outside, 'secret.txt'), `secret ${top}\n`);
    writeFileSync(path.join(outside, 'sub', 'data.csv'), `a,b\n1,2 ${top}\n`);
    writeFileSync(path.join(outside, 'out.txt'), `outside out ${top}\n`);
    engine = new Engine(ws, { parallelism: 1 });
    before = checksum(outside);
    outsideContent = contentHashes(outside);
  });

  afterEach(async () => {
    await engine.close();
    rmSync(top, { recursive: true, force: true });
  });

  /** Nothing outside changed, and none of its contents was stored in the workspace's object store. */
  const assertOutsideUntouched = () => {
    assert.equal(checksum(outside), before, 'the folder outside the workspace changed');
    for (const h of contentHashes(path.join(ws, '.cairn', 'objects')))
      assert.ok(!outsideContent.has(h), 'outside content was copied into .cairn/objects');
  };
  const runs = () => (engine.store.db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n;
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
    writeFileSync(path.join(ws, rel), text);
  };

  test('an output through a linked folder is refused before anything runs, naming step, path and link', async () => {
    symlinkSync(outside, path.join(ws, 'link'));
    const p = pipelineOf(ws, [commandStep('write', 'echo hi > link/x', { outs: { o: 'link/x' } })]);
    await assert.rejects(
      engine.start(p),
      (e: unknown) =>
        e instanceof PathEscapeError &&
        e.step === 'write' &&
        e.link === path.join(ws, 'link') &&
        new RegExp(
          "output 'o' of step 'write' \\(link/x\\) leaves the workspace .*: it resolves to .*outside/x " +
            "through the symbolic link 'link' -> .*outside; nothing outside was deleted or written",
        ).test(e.message),
    );
    assert.equal(runs(), 0);
    assertOutsideUntouched();
  });

  test('a dependency that is a link to a file outside is refused; nothing of it is hashed or stored', async () => {
    symlinkSync(path.join(outside, 'secret.txt'), path.join(ws, 'secret'));
    const p = pipelineOf(ws, [commandStep('read', 'true', { deps: ['secret'] })]);
    await assert.rejects(
      engine.start(p),
      /dependency 'secret' of step 'read' leaves .*the symbolic link 'secret' -> .*secret\.txt.*allow_outside/,
    );
    assert.equal(runs(), 0);
    assertOutsideUntouched();
  });

  test('links to .. and chains of links are followed to where they lead', async () => {
    symlinkSync('..', path.join(ws, 'up'));
    symlinkSync('b', path.join(ws, 'a'));
    symlinkSync('../outside', path.join(ws, 'b'));
    const viaUp = pipelineOf(ws, [commandStep('up', 'true', { deps: ['up/outside/secret.txt'] })]);
    await assert.rejects(engine.start(viaUp), /through the symbolic link 'up' -> \.\./);
    const chain = pipelineOf(ws, [commandStep('chain', 'true', { outs: { o: 'a/x' } })]);
    await assert.rejects(engine.start(chain), /through the symbolic link 'a' -> b -> \.\.\/outside/);
    // A link that stays inside is fine.
    mkdirSync(path.join(ws, 'real'));
    symlinkSync('real', path.join(ws, 'alias'));
    assert.equal(assertWritableInside(ws, 'alias/x', 'x'), path.join(ws, 'alias', 'x'));
    assert.equal(assertInsideWorkspace(ws, 'alias', 'x').real, path.join(ws, 'real'));
    symlinkSync('loop2', path.join(ws, 'loop1'));
    symlinkSync('loop1', path.join(ws, 'loop2'));
    assert.throws(
      () => assertInsideWorkspace(ws, 'loop1/x', "dependency 'loop1/x'"),
      /loop of symbolic links starting at 'loop1'/,
    );
    assertOutsideUntouched();
  });

  test('a link a step creates in its output folder fails the step; the outside file is not copied', async () => {
    const p = pipelineOf(ws, [
      commandStep(
        'leak',
        `mkdir -p out && echo mine > out/own.txt && ln -s '${path.join(outside, 'secret.txt')}' out/leak`,
        { outs: { o: 'out' } },
      ),
    ]);
    const outcome = await engine.run(p);
    assert.equal(outcome.status, 'failed');
    assert.match(
      outcome.steps.leak?.error ?? '',
      /output 'o' of step 'leak' \(out\): the link out\/leak leaves the workspace .*secret\.txt/,
    );
    assertOutsideUntouched();
  });

  test('an output the step replaces by a link out of the workspace fails the step', async () => {
    const p = pipelineOf(ws, [
      commandStep('swap', `ln -s '${path.join(outside, 'secret.txt')}' o.txt`, { outs: { o: 'o.txt' } }),
    ]);
    const outcome = await engine.run(p);
    assert.equal(outcome.status, 'failed');
    assert.match(
      outcome.steps.swap?.error ?? '',
      /output 'o' of step 'swap' \(o\.txt\) leaves the workspace .*through the symbolic link 'o\.txt' ->/,
    );
    assertOutsideUntouched();
  });

  test('a link made by an earlier step of the run: old outputs are not removed through it', async () => {
    const p = pipelineOf(ws, [
      commandStep('mklink', `ln -sfn '${outside}' lnk`, { cache: false }),
      // Its output's old version would be removed before it runs: here, that would delete outside/x.
      commandStep('victim', 'true', { needs: ['mklink'], outs: { o: 'lnk/x' } }),
    ]);
    const outcome = await engine.run(p);
    assert.equal(outcome.status, 'failed');
    assert.match(
      outcome.steps.victim?.error ?? '',
      /output 'o' of step 'victim' \(lnk\/x\) leaves the workspace .*'lnk' ->/,
    );
    assertOutsideUntouched();
  });

  test('a restore from the cache does not write through a link that appeared since', async () => {
    const produce = commandStep('produce', 'mkdir -p res && echo cached > res/out.txt', { outs: { o: 'res/out.txt' } });
    assert.equal((await engine.run(pipelineOf(ws, [produce]))).status, 'succeeded');
    const p = pipelineOf(ws, [
      commandStep('mklink', `rm -rf res && ln -s '${outside}' res`, { cache: false }),
      { ...produce, needs: ['mklink'] },
    ]);
    const outcome = await engine.run(p);
    assert.equal(outcome.status, 'failed');
    assert.match(
      outcome.steps.produce?.error ?? '',
      /output 'o' of step 'produce' \(res\/out\.txt\) leaves the workspace .*'res' ->.*nothing outside was written/,
    );
    assertOutsideUntouched();
  });

  test('a folder manifest naming a path above its folder restores nothing', async () => {
    const file = await engine.objects.putBytes('payload\n');
    const evil = await engine.objects.putBytes(
      manifestText([{ path: '../../outside/x', hash: file, size: 8, executable: false }]),
    );
    await assert.rejects(engine.objects.restore(evil, 'dir', path.join(ws, 'restored')), /not a valid folder manifest/);
    assert.equal(existsSync(path.join(ws, 'restored')), false);
    assertOutsideUntouched();
  });

  test('an output that is itself a link is replaced by a regular file; its target stays as it was', async () => {
    symlinkSync(path.join(outside, 'out.txt'), path.join(ws, 'o.txt'));
    const outcome = await engine.run(
      pipelineOf(ws, [commandStep('plain', 'echo new > o.txt', { outs: { o: 'o.txt' } })]),
    );
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome.steps));
    assert.ok(lstatSync(path.join(ws, 'o.txt')).isFile());
    assert.equal(readFileSync(path.join(ws, 'o.txt'), 'utf8'), 'new\n');
    assertOutsideUntouched();
  });

  test('a link that changes between validate and run is caught by the run', async () => {
    write('data/in.csv', 'a\n1\n');
    write(
      'cairn.yaml',
      'version: 1\nsteps:\n  use:\n    run: cat data/in.csv > copy.csv\n' +
        '    deps: [data/in.csv]\n    outputs: { copy: copy.csv }\n',
    );
    const valid = loadPipeline('cairn.yaml', { cwd: ws, workspace: ws });
    assert.ok(valid.ok, JSON.stringify(valid));
    rmSync(path.join(ws, 'data'), { recursive: true });
    mkdirSync(path.join(outside, 'data'));
    writeFileSync(path.join(outside, 'data', 'in.csv'), `a\n2 ${top}\n`);
    before = checksum(outside);
    outsideContent = contentHashes(outside);
    symlinkSync(path.join(outside, 'data'), path.join(ws, 'data'));
    await assert.rejects(
      engine.start(valid.pipeline),
      /dependency 'data\/in.csv' of step 'use' leaves the workspace .*'data' ->/,
    );
    // Validating again now reports it at the path, as the editor does.
    const again = loadPipeline('cairn.yaml', { cwd: ws, workspace: ws });
    assert.equal(again.ok, false);
    const d = again.ok ? undefined : again.diagnostics.find((x) => x.code === 'path-escapes');
    assert.ok(d, JSON.stringify(again));
    assert.deepEqual(d.range, { start: { line: 4, character: 11 }, end: { line: 4, character: 22 } });
    assert.match(
      d.message,
      /'data\/in.csv' is read outside the workspace: it resolves to .* through the symbolic link 'data' ->/,
    );
    assertOutsideUntouched();
  });

  test('allow_outside: inputs outside are read, recorded and marked in lineage; writes stay refused', async () => {
    symlinkSync(path.join(outside, 'sub'), path.join(ws, 'shared'));
    write(
      'cairn.yaml',
      [
        'version: 1',
        'allow_outside: [' + path.join(outside, 'sub') + ']',
        'steps:',
        '  use:',
        '    run: cat shared/data.csv ' + path.join(outside, 'sub', 'data.csv') + ' > both.csv',
        '    deps: [shared/data.csv, ' + path.join(outside, 'sub', 'data.csv') + ']',
        '    outputs: { both: both.csv }',
        '',
      ].join('\n'),
    );
    const loaded = loadPipeline('cairn.yaml', { cwd: ws, workspace: ws });
    assert.ok(loaded.ok, JSON.stringify(loaded));
    assert.deepEqual(loaded.pipeline.allowOutside, [path.join(outside, 'sub')]);
    const outcome = await engine.run(loaded.pipeline);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome.steps));
    const tags = Object.fromEntries(
      (
        engine.store.db.prepare('SELECT key, value FROM tags WHERE run_id = ?').all(outcome.runId) as Array<{
          key: string;
          value: string;
        }>
      ).map((t) => [t.key, t.value]),
    );
    assert.deepEqual(JSON.parse(tags[outsideTags.allowed] ?? 'null'), [path.join(outside, 'sub')]);
    const read = JSON.parse(tags[outsideTags.read] ?? '[]') as Array<{ path: string; real: string }>;
    assert.deepEqual(
      read.map((r) => r.real),
      [path.join(outside, 'sub', 'data.csv'), path.join(outside, 'sub', 'data.csv')],
    );
    const graph = await lineage(engine.store, ws, String(outcome.runId));
    const marked = graph.nodes.filter((n) => n.outside !== undefined);
    assert.equal(marked.length, 2);
    assert.ok(marked.every((n) => n.outside === path.join(outside, 'sub', 'data.csv')));
    assert.equal(graph.nodes.find((n) => n.path === 'both.csv')?.outside, undefined);
    // The opt-in is for reads: an output below the allowed folder is still refused.
    const writes: ResolvedPipeline = {
      ...loaded.pipeline,
      steps: [commandStep('w', 'true', { outs: { o: 'shared/new.txt' } })],
    };
    await assert.rejects(engine.start(writes), /output 'o' of step 'w' \(shared\/new.txt\) leaves the workspace/);
    assertOutsideUntouched();
  });
});
