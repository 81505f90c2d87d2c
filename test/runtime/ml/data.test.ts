import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  applyTransform,
  cellText,
  DataError,
  detectPii,
  fitTransform,
  formatCsv,
  inferSchema,
  parseCsv,
  parseJsonl,
  parseTransform,
  readCsv,
  readTable,
  splitTable,
  userItemStats,
  validateTable,
  writeCsv,
} from '../../../runtime/src/ml/data/index.js';
import type { Column, NumericColumn, Table } from '../../../runtime/src/ml/types.js';
import { fixtures } from './golden.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'cairn-data-'));
const col = (t: Table, name: string): Column => {
  const c = t.columns.find((x) => x.name === name);
  assert.ok(c, `column ${name}`);
  return c;
};
const nums = (c: Column) => (c.type === 'string' ? c.values : Array.from(c.values));

test('CSV: RFC 4180 quotes, CRLF, BOM, missing values and type inference', () => {
  const text =
    '\uFEFFid,name,score,ok,when,note\r\n1,"Smith, Ann",3.5,true,2024-01-02,"say ""hi"""\r\n2,Bob,,false,2024-01-03T10:00:00Z,"two\r\nlines"\r\n3,NA,7,TRUE,2024-02-01 12:30,plain\r\n';
  const t = parseCsv(text, 'x.csv');
  assert.equal(t.rowCount, 3);
  assert.deepEqual(
    t.columns.map((c) => [c.name, c.type]),
    [
      ['id', 'int'],
      ['name', 'string'],
      ['score', 'float'],
      ['ok', 'bool'],
      ['when', 'timestamp'],
      ['note', 'string'],
    ],
  );
  assert.deepEqual(nums(col(t, 'name')), ['Smith, Ann', 'Bob', null]);
  assert.deepEqual(nums(col(t, 'note')), ['say "hi"', 'two\r\nlines', 'plain']);
  const score = col(t, 'score') as NumericColumn;
  assert.equal(score.values[0], 3.5);
  assert.equal(score.missing?.[1], 1);
  assert.deepEqual(nums(col(t, 'ok')), [1, 0, 1]);
  assert.equal(cellText(col(t, 'when'), 2), '2024-02-01T12:30:00.000Z');
  // Round trip through the writer keeps every value and type.
  const back = parseCsv(formatCsv(t), 'y.csv');
  assert.deepEqual(
    back.columns.map((c) => c.type),
    t.columns.map((c) => c.type),
  );
  for (const c of t.columns)
    for (let i = 0; i < t.rowCount; i++) assert.equal(cellText(col(back, c.name), i), cellText(c, i));
});

test('CSV bad input: ragged row, unclosed quote, empty file, header only, duplicate header', () => {
  assert.throws(
    () => parseCsv('a,b\n1,2\n3,4,5\n', 'r.csv'),
    (e: unknown) =>
      e instanceof DataError && /^r\.csv:3: row has 3 fields but the header has 2; quote values/.test(e.message),
  );
  assert.throws(() => parseCsv('a,b\n1,"x\n2,3\n', 'q.csv'), /q\.csv:2: a quoted field is never closed/);
  assert.throws(() => parseCsv('', 'e.csv'), /e\.csv: the file is empty; a CSV needs a header row/);
  const headerOnly = parseCsv('a,b\n', 'h.csv');
  assert.equal(headerOnly.rowCount, 0);
  assert.throws(() => parseCsv('a,a\n1,2\n', 'd.csv'), /names column 'a' twice/);
  // A ragged row after a multi-line quoted field names the right line.
  assert.throws(() => parseCsv('a,b\n"x\ny",1\n2\n', 'm.csv'), /m\.csv:4: row has 1 field but/);
});

test('CSV: wrong types fall back to text; all-missing column is a string column of nulls', () => {
  const t = parseCsv('age,empty,id\n31,,12345678901234567890\nthirty,,1\n40,,2\n', 'w.csv');
  assert.equal(col(t, 'age').type, 'string');
  assert.deepEqual(nums(col(t, 'id')), ['12345678901234567890', '1', '2'], 'long ids keep every digit');
  assert.deepEqual(nums(col(t, 'empty')), [null, null, null]);
});

