/**
 * Seeded mutations of pipeline texts, shared by the fuzz test (test/unit/pipeline/fuzz.test.ts, a few hundred cases)
 * and the fuzz benchmark (bench/fuzz/pipeline.ts, 10,000).
 */
import { seededRandom } from '../../runtime/src/util/prng.js';

/** The shared seeded generator (mulberry32). */
export const prng = seededRandom;

const snippets = [
  '${',
  '}',
  '${params.',
  '${steps.',
  '.outputs.',
  ': ',
  ':',
  '- ',
  '[',
  ']',
  '{',
  '}',
  '"',
  "'",
  '&a ',
  '*a',
  '---\n',
  '\t',
  '#',
  '|\n',
  '>\n',
  '\ufeff',
  '\r\n',
  '\u0000',
  '🙂',
  '  ',
  '\n',
  'uses: ',
  'run: ',
  'with:\n',
  'needs: [',
  '? ',
  '!!str ',
  '%YAML 1.2\n',
];

export function mutate(text: string, rand: () => number): string {
  let out = text;
  const ops = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < ops; k++) {
    const pos = Math.floor(rand() * (out.length + 1));
    const len = Math.floor(rand() * 40);
    const r = rand();
    if (r < 0.25) out = out.slice(0, pos) + (snippets[Math.floor(rand() * snippets.length)] ?? '') + out.slice(pos);
    else if (r < 0.45) out = out.slice(0, pos) + out.slice(pos + len);
    else if (r < 0.6) out = out.slice(0, pos) + out.slice(pos, pos + len) + out.slice(pos);
    else if (r < 0.7) out = out.slice(0, pos) + String.fromCharCode(Math.floor(rand() * 0x3000)) + out.slice(pos);
    else if (r < 0.8) {
      // Re-indent one line.
      const start = out.lastIndexOf('\n', pos - 1) + 1;
      out =
        rand() < 0.5
          ? out.slice(0, start) + ' ' + out.slice(start)
          : out.slice(0, start) + out.slice(start).replace(/^ /, '');
    } else if (r < 0.9) {
      // Swap two lines.
      const lines = out.split('\n');
      const i = Math.floor(rand() * lines.length);
      const j = Math.floor(rand() * lines.length);
      const t = lines[i] ?? '';
      lines[i] = lines[j] ?? '';
      lines[j] = t;
      out = lines.join('\n');
    } else out = out.slice(0, pos);
  }
  return out;
}

/** What the language-server fuzz (test/lsp/fuzz.test.ts) inserts at a value's start or into a line. */
const valueStarts = [
  '${params.lr}',
  '{ a: ${x} }',
  '[${data.d}]',
  '@x',
  '`x`',
  '%x',
  '{',
  '[',
  '*a',
  '&a',
  '!t',
  '|x',
  '>x',
  '\t',
  '"',
  "'",
  'a: b: c',
  '}',
  ']',
];

/**
 * Line-level mutations for the language-server fuzz: delete, duplicate or insert a line; put a value starting with a
 * reserved character (or a `${...}` inside a flow collection) after a key; indent with a tab; nest deeply. One to
 * three of them, plus (half of the time) the character-level ones of `mutate`.
 */
export function mutateLines(text: string, rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  let lines = text.split('\n');
  const ops = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < ops; k++) {
    const i = Math.floor(rand() * lines.length);
    const line = lines[i] ?? '';
    const r = rand();
    if (r < 0.15) lines.splice(i, 1);
    else if (r < 0.3) lines.splice(i, 0, line);
    else if (r < 0.4) lines.splice(i, 0, pick(lines));
    else if (r < 0.6) {
      const colon = line.indexOf(': ');
      lines[i] =
        colon >= 0
          ? line.slice(0, colon + 2) + pick(valueStarts) + (rand() < 0.5 ? line.slice(colon + 2) : '')
          : line + pick(valueStarts);
    } else if (r < 0.7) lines[i] = line.replace(/^ +/, (s) => (rand() < 0.5 ? '\t' : '\t' + s.slice(1)));
    else if (r < 0.8) {
      // Deep nesting: brackets, `- ` or indentation, from a few levels to thousands.
      const n = pick([5, 50, 99, 100, 101, 150, 1000, 5000]);
      const kind = rand();
      const deep =
        kind < 0.4
          ? '['.repeat(n) + (rand() < 0.7 ? ']'.repeat(n) : '')
          : kind < 0.7
            ? '{a: '.repeat(n) + '1' + '}'.repeat(n)
            : '- '.repeat(n) + 'x';
      const colon = line.indexOf(': ');
      lines[i] = colon >= 0 ? line.slice(0, colon + 2) + deep : `${line}\n${deep}`;
    } else if (r < 0.85) {
      const depth = pick([20, 120, 400]);
      lines.splice(i + 1, 0, ...Array.from({ length: depth }, (_, d) => `${' '.repeat(2 * d + 2)}k${d}:`));
    } else if (r < 0.92) lines[i] = line.slice(0, Math.floor(rand() * (line.length + 1)));
    else lines = lines.slice(0, i);
  }
  const out = lines.join('\n');
  return rand() < 0.5 ? mutate(out, rand) : out;
}
