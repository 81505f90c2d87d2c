import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkModelCard, insertSectionFix, parseModelCard } from '@cairn/protocol';
import { hostWith } from './helpers.js';

// Big cards (about 5 MB) give the same findings, at the same places, as small ones (docs/model-card-spec.md, "Size").
// How long they take is not asserted here: the fuzz test bounds it loosely.

test('a 5 MB card of repeated sections: every heading, its content, and fixes placed after the last matching section', () => {
  const unit =
    '## Uses\n\nThe model ranks items.\n\n### Direct use\n\n[More Information Needed]\n\n## Training Data\n\nMovieLens ratings.\n\n';
  const repeats = Math.ceil(5_000_000 / unit.length);
  const text = `---\nlicense: mit\n---\n# Big card\n\n${unit.repeat(repeats)}`;
  const card = parseModelCard('/ws/big.modelcard.md', text);
  assert.equal(card.headings.length, 1 + 3 * repeats);
  assert.deepEqual(
    card.headings.slice(1, 4).map((h) => [h.level, h.title, h.sections, h.content]),
    [
      [2, 'Uses', ['intendedUse'], 'text'],
      [3, 'Direct use', ['intendedUse'], 'placeholder'],
      [2, 'Training Data', ['trainingData'], 'text'],
    ],
  );
  // Headings with the same title get equal but separate section lists.
  assert.notEqual(card.headings[1]?.sections, card.headings[4]?.sections);

  const diagnostics = checkModelCard(card, hostWith());
  const count = (code: string) => diagnostics.filter((d) => d.code === code).length;
  assert.equal(count('card/placeholder-section'), repeats, 'each "Direct use" holds only a placeholder');
  assert.equal(count('card/missing-section'), 7);
  // 'factors' follows 'intendedUse' in the card order: its section goes after the last Uses section, not the first.
  const lastUses = [...card.headings].reverse().find((h) => h.title === 'Uses');
  const factors = insertSectionFix(card, 'factors');
  assert.equal(factors.span.start, lastUses?.contentSpan.end);
  // 'modelDetails' precedes every section present: it goes before the first one.
  assert.equal(insertSectionFix(card, 'modelDetails').span.start, card.headings[1]?.span.start);
  const missing = diagnostics.find((d) => d.code === 'card/missing-section' && d.message.includes("'Factors'"));
  assert.deepEqual(missing?.fixes?.[0], factors);
});

test('a 5 MB card on one line: one heading whose section is text; a long line of markup only is empty', () => {
  const text = `---\nlicense: mit\n---\n# Card\n${'Lorem ipsum dolor sit amet. '.repeat(190_000)}\n## Notes\n\n${'<br> '.repeat(200_000)}\n`;
  const card = parseModelCard('/ws/line.modelcard.md', text);
  assert.deepEqual(
    card.headings.map((h) => [h.title, h.content]),
    [
      ['Card', 'text'],
      ['Notes', 'empty'],
    ],
  );
  const diagnostics = checkModelCard(card, hostWith());
  assert.deepEqual(
    diagnostics.filter((d) => d.code === 'card/empty-section').map((d) => text.slice(d.span.start, d.span.end)),
    ['Notes'],
  );
});
