import { readFile } from 'node:fs/promises';
import type { ServeInputField } from '@cairn/protocol';
import { METADATA_KEY } from '../ml/onnx/export.js';
import { DataType, decodeModel } from '../ml/onnx/schema.js';
import { readModelFile, type CairnModel } from '../ml/models/index.js';
import type { FeatureEncoding } from '../ml/models/encoding.js';
import type { FittedTransform } from '../ml/data/transform.js';

type FieldType = ServeInputField['type'];

/**
 * What each raw input column must hold, so a request is refused with a 400 naming the column instead of failing deep
 * in the model. Standardized and numeric-encoded columns need numbers; one-hot and hashed columns read any scalar as
 * its text ('any'), as training did.
 */
function fromEncoding(enc: FeatureEncoding): Map<string, FieldType> {
  return new Map(enc.columns.map((c) => [c.name, c.kind === 'numeric' ? 'number' : 'any']));
}

function cairnFields(
  inputColumns: string[],
  transform: FittedTransform | undefined,
  enc: FeatureEncoding,
): ServeInputField[] {
  const encoded = fromEncoding(enc);
  const raw = new Map<string, FieldType>();
  if (transform) {
    for (const s of transform.steps) {
      if (s.kind === 'standardize') raw.set(s.column, 'number');
      else if (s.kind === 'passthrough') raw.set(s.column, encoded.get(s.column) ?? 'any');
      else raw.set(s.column, 'any');
    }
  }
  return inputColumns.map((name) => ({ name, type: (transform ? raw.get(name) : encoded.get(name)) ?? 'any' }));
}

function fromCairn(m: CairnModel, file: string): ServeInputField[] {
  if (m.kind !== 'tabular')
    throw new Error(
      `${file}: a ${m.kind} model cannot be served yet; cairn serve takes tabular models (classifiers and regressors)`,
    );
  return cairnFields(m.inputColumns, m.transform, m.encoding);
}

/** Input fields of a model file, in the order the predictor lists its input columns. */
export async function inputFields(file: string, inputColumns: string[]): Promise<ServeInputField[]> {
  if (!file.toLowerCase().endsWith('.onnx')) return fromCairn(await readModelFile(file), file);
  const m = decodeModel(await readFile(file));
  const cairn = m.metadataProps?.find((p) => p.key === METADATA_KEY)?.value;
  if (cairn) {
    const parsed = JSON.parse(cairn) as {
      kind?: string;
      inputColumns?: string[];
      transform?: FittedTransform;
      encoding?: FeatureEncoding;
    };
    if (parsed.kind !== 'tabular' || !parsed.encoding)
      throw new Error(
        `${file}: a ${parsed.kind ?? 'non-tabular'} model cannot be served yet; cairn serve takes tabular models`,
      );
    return cairnFields(parsed.inputColumns ?? inputColumns, parsed.transform, parsed.encoding);
  }
  // A user's ONNX model: per-column inputs carry their element type; a matrix input is all numbers.
  const byName = new Map(m.graph.input.map((i) => [i.name, i.type?.tensorType?.elemType ?? 0]));
  return inputColumns.map((name) => {
    const t = byName.get(name);
    return { name, type: t === undefined ? 'number' : t === DataType.STRING ? 'string' : 'number' };
  });
}

/**
 * A recommender's request columns: the user and item columns it was trained on (model.json `columns`, or the
 * cairn.model metadata of its ONNX export). Ids are numbers or text, compared as text as training did.
 */
export async function recommenderFields(
  file: string,
): Promise<{ user: string; item: string; fields: ServeInputField[] }> {
  let columns: { user: string; item: string } | undefined;
  if (file.toLowerCase().endsWith('.onnx')) {
    const cairn = decodeModel(await readFile(file)).metadataProps?.find((p) => p.key === METADATA_KEY)?.value;
    const parsed = cairn ? (JSON.parse(cairn) as { columns?: { user?: unknown; item?: unknown } }) : {};
    const { user, item } = parsed.columns ?? {};
    if (typeof user === 'string' && typeof item === 'string') columns = { user, item };
  } else {
    const m = await readModelFile(file);
    if (m.kind !== 'tabular') columns = m.columns;
  }
  if (!columns)
    throw new Error(
      `${file}: a recommender without its user and item column names; export it again with a train.* step`,
    );
  return {
    ...columns,
    fields: [
      { name: columns.user, type: 'any' },
      { name: columns.item, type: 'any' },
    ],
  };
}
