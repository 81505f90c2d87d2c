import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Position } from 'vscode-languageserver/node';
import { languageServices } from '../../language-server/src/services/registry.js';
import { fileUri, LspSession, messageOf } from './helpers/lspClient.js';

// Symbolic links on disk, seen by the language server through its own host: the same findings as `cairn run`, at the
// path's place in the file.

function at(text: string, needle: string, delta = 0): Position {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`test text lacks ${needle}`);
  const lines = text.slice(0, i + delta).split('\n');
  return { line: lines.length - 1, character: (lines[lines.length - 1] ?? '').length };
}

let top: string;
let ws: string;
let outside: string;
let session: LspSession;

before(async () => {
  top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-lsp-confine-')));
  ws = path.join(top, 'ws');
  outside = path.join(top, 'outside');
  fs.mkdirSync(path.join(outside, 'shared'), { recursive: true });
  fs.mkdirSync(ws);
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  fs.writeFileSync(path.join(outside, 'shared', 'data.csv'), 'a\n1\n');
  fs.writeFileSync(path.join(outside, 'cairn.yaml'), 'version: 1\nsteps:\n  s:\n    run: "true"\n');
  fs.symlinkSync(outside, path.join(ws, 'link'));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(ws, 'secret'));
  fs.symlinkSync('b', path.join(ws, 'a'));
  fs.symlinkSync('..', path.join(ws, 'b'));
  fs.mkdirSync(path.join(ws, 'real'));
  fs.symlinkSync('real', path.join(ws, 'alias'));
  session = await LspSession.start(languageServices(), { folders: [ws] });
});

after(async () => {
  await session.dispose();
  fs.rmSync(top, { recursive: true, force: true });
});

describe('symbolic links out of the workspace, in the editor', () => {
  test('outputs, dependencies and chains through links are reported at the path, naming the link', async () => {
    const text = [
      'version: 1',
      'steps:',
      '  write:',
      '    run: echo hi > link/x',
      '    outputs: { o: link/x }',
      '  read:',
      '    run: cat secret',
      '    deps: [secret, a/outside/secret.txt, alias/fine.txt]',
      '    outputs: { ok: alias/out.txt }',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(ws, 'real', 'fine.txt'), 'ok\n');
    const uri = fileUri(path.join(ws, 'cairn.yaml'));
    const p = await session.open(uri, text, 'cairn-pipeline');
    const escapes = p.diagnostics.filter((d) => d.code === 'path-escapes');
    assert.deepEqual(
      escapes.map((d) => d.range),
      [
        { start: at(text, 'link/x }'), end: at(text, 'link/x }', 6) },
        { start: at(text, 'secret,'), end: at(text, 'secret,', 6) },
        { start: at(text, 'a/outside'), end: at(text, 'a/outside/secret.txt', 20) },
      ],
      p.diagnostics.map((d) => `${String(d.code)}: ${messageOf(d)}`).join('\n'),
    );
    assert.match(
      messageOf(escapes[0]!),
      new RegExp(
        "^'link/x' is written outside the workspace: it resolves to .*outside/x " +
          "through the symbolic link 'link' -> .*outside\\. Replace the link",
      ),
    );
    assert.match(
      messageOf(escapes[1]!),
      /^'secret' is read outside the workspace: .*'secret' -> .*secret\.txt\. .*allow_outside/,
    );
    assert.match(messageOf(escapes[2]!), /through the symbolic link 'a' -> b -> \.\./);
  });

  test('allow_outside lets a read through a link pass, and is completed and documented on hover', async () => {
    const text = [
      'version: 1',
      `allow_outside: [${path.join(outside, 'shared')}]`,
      'steps:',
      '  read:',
      '    run: cat link/shared/data.csv',
      '    deps: [link/shared/data.csv, link/secret.txt]',
      '',
    ].join('\n');
    const uri = fileUri(path.join(ws, 'allowed.cairn.yaml'));
    const p = await session.open(uri, text, 'cairn-pipeline');
    const escapes = p.diagnostics.filter((d) => d.code === 'path-escapes');
    assert.deepEqual(
      escapes.map((d) => d.range),
      [{ start: at(text, 'link/secret.txt'), end: at(text, 'link/secret.txt', 15) }],
      p.diagnostics.map((d) => `${String(d.code)}: ${messageOf(d)}`).join('\n'),
    );
    const hover = await session.hover(uri, at(text, 'allow_outside', 2));
    assert.match(JSON.stringify(hover?.contents ?? ''), /Read-only inputs outside the workspace/);
  });

  test('a model card whose cairn.pipeline goes through a link out of the workspace', async () => {
    const text = '---\nlicense: mit\ncairn:\n  pipeline: link/cairn.yaml\n---\n# Model\n';
    const uri = fileUri(path.join(ws, 'MODEL_CARD.md'));
    const p = await session.open(uri, text, 'cairn-model-card');
    const d = p.diagnostics.find((x) => x.code === 'card/link-escapes');
    assert.ok(d, p.diagnostics.map((x) => `${String(x.code)}: ${messageOf(x)}`).join('\n'));
    assert.deepEqual(d.range, { start: at(text, 'link/cairn.yaml'), end: at(text, 'link/cairn.yaml', 15) });
    assert.match(messageOf(d), /through the symbolic link 'link' ->/);
  });

  test('a link replaced by a real folder clears the finding on the next check', async () => {
    const text = 'version: 1\nsteps:\n  w:\n    run: echo hi > moved/x\n    outputs: { o: moved/x }\n';
    fs.symlinkSync(outside, path.join(ws, 'moved'));
    const uri = fileUri(path.join(ws, 'moved.cairn.yaml'));
    const first = await session.open(uri, text, 'cairn-pipeline');
    assert.deepEqual(
      first.diagnostics.map((d) => d.code),
      ['path-escapes'],
    );
    fs.unlinkSync(path.join(ws, 'moved'));
    fs.mkdirSync(path.join(ws, 'moved'));
    const again = await session.change(uri, [{ text: `${text}# checked again\n` }]);
    assert.deepEqual(
      again.diagnostics.map((d) => d.code),
      [],
    );
  });
});
