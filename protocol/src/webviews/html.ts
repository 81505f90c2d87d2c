/**
 * The HTML shell of every Cairn webview and its Content-Security-Policy: the contract between the extension (which
 * serves it) and the bundles (which must run under it). Pure, so the Chromium tests load the views through the very
 * same document.
 */
export interface WebviewHtmlOptions {
  title: string;
  /** URI of dist/webviews/<view>.js as the webview sees it (`webview.asWebviewUri`). */
  scriptUri: string;
  /** URI of dist/webviews/<view>.css. */
  styleUri: string;
  /** `webview.cspSource`: the origin the bundles are served from. */
  cspSource: string;
  nonce: string;
}

/** A fresh nonce per document: only scripts carrying it run. Web Crypto, so it works in Node and browsers. */
export function makeNonce(): string {
  const bytes = new Uint8Array(18);
  globalThis.crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/**
 * Strict CSP: nothing by default; scripts only with the nonce (no 'unsafe-eval', no 'unsafe-inline'); styles from the
 * bundle's origin or with the nonce; images from the bundle or data: URIs (canvas exports). No network access.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderWebviewHtml(o: WebviewHtmlOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeAttr(o.title)}</title>
<link rel="stylesheet" href="${escapeAttr(o.styleUri)}">
</head>
<body>
<main id="root"></main>
<script nonce="${escapeAttr(o.nonce)}" src="${escapeAttr(o.scriptUri)}"></script>
</body>
</html>
`;
}
