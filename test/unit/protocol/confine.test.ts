import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  confinePath,
  confineWrite,
  describeEscape,
  realPathOf,
  type Confinement,
  type LinkReader,
} from '@cairn/protocol';

// The pure decision, with the links given as a table (the runtime and the editor inject their file systems).

const reader = (links: Record<string, string>): LinkReader => ({ readLink: (abs) => links[abs] });

function escape(r: Confinement): Extract<Confinement, { kind: 'outside' | 'allowed' }> {
  assert.notEqual(r.kind, 'inside', JSON.stringify(r));
  return r as Extract<Confinement, { kind: 'outside' | 'allowed' }>;
}

test('plain paths, and links that stay inside, are inside', () => {
  const fs = reader({ '/ws/alias': 'real', '/ws/real/deep': '../other' });
  assert.deepEqual(confinePath('/ws', 'data/x.csv', fs), { kind: 'inside', real: '/ws/data/x.csv', root: '/ws' });
  assert.equal(confinePath('/ws', 'alias/x', fs).real, '/ws/real/x');
  assert.equal(confinePath('/ws', 'alias/deep/y', fs).real, '/ws/other/y');
});

test('a folder link out names the link; a missing file below it is still seen as outside', () => {
  const r = escape(confinePath('/ws', 'link/not-yet-written', reader({ '/ws/link': '/data' })));
  assert.equal(r.kind, 'outside');
  assert.equal(r.real, '/data/not-yet-written');
  assert.deepEqual(r.links, [{ link: '/ws/link', target: '/data' }]);
  assert.equal(describeEscape(r), "resolves to /data/not-yet-written through the symbolic link 'link' -> /data");
});

test('.. after a link goes up from where the link led, as the kernel does', () => {
  const fs = reader({ '/ws/out': '/data/x' });
  // confinePath normalizes the text first (the runtime opens path.resolve'd paths); the walk itself is physical.
  assert.equal(confinePath('/ws', 'out/../c', fs).real, '/ws/c');
  assert.equal(realPathOf('/ws/out/../c', fs).real, '/data/c');
  const up = escape(confinePath('/ws', 'up/secret', reader({ '/ws/up': '..' })));
  assert.equal(up.real, '/secret');
  assert.equal(describeEscape(up), "resolves to /secret through the symbolic link 'up' -> ..");
});

test('chains are shown whole, from the first link inside the workspace; links above the root are not blamed', () => {
  // The workspace itself is reached through a link (/tmp -> /private/tmp): that is not an escape.
  const fs = reader({ '/tmp': '/private/tmp', '/private/tmp/ws/a': 'b', '/private/tmp/ws/b': '/data' });
  assert.equal(confinePath('/tmp/ws', 'x', fs).kind, 'inside');
  const r = escape(confinePath('/tmp/ws', 'a/x', fs));
  assert.equal(r.root, '/private/tmp/ws');
  assert.equal(describeEscape(r), "resolves to /data/x through the symbolic link 'a' -> b -> /data");
});

test('loops stop after 40 links', () => {
  const r = escape(confinePath('/ws', 'l1/x', reader({ '/ws/l1': 'l2', '/ws/l2': 'l1' })));
  assert.equal(r.kind === 'outside' && r.loop, true);
  assert.match(describeEscape(r), /loop of symbolic links starting at 'l1'/);
});

test('allow_outside folders, themselves resolved, admit reads below them only', () => {
  const fs = reader({ '/ws/shared': '/mnt/shared/data', '/mnt/shared': '/srv/nfs' });
  const r = escape(confinePath('/ws', 'shared/x.csv', fs, { allowed: ['/mnt/shared'] }));
  assert.equal(r.kind, 'allowed');
  assert.equal(r.real, '/srv/nfs/data/x.csv');
  assert.equal(confinePath('/ws', 'shared/x.csv', fs, { allowed: ['/mnt/other'] }).kind, 'outside');
  assert.equal(confinePath('/ws', '/mnt/shared/data/y', fs, { allowed: ['/mnt/shared'] }).kind, 'allowed');
});

test('a written path: its folder is confined and the last part (replaced, not followed) may be a link', () => {
  const fs = reader({ '/ws/o.txt': '/etc/passwd', '/ws/link': '/data' });
  assert.deepEqual(confineWrite('/ws', 'o.txt', fs), { kind: 'inside', real: '/ws/o.txt', root: '/ws' });
  const r = escape(confineWrite('/ws', 'link/o.txt', fs));
  assert.equal(r.real, '/data/o.txt');
  assert.equal(escape(confineWrite('/ws', '../o.txt', fs)).real, '/o.txt');
});
