import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploymentSchema, serveHealthSchema, serveStartedSchema, type ServeStarted } from '@cairn/protocol';
import type { CliIo } from '../../../runtime/src/cli/command.js';
import { UsageError } from '../../../runtime/src/cli/command.js';
import { runServe } from '../../../runtime/src/cli/commands/serve.js';
import { ObjectStore } from '../../../runtime/src/cas/objectStore.js';
import { listDeployments } from '../../../runtime/src/deploy/status.js';
import { ModelRegistry } from '../../../runtime/src/registry/registry.js';
import { challengerShare } from '../../../runtime/src/serve/index.js';
import { Store } from '../../../runtime/src/store/store.js';
import { MODEL_A, MODEL_B, writeOnnxModel } from './fixture.js';

// `cairn serve` run in-process (the command itself, with its stop signal injected) against pipelines whose deploy:
// block gives the host/port and the A/B arms, split and key: flag > pipeline > built-in default; a bad block is
// refused with its file and line.

const TOKEN = 'pipeline-token-0123456789';
const ws = mkdtempSync(join(tmpdir(), 'cairn-serve-pipeline-'));
let store: Store;

/** A port nothing listens on right now (the pipeline needs a fixed one; 0 is not a valid `deploy.serve.port`). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Served {
  /** The first stdout line (json: the listening line or the error), or all of the text block. */
  first: Promise<string>;
  /** The command's exit code (after `stop`, or at once when it refuses). */
  done: Promise<number>;
  stop: () => Promise<number>;
  stdout: () => string;
  stderr: () => string;
}

function serve(args: string[], cwd = ws): Served {
  let out = '';
  let err = '';
  let release: () => void = () => undefined;
  const stop = new Promise<void>((resolve) => (release = resolve));
  let gotLine: (line: string) => void = () => undefined;
  const first = new Promise<string>((resolve) => (gotLine = resolve));
  const io: CliIo = {
    cwd,
    isTty: false,
    // The text banner is written in one call: the first line's arrival means the whole block is there.
    stdout: (t) => {
      out += t;
      if (out.includes('\n')) gotLine(args.includes('json') ? (out.split('\n')[0] ?? '') : out);
    },
    stderr: (t) => (err += t),
  };
  const done = runServe(args, io, () => stop);
  return {
    first,
    done,
    stop: () => {
      release();
      return done;
    },
    stdout: () => out,
    stderr: () => err,
  };
}

/** The exit code of a command expected to refuse; one that listens instead is stopped and reported as 'listened'. */
function refused(s: Served): Promise<number | string> {
  return Promise.race([
    s.done,
    s.first.then(async (line) => (line.startsWith('{"error"') ? s.done : (await s.stop(), `listened: ${line}`))),
  ]);
}

async function started(s: Served): Promise<ServeStarted> {
  const line = await Promise.race([s.first, s.done.then((code) => `exited ${code}: ${s.stderr()}`)]);
  return serveStartedSchema.parse(JSON.parse(line));
}

const auth = { authorization: `Bearer ${TOKEN}` };

function pipeline(file: string, deploy: string, registerName = 'credit'): string {
  const text = `version: 1
name: credit
steps:
  register:
    uses: model.register
    with:
      model: a.onnx
      name: ${registerName}
deploy:
  model: a.onnx
${deploy}`;
  writeFileSync(join(ws, file), text);
  return text;
}