test('CSV reads 100k rows with the right types (speed is measured in bench/ml, not here)', async () => {
  const lines = ['user,item,rating,ts,tag'];
  for (let i = 0; i < 100_000; i++)
    lines.push(`${i % 611},${(i * 7) % 9742},${((i % 10) + 1) / 2},${1500000000 + i},t${i % 13}`);
  const file = path.join(tmp, 'big.csv');
  writeFileSync(file, lines.join('\n') + '\n');
  const table = await readCsv(file);
  assert.equal(table.rowCount, 100_000);
  assert.deepEqual(
    table.columns.map((c) => c.type),
    ['int', 'int', 'float', 'int', 'string'],
  );
});

test('JSON lines: union of keys, nulls, bad line named', async () => {
  const t = parseJsonl('{"a":1,"b":"x"}\n\n{"a":2.5,"c":true}\n{"a":null,"b":"y","d":{"k":1}}\n', 'j.jsonl');
  assert.equal(t.rowCount, 3);
  assert.deepEqual(
    t.columns.map((c) => [c.name, c.type]),
    [
      ['a', 'float'],
      ['b', 'string'],
      ['c', 'bool'],
      ['d', 'string'],
    ],
  );
  assert.deepEqual(nums(col(t, 'd')), [null, null, '{"k":1}']);
  assert.throws(() => parseJsonl('{"a":1}\n{oops\n', 'bad.jsonl'), /bad\.jsonl:2: not valid JSON/);
  assert.throws(() => parseJsonl('[1,2]\n', 'arr.jsonl'), /arr\.jsonl:1: each line must be a JSON object/);
  assert.throws(() => parseJsonl('\n', 'none.jsonl'), /none\.jsonl: the file has no rows/);
  const file = path.join(tmp, 't.ndjson');
  writeFileSync(file, '{"x":1}\n');
  assert.equal((await readTable(file)).rowCount, 1);
  await assert.rejects(readTable(path.join(tmp, 'nope.csv')), /nope\.csv: cannot read the file \(ENOENT\)/);
});

test('Parquet: columns, types and missing values; a broken file is a clear error', async () => {
  const { parquetWriteFile } = await import('hyparquet-writer');
  const file = path.join(tmp, 'p.parquet');
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'id', data: [1, 2, 3], type: 'INT32' },
      { name: 'big', data: [10n, 20n, null], type: 'INT64' },
      { name: 'x', data: [0.5, null, 2.25], type: 'DOUBLE' },
      { name: 'name', data: ['a', 'b', null], type: 'STRING' },
      { name: 'flag', data: [true, false, true], type: 'BOOLEAN' },
      {
        name: 'at',
        data: [new Date('2024-01-02T00:00:00Z'), new Date('2024-01-03T12:00:00Z'), null],
        type: 'TIMESTAMP',
      },
    ],
  });
  const t = await readTable(file);
  assert.equal(t.rowCount, 3);
  assert.deepEqual(
    t.columns.map((c) => [c.name, c.type]),
    [
      ['id', 'int'],
      ['big', 'int'],
      ['x', 'float'],
      ['name', 'string'],
      ['flag', 'bool'],
      ['at', 'timestamp'],
    ],
  );
  assert.deepEqual(
    nums(col(t, 'x')).map((v) => (typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v)),
    [0.5, 'NaN', 2.25],
  );
  assert.equal(cellText(col(t, 'at'), 1), '2024-01-03T12:00:00.000Z');
  assert.equal(cellText(col(t, 'big'), 2), null);
  const broken = path.join(tmp, 'broken.parquet');
  writeFileSync(broken, 'not parquet at all');
  await assert.rejects(
    readTable(broken),
    (e: unknown) => e instanceof DataError && /broken\.parquet: not a readable Parquet file/.test(e.message),
  );
});

