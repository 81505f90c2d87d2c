import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentSecurityPolicy, makeNonce, renderWebviewHtml } from '@cairn/protocol';

test('the webview CSP allows only nonce scripts and no eval, inline script or remote origin', () => {
  const csp = contentSecurityPolicy('https://x.vscode-cdn.net', 'abc');
  assert.match(csp, /^default-src 'none'; /);
  assert.match(csp, /script-src 'nonce-abc'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-eval|unsafe-inline|\*/);
});

test('the HTML loads one nonce script and the stylesheet from the webview origin, escaping attributes', () => {
  const html = renderWebviewHtml({
    title: 'Compare <runs>',
    scriptUri: 'https://o/compare.js',
    styleUri: 'https://o/compare.css',
    cspSource: 'https://o',
    nonce: 'n1',
  });
  assert.equal(html.match(/<script /g)?.length, 1);
  assert.match(html, /<script nonce="n1" src="https:\/\/o\/compare.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="https:\/\/o\/compare.css">/);
  assert.match(html, /<title>Compare &lt;runs&gt;<\/title>/);
});

test('nonces are fresh and long enough', () => {
  const a = makeNonce();
  assert.notEqual(a, makeNonce());
  assert.ok(a.length >= 24 && /^[A-Za-z0-9_-]+$/.test(a));
});