describe('cairn serve takes its defaults from a pipeline deploy: block', () => {
  before(async () => {
    const a = writeOnnxModel(ws, 'a', MODEL_A);
    const b = writeOnnxModel(ws, 'b', MODEL_B);
    store = new Store(join(ws, '.cairn', 'cairn.db'));
    const registry = new ModelRegistry(store, new ObjectStore(join(ws, '.cairn')), ws);
    await registry.register({
      name: 'credit',
      model: a,
      alias: 'champion',
      runId: null,
      stepRunId: null,
      step: null,
      actor: 'test',
    });
    await registry.register({
      name: 'credit',
      model: b,
      alias: 'challenger',
      runId: null,
      stepRunId: null,
      step: null,
      actor: 'test',
    });
  });
  after(async () => {
    await store.close();
    rmSync(ws, { recursive: true, force: true });
  });

  test('deploy.serve gives host and port; --port wins over it; the listening line and the banner say where they came from', async () => {
    const port = await freePort();
    pipeline('serve.cairn.yaml', `  serve: { host: 127.0.0.1, port: ${port} }\n`);
    const s = serve(['--model', 'a.onnx', '--pipeline', 'serve.cairn.yaml', '--token', TOKEN, '--format', 'json']);
    const line = await started(s);
    assert.equal(line.url, `http://127.0.0.1:${port}`);
    assert.deepEqual(line.pipeline, { file: join(ws, 'serve.cairn.yaml'), found: false, settings: ['host', 'port'] });
    assert.equal((await fetch(`${line.url}/health`, { headers: auth })).status, 200);
    assert.equal(await s.stop(), 0);

    const flagged = serve([
      '--model',
      'a.onnx',
      '--pipeline',
      'serve.cairn.yaml',
      '--port',
      '0',
      '--token',
      TOKEN,
      '--format',
      'json',
    ]);
    const other = await started(flagged);
    assert.notEqual(new URL(other.url).port, String(port), '--port 0 picked a free port instead of the pipeline one');
    assert.deepEqual(other.pipeline?.settings, ['host'], 'only the host came from the pipeline');
    assert.equal(await flagged.stop(), 0);

    const text = serve(['--model', 'a.onnx', '--pipeline', 'serve.cairn.yaml', '--token', TOKEN]);
    const banner = await Promise.race([text.first, text.done.then((code) => `exited ${code}: ${text.stderr()}`)]);
    assert.match(banner, new RegExp(`^Serving .* at http://127\\.0\\.0\\.1:${port}$`, 'm'));
    assert.match(
      banner,
      new RegExp(
        `^  From serve\\.cairn\\.yaml: host 127\\.0\\.0\\.1, port ${port} \\(deploy\\.serve\\)\\. Flags override these\\.$`,
        'm',
      ),
    );
    assert.equal(await text.stop(), 0);
  });

  test('deploy.ab: the arms are NAME@champion / NAME@challenger of the model.register name, with its split and key; flags win', async () => {
    pipeline('ab.cairn.yaml', '  ab:\n    split: { champion: 0.7, challenger: 0.3 }\n    key: customer\n');
    const s = serve([
      '--pipeline',
      'ab.cairn.yaml',
      '--port',
      '0',
      '--token',
      TOKEN,
      '--format',
      'json',
      '--workspace',
      ws,
    ]);
    const line = await started(s);
    assert.deepEqual(line.model.registered, { name: 'credit', version: 1 });
    assert.deepEqual(
      [line.challenger?.model.registered, line.challenger?.split, line.challenger?.key],
      [{ name: 'credit', version: 2 }, 0.3, 'customer'],
    );
    assert.deepEqual(line.pipeline?.settings, ['model', 'challenger', 'split', 'key']);
    const health = serveHealthSchema.parse(await (await fetch(`${line.url}/health`, { headers: auth })).json());
    assert.deepEqual([health.challenger?.split, health.challenger?.key], [0.3, 'customer']);
    // Each customer goes to the arm its key hashes to under the pipeline's 0.3.
    const arms = { champion: 0, challenger: 0 };
    for (let i = 0; i < 40; i++) {
      const customer = `c${i}`;
      const res = await fetch(`${line.url}/invocations`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ dataframe_records: [{ customer, age: 30 + i, city: 'paris', score: 0.25 }] }),
      });
      assert.equal(res.status, 200);
      const arm = res.headers.get('x-cairn-arm');
      assert.equal(arm, challengerShare(customer) < 0.3 ? 'challenger' : 'champion', customer);
      arms[arm]++;
    }
    assert.ok(arms.champion > 0 && arms.challenger > 0, `both arms answered (${JSON.stringify(arms)})`);
    const row = deploymentSchema.parse(
      (await listDeployments(store, { name: 'credit' })).find((d) => d.id === line.deploymentId),
    );
    assert.deepEqual(
      [row.ref, row.challenger?.ref, row.challenger?.split, row.challenger?.key],
      ['credit@champion', 'credit@challenger', 0.3, 'customer'],
    );
    assert.equal(await s.stop(), 0);

    const flagged = serve([
      '--pipeline',
      'ab.cairn.yaml',
      '--split',
      '0.5',
      '--key',
      'city',
      '--challenger',
      'credit@1',
      '--port',
      '0',
      '--token',
      TOKEN,
      '--format',
      'json',
      '--workspace',
      ws,
    ]);
    const f = await started(flagged);
    assert.deepEqual(
      [f.challenger?.model.registered?.version, f.challenger?.split, f.challenger?.key],
      [1, 0.5, 'city'],
    );
    assert.deepEqual(f.pipeline?.settings, ['model'], 'flags gave the challenger, split and key');
    assert.equal(await flagged.stop(), 0);

    // --model without --challenger: one model, and the banner says deploy.ab was not used.
    const single = serve([
      '--model',
      'credit@champion',
      '--pipeline',
      'ab.cairn.yaml',
      '--port',
      '0',
      '--token',
      TOKEN,
      '--workspace',
      ws,
    ]);
    const banner = await Promise.race([single.first, single.done.then((code) => `exited ${code}: ${single.stderr()}`)]);
    assert.doesNotMatch(banner, /Challenger/);
    assert.match(banner, /ab\.cairn\.yaml's deploy\.ab is not used: --model was given without --challenger/);
    assert.equal(await single.stop(), 0);
  });

  test('without --model and --pipeline the workspace cairn.yaml is used, and the output says so', async () => {
    const dir = mkdtempSync(join(ws, 'found-'));
    writeFileSync(join(dir, 'a.onnx'), '');
    writeFileSync(
      join(dir, 'cairn.yaml'),
      'version: 1\nsteps:\n  register:\n    uses: model.register\n    with: { model: a.onnx, name: credit }\ndeploy:\n  model: a.onnx\n  ab: { split: { champion: 0.9, challenger: 0.1 } }\n',
    );
    // The models come from the registry of --workspace; the pipeline is the one found in the current folder's workspace.
    const s = serve(['--port', '0', '--token', TOKEN, '--format', 'json'], dir);
    const code = await Promise.race([s.done, s.first.then(() => -1)]);
    assert.equal(code, 1, 'dir has no registry: refused rather than served');
    assert.match(
      s.stderr(),
      /cairn\.yaml's deploy\.ab arm credit@champion: no file of that name, and .* has no model registry/,
    );
    rmSync(join(ws, 'cairn.yaml'), { force: true });
    writeFileSync(
      join(ws, 'cairn.yaml'),
      'version: 1\nsteps:\n  register:\n    uses: model.register\n    with: { model: a.onnx, name: credit }\ndeploy:\n  model: a.onnx\n  ab: { split: { champion: 0.9, challenger: 0.1 } }\n',
    );
    const found = serve(['--port', '0', '--token', TOKEN]);
    const banner = await Promise.race([found.first, found.done.then((c) => `exited ${c}: ${found.stderr()}`)]);
    assert.match(banner, /^  Challenger credit version 2 .* gets 10\.0% of keys/m);
    assert.match(
      banner,
      /^  From cairn\.yaml \(found in the workspace; --pipeline FILE names another\): champion credit@champion, challenger credit@challenger/m,
    );
    assert.equal(await found.stop(), 0);
    rmSync(join(ws, 'cairn.yaml'));
  });

  test('a deploy.ab that cannot map to champion/challenger, or whose shares do not add up to 1, is refused with file:line:col', async () => {
    const text = pipeline('bad-sum.cairn.yaml', '  ab:\n    split: { champion: 0.7, challenger: 0.2 }\n');
    const line = text.split('\n').findIndex((l) => l.includes('split:')) + 1;
    const col = (text.split('\n')[line - 1]?.indexOf('{') ?? 0) + 1;
    const s = serve(['--pipeline', 'bad-sum.cairn.yaml', '--port', '0', '--token', TOKEN, '--workspace', ws]);
    assert.equal(await refused(s), 1);
    assert.match(
      s.stderr(),
      new RegExp(
        `^bad-sum\\.cairn\\.yaml:${line}:${col}: error ab-split: deploy\\.ab\\.split shares add up to 0\\.9, not 1`,
        'm',
      ),
    );
    // The language checks the split (code ab-split), so the loader refuses it and `cairn validate` names it too.
    assert.match(
      s.stderr(),
      /cairn serve: bad-sum\.cairn\.yaml cannot give the serving settings; nothing was served \(`cairn validate bad-sum\.cairn\.yaml` checks it again\)$/m,
    );
    assert.equal(s.stdout(), '', 'nothing listened');

    pipeline('bad-alias.cairn.yaml', '  ab:\n    split:\n      production: 0.5\n      staging: 0.5\n');
    const json = serve([
      '--pipeline',
      'bad-alias.cairn.yaml',
      '--port',
      '0',
      '--token',
      TOKEN,
      '--workspace',
      ws,
      '--format',
      'json',
    ]);
    assert.equal(await refused(json), 1);
    const refusal = JSON.parse(json.stdout()) as {
      error: string;
      diagnostics: Array<{ file: string; range: { start: { line: number } } }>;
    };
    assert.match(
      refusal.error,
      /^bad-alias\.cairn\.yaml is not valid: bad-alias\.cairn\.yaml:13:7: error ab-split: deploy\.ab\.split names production, staging: .*one of them champion or challenger/,
    );
    assert.deepEqual(
      refusal.diagnostics.map((d) => [d.file, d.range.start.line]),
      [['bad-alias.cairn.yaml', 12]],
    );

    pipeline('three.cairn.yaml', '  ab:\n    split:\n      champion: 0.5\n      challenger: 0.3\n      shadow: 0.2\n');
    const three = serve(['--pipeline', 'three.cairn.yaml', '--port', '0', '--token', TOKEN, '--workspace', ws]);
    assert.equal(await refused(three), 1);
    assert.match(
      three.stderr(),
      /^three\.cairn\.yaml:15:7: error ab-split: deploy\.ab\.split names champion, challenger, shadow/m,
    );

    // A pipeline the loader refuses: its own diagnostics, with positions.
    pipeline('broken.cairn.yaml', '  serve: { port: "eighty" }\n');
    const broken = serve(['--model', 'a.onnx', '--pipeline', 'broken.cairn.yaml', '--token', TOKEN]);
    assert.equal(await refused(broken), 1);
    assert.match(broken.stderr(), /^broken\.cairn\.yaml:11:\d+: error wrong-type: /m);
    assert.match(broken.stderr(), /nothing was served \(`cairn validate broken\.cairn\.yaml` checks it again\)$/m);
  });

  test('usage: --pipeline without deploy:, a missing file, and no name for the arms keep --model required and say why', async () => {
    writeFileSync(join(ws, 'plain.cairn.yaml'), 'version: 1\nsteps:\n  s:\n    run: echo hi\n');
    await assert.rejects(
      serve(['--model', 'a.onnx', '--pipeline', 'plain.cairn.yaml']).done,
      (e: Error) => e instanceof UsageError && /plain\.cairn\.yaml has no deploy: block/.test(e.message),
    );
    await assert.rejects(
      serve(['--model', 'a.onnx', '--pipeline', 'nope.cairn.yaml']).done,
      (e: Error) => e instanceof UsageError && /nope\.cairn\.yaml does not exist/.test(e.message),
    );
    pipeline('noab.cairn.yaml', '  serve: { port: 8081 }\n');
    await assert.rejects(
      serve(['--pipeline', 'noab.cairn.yaml']).done,
      (e: Error) =>
        e instanceof UsageError &&
        /--model is required.*noab\.cairn\.yaml's deploy: block has no ab: split naming the arms/.test(e.message),
    );
    // Two registered names, and deploy.model is neither step's model: no guess.
    writeFileSync(
      join(ws, 'noname.cairn.yaml'),
      'version: 1\nsteps:\n  one:\n    uses: model.register\n    with: { model: a.onnx, name: credit }\n  two:\n    uses: model.register\n    with: { model: b.onnx, name: other }\n' +
        'deploy:\n  model: b.onnx.copy\n  ab: { split: { champion: 0.5, challenger: 0.5 } }\n',
    );
    await assert.rejects(
      serve(['--pipeline', 'noname.cairn.yaml']).done,
      (e: Error) =>
        e instanceof UsageError &&
        /--model is required.*NAME@champion \/ NAME@challenger, but noname\.cairn\.yaml registers several models \(credit, other\)/.test(
          e.message,
        ),
    );
  });
});