test('schema inference and validation: types, ranges, missing, uniqueness, categories, constant and all-missing columns', () => {
  const t = parseCsv(
    [
      'id,age,country,email,const,blank',
      '1,34,DE,ann@example.com,x,',
      '2,-3,FR,bob@example.org,x,',
      '2,51,XX,carl@example.net,x,',
      '4,,DE,dee@example.com,x,',
      '5,abc,FR,eve@example.com,x,',
    ].join('\n'),
    'v.csv',
  );
  const inferred = inferSchema(t);
  assert.equal(inferred.country?.type, 'string', 'three countries in five rows are not (yet) a category');
  const many = inferSchema(
    parseCsv(['c', ...Array.from({ length: 20 }, (_, i) => ['DE', 'FR', 'IT'][i % 3])].join('\n'), 'c.csv'),
  );
  assert.deepEqual(many.c, { type: 'category', required: true, values: ['DE', 'FR', 'IT'] });
  assert.equal(inferred.id?.required, true);
  const { clean, report } = validateTable(t, {
    id: { type: 'int', unique: true },
    age: { type: 'int', min: 0, max: 120 },
    country: { type: 'category', values: ['DE', 'FR'] },
    blank: { type: 'float', required: false },
  });
  const rules = report.findings.map((f) => `${f.severity}:${f.column}:${f.rule}:${f.lines.join('/')}`);
  assert.ok(rules.includes('error:id:unique:4'), rules.join(' '));
  assert.ok(rules.includes('error:age:range:3'), rules.join(' '));
  assert.ok(rules.includes('error:age:required:5'), rules.join(' '));
  assert.ok(rules.includes('error:age:type:6'), rules.join(' '));
  assert.ok(rules.includes('error:country:values:4'), rules.join(' '));
  assert.ok(rules.includes('warning:blank:all_missing:2/3/4/5/6'), rules.join(' '));
  assert.ok(rules.includes('warning:const:constant:'), rules.join(' '));
  assert.match(
    report.findings.find((f) => f.rule === 'type')?.message ?? '',
    /1 values of 'age' are not int \(line 6: "abc"\)/,
  );
  assert.equal(clean.rowCount, 1);
  assert.equal(report.droppedRows, 4);
  assert.deepEqual(report.piiColumns, ['email']);
  assert.ok(Number.isFinite(report.missingShare));
  const dropped = validateTable(t, { age: { type: 'float' } }, { dropMissing: true });
  assert.equal(dropped.report.findings.find((f) => f.rule === 'required')?.severity, 'warning');
  const missingCol = validateTable(t, { nope: { type: 'int' } });
  assert.match(missingCol.report.findings[0]?.message ?? '', /column 'nope' is missing/);
  const empty = validateTable(parseCsv('a\n', 'e.csv'), {});
  assert.equal(empty.report.findings[0]?.rule, 'empty');
});

test('personal data: by column name and by values; ordinary columns stay clear', () => {
  const s = (name: string, values: string[]): Column => ({ name, type: 'string', values });
  assert.deepEqual(detectPii(s('contact', ['a@b.io', 'c@d.com', 'x'])).kinds, ['email']);
  assert.deepEqual(detectPii(s('who', ['Ann Smith', 'Bob Jones', 'Carla de Vries'])).kinds, ['person_name']);
  assert.deepEqual(detectPii(s('addr', ['10.0.0.1', '192.168.1.20'])).kinds, ['address', 'ip_address']);
  assert.deepEqual(detectPii(s('tel', ['+49 30 1234567', '(555) 123-4567'])).kinds, ['phone']);
  assert.deepEqual(detectPii(s('card', ['4111 1111 1111 1111'])).kinds, ['credit_card']);
  assert.deepEqual(detectPii({ name: 'first_name', type: 'string', values: [null] }).kinds, ['person_name']);
  assert.deepEqual(
    detectPii({ name: 'date_of_birth', type: 'timestamp', values: new Float64Array(1), missing: null }).kinds,
    ['birth_date'],
  );
  assert.equal(detectPii(s('genre', ['Comedy', 'Drama', 'Action'])).pii, false);
  assert.equal(detectPii({ name: 'rating', type: 'float', values: new Float64Array(3), missing: null }).pii, false);
});

