import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { workspaceConfigKeys, workspaceConfigKeyTable } from '@cairn/protocol/config.js';
import type { Diagnostic } from 'vscode-languageserver/node';
import { languageServices } from '../../language-server/src/services/registry.js';
import { ConfigError, parseWorkspaceConfig } from '../../runtime/src/config/workspace.js';
import { applyEdits, fileUri, LspSession, messageOf } from './helpers/lspClient.js';
import { at } from './pipeline/session.js';

// `.cairn/config.yaml` through the protocol with the real service: findings from the schema the runtime reads the file
// with (same keys, same lines), completion of keys and choices, hover with each key's description.

let dir: string;
let session: LspSession;
let uri: string;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-lsp-config-'));
  fs.mkdirSync(path.join(dir, '.cairn'));
  session = await LspSession.start(languageServices(), { folders: [dir] });
  uri = fileUri(path.join(dir, '.cairn', 'config.yaml'));
});
after(async () => {
  await session.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

const clean = `store:
  url: postgres://alice@db.example:5432/cairn?sslmode=require
remote:
  url: /mnt/team/cairn
  push: auto
executor: slurm
slurm:
  partition: gpu
  time: "1:00:00"
  extra_args: [--gres=gpu:1]
export:
  image: ghcr.io/acme/cairn:1
`;

let opened = false;
async function check(text: string): Promise<Diagnostic[]> {
  if (!opened) {
    opened = true;
    return (await session.open(uri, text, 'yaml')).diagnostics;
  }
  return (await session.change(uri, [{ text }])).diagnostics;
}

const summary = (d: Diagnostic): string => `${String(d.code)} ${d.range.start.line}:${d.range.start.character}`;

/** The runtime's reading of the same text: its error line (1-based), or undefined when it accepts the file. */
function runtimeLine(text: string): number | undefined {
  try {
    parseWorkspaceConfig(text, 'config.yaml');
    return undefined;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return Number(/^config\.yaml:(\d+):/.exec(error.message)?.[1]);
  }
}

describe('.cairn/config.yaml through the language server', () => {
  test('a complete, correct file has no findings, and the runtime accepts it too', async () => {
    assert.deepEqual((await check(clean)).map(summary), []);
    assert.equal(runtimeLine(clean), undefined);
  });

  test('schema findings sit on the key or value the runtime names, with did-you-mean fixes', async () => {
    const cases: Array<{ text: string; code: string; needle: string; message: RegExp; fix?: string }> = [
      { text: 'stor:\n  url: x.db\n', code: 'config/unknown-key', needle: 'stor', message: /did you mean 'store'/ },
      {
        text: 'store:\n  uri: x.db\n',
        code: 'config/unknown-key',
        needle: 'uri',
        message: /Unknown key 'uri' in store: did you mean 'url'/,
        fix: 'store:\n  url: x.db\n',
      },
      {
        text: 'executor: slrum\n',
        code: 'config/bad-value',
        needle: 'slrum',
        message: /'slrum' is not one of local, slurm: did you mean 'slurm'/,
        fix: 'executor: slurm\n',
      },
      {
        text: 'remote:\n  url: /mnt/x\n  push: never\n',
        code: 'config/bad-value',
        needle: 'never',
        message: /remote\.push: 'never' is not one of auto, off/,
      },
      {
        text: 'store: postgres://db/cairn\n',
        code: 'config/wrong-type',
        needle: 'postgres',
        message: /store: expected a section of keys/,
      },
      {
        text: 'slurm:\n  extra_args: --gres=gpu:1\n',
        code: 'config/wrong-type',
        needle: '--gres',
        message: /slurm\.extra_args: expected a list of strings, found string/,
      },
      {
        text: 'slurm:\n  time: one hour\n',
        code: 'config/bad-value',
        needle: 'one hour',
        message: /slurm\.time: .*Slurm syntax/,
      },
    ];
    for (const c of cases) {
      const found = await check(c.text);
      assert.deepEqual(found.map(summary), [
        `${c.code} ${at(c.text, c.needle).line}:${at(c.text, c.needle).character}`,
      ]);
      const d = found[0];
      assert.ok(d);
      assert.equal(d.severity, 1);
      assert.match(messageOf(d), c.message);
      // The same schema: the runtime refuses the file at the same line.
      assert.equal(runtimeLine(c.text), d.range.start.line + 1, c.text);
      if (c.fix !== undefined) {
        const actions = await session.codeActions(uri, d.range, [d]);
        const edits = actions[0]?.edit?.changes?.[uri];
        assert.ok(edits, `a quick fix for ${c.text}`);
        assert.equal(applyEdits(c.text, edits), c.fix);
      }
    }
  });

  test('store.url: neither a postgres:// URL nor a path is an error; a written password is a warning with a fix', async () => {
    const mysql = 'store:\n  url: mysql://db/cairn\n';
    const [scheme] = await check(mysql);
    assert.ok(scheme);
    assert.equal(scheme.code, 'config/store-url');
    assert.match(messageOf(scheme), /mysql:\/\/ is not supported; write postgres:\/\//);
    assert.deepEqual(scheme.range.start, at(mysql, 'mysql'));

    const badPort = 'store:\n  url: postgres://alice@db:port/cairn\n';
    assert.deepEqual((await check(badPort)).map(summary), [`config/store-url ${at(badPort, 'postgres').line}:7`]);

    assert.deepEqual((await check('store:\n  url: ../shared/cairn.db\n')).map(summary), []);

    const secret = 'store:\n  url: "postgres://alice:s3cret@db:5432/cairn"\n';
    const found = await check(secret);
    assert.equal(found.length, 1);
    const w = found[0];
    assert.ok(w);
    assert.equal(w.code, 'config/store-password');
    assert.equal(w.severity, 2);
    assert.match(messageOf(w), /CAIRN_STORE_URL.*Set Store Password/);
    const actions = await session.codeActions(uri, w.range, [w]);
    const edits = actions[0]?.edit?.changes?.[uri];
    assert.ok(edits);
    assert.equal(applyEdits(secret, edits), 'store:\n  url: "postgres://alice@db:5432/cairn"\n');
  });

  test('YAML that does not parse is reported at its position', async () => {
    const broken = 'store:\n  url: x.db\nstore:\n  url: y.db\n';
    const found = await check(broken);
    assert.ok(found.length > 0);
    assert.ok(found.every((d) => d.code === 'config/yaml'));
    assert.equal(found[0]?.range.start.line, 2);
    assert.equal(runtimeLine(broken), 3);
  });

  test('completion offers the keys not yet written, section keys, and executor choices', async () => {
    const top = 'executor: local\n\n';
    await check(top);
    const keys = (await session.completion(uri, { line: 1, character: 0 })).map((i) => i.label);
    assert.deepEqual(keys, ['store', 'remote', 'slurm', 'export']);

    const nested = 'slurm:\n  partition: gpu\n  \n';
    await check(nested);
    const slurmKeys = (await session.completion(uri, { line: 2, character: 2 })).map((i) => i.label);
    assert.deepEqual(slurmKeys, ['account', 'qos', 'time', 'extra_args']);

    const value = 'executor: \n';
    await check(value);
    const values = await session.completion(uri, { line: 0, character: 'executor: '.length });
    assert.deepEqual(
      values.map((i) => i.label),
      ['local', 'slurm'],
    );
  });

  test("hover shows a key's description from the schema", async () => {
    await check(clean);
    for (const key of ['executor', 'partition']) {
      const h = await session.hover(uri, at(clean, key, 1));
      const want = workspaceConfigKeys.find((k) => k.path.endsWith(key))?.description;
      assert.ok(want);
      assert.ok(JSON.stringify(h?.contents).includes(JSON.stringify(want).slice(1, 20)), JSON.stringify(h?.contents));
    }
    assert.equal(await session.hover(uri, at(clean, 'gpu', 1)), null);
  });

  test('a config.yaml outside .cairn/ is not ours', async () => {
    const other = fileUri(path.join(dir, 'config.yaml'));
    await session.openQuietly(other, 'executor: slrum\n', 'yaml');
    assert.equal(await session.hover(other, { line: 0, character: 2 }), null);
    assert.deepEqual(await session.completion(other, { line: 0, character: 10 }), []);
  });

  test('the key table in docs/team.md is the one generated from the schema descriptions', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'team.md'), 'utf8');
    assert.ok(doc.includes(workspaceConfigKeyTable()), 'regenerate the table with workspaceConfigKeyTable()');
  });
});
