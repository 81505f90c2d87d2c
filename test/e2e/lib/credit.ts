/** The credit sample made quick for the end-to-end tests (the Playwright deploy journeys and the extension-host suite). */

function replaceOnce(text: string, from: RegExp, to: string, what: string): string {
  if (!from.test(text))
    throw new Error(`samples/credit/cairn.yaml no longer has ${what} (${String(from)}): update test/e2e/lib/credit.ts`);
  return text.replace(from, to);
}

/**
 * The credit pipeline made quick for the end-to-end tests: `epochs` lowered, and the models trained only for comparison
 * (steps `mlp`, `evaluate-mlp`, `gbdt` and `evaluate-gbdt`, each running to the next blank line) removed.
 */
export function quickCreditPipeline(yaml: string, epochs: number): string {
  let out = replaceOnce(yaml, /^(\s+epochs:) \d+/m, `$1 ${epochs}`, 'an `epochs:` param');
  for (const step of ['mlp', 'evaluate-mlp', 'gbdt', 'evaluate-gbdt'])
    out = replaceOnce(out, new RegExp(`^ {2}${step}:.*\\n(?: {4}.*\\n)*\\n`, 'm'), '', `the ${step} step`);
  return out;
}