test('splits: seeded random, stratified, by time; deterministic; errors are clear', async () => {
  const rows = ['id,label,ts'];
  for (let i = 0; i < 100; i++) rows.push(`${i},${i % 4 === 0 ? 'pos' : 'neg'},${1000 - i}`);
  const t = parseCsv(rows.join('\n'), 's.csv');
  const a = splitTable(t, { testFraction: 0.2, validFraction: 0.1, seed: 7 });
  const b = splitTable(t, { testFraction: 0.2, validFraction: 0.1, seed: 7 });
  const c = splitTable(t, { testFraction: 0.2, validFraction: 0.1, seed: 8 });
  assert.deepEqual(nums(col(a.test, 'id')), nums(col(b.test, 'id')));
  assert.notDeepEqual(nums(col(a.test, 'id')), nums(col(c.test, 'id')));
  assert.equal(a.test.rowCount + a.train.rowCount + (a.valid?.rowCount ?? 0), 100);
  assert.equal(a.test.rowCount, 20);
  const st = splitTable(t, { testFraction: 0.2, stratify: 'label', seed: 1 });
  assert.equal((nums(col(st.test, 'label')) as string[]).filter((v) => v === 'pos').length, 5);
  const byTime = splitTable(t, { testFraction: 0.1, by: 'ts' });
  const trainTimes = nums(col(byTime.train, 'ts')) as number[];
  const testTimes = nums(col(byTime.test, 'ts')) as number[];
  assert.ok(Math.max(...trainTimes) < Math.min(...testTimes));
  assert.throws(() => splitTable(t, { testFraction: 0.6, validFraction: 0.5 }), /sum to less than 1/);
  assert.throws(
    () => splitTable(parseCsv('a\n1\n', 'one.csv'), { testFraction: 0.2, file: 'one.csv' }),
    /1 rows are too few/,
  );
  assert.throws(
    () => splitTable(t, { testFraction: 0.2, by: 'label', file: 's.csv' }),
    /time column 'label' holds text/,
  );
  const file = path.join(tmp, 'split.csv');
  await writeCsv(a.train, file);
  assert.equal((await readCsv(file)).rowCount, a.train.rowCount);
});

test('feature transforms: fit, JSON round trip, apply to new data with unseen and missing values', () => {
  const train = parseCsv('x,color,city,y\n1,red,Berlin,0\n3,blue,Paris,1\n5,red,Rome,1\n', 't.csv');
  const t = fitTransform(train, {
    standardize: ['x'],
    oneHot: ['color'],
    hash: { columns: ['city'], buckets: 8 },
    target: 'y',
  });
  const saved = parseTransform(JSON.parse(JSON.stringify(t)));
  assert.deepEqual(saved.outputs, ['x', 'color=blue', 'color=red', 'city_bucket', 'y']);
  const out = applyTransform(train, saved);
  const x = Array.from((col(out, 'x') as NumericColumn).values);
  const sd = Math.sqrt(8 / 3);
  assert.deepEqual(x, [(1 - 3) / sd, 0, (5 - 3) / sd]);
  const serving = parseCsv('x,color,city\n,green,Berlin\n', 'n.csv');
  const s = applyTransform(serving, saved);
  assert.deepEqual(
    s.columns.map((c) => c.name),
    ['x', 'color=blue', 'color=red', 'city_bucket'],
  );
  assert.deepEqual(
    s.columns.map((c) => nums(c)[0]),
    [0, 0, 0, nums(col(out, 'city_bucket'))[0]],
  );
  assert.throws(
    () => applyTransform(parseCsv('color\nred\n', 'c.csv'), saved, 'c.csv'),
    /column 'x' is missing; the transform was fitted with it/,
  );
  assert.throws(() => fitTransform(train, { standardize: ['color'] }), /holds text; standardize needs numbers/);
  assert.throws(() => parseTransform({ format: 'other' }, 'f.json'), /f\.json: not a Cairn feature transform/);
  const constant = fitTransform(parseCsv('k\n2\n2\n', 'k.csv'), { standardize: ['k'] });
  assert.deepEqual(constant.steps[0], { kind: 'standardize', column: 'k', mean: 2, std: 1 });
});

test('user/item statistics', () => {
  const t = parseCsv('userId,itemId,rating,ts\n1,10,4,100\n1,11,2,200\n2,10,5,150\n2,,3,160\n', 'r.csv');
  const r = userItemStats(t, { user: 'userId', item: 'itemId', rating: 'rating', time: 'ts' });
  assert.equal(r.skipped, 1);
  assert.deepEqual(nums(col(r.users, 'user_mean_rating')), [3, 5]);
  assert.deepEqual(nums(col(r.items, 'item_count')), [2, 1]);
  assert.deepEqual(nums(col(r.users, 'user_last_time')), [200, 150]);
});

test('the committed wine table reads with the expected shape', async () => {
  const t = await readCsv(path.join(fixtures, 'data', 'wine.csv'));
  assert.equal(t.rowCount, 178);
  assert.equal(t.columns.length, 14);
  assert.ok(t.columns.every((c) => c.type === 'float' || c.type === 'int'));
});
