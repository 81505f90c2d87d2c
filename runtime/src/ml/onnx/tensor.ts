import * as ort from 'onnxruntime-node';
import { DataType, type TensorMsg } from './schema.js';

/** Converts between ONNX TensorProto messages and onnxruntime tensors (test data, initializers, exported weights). */

type Typed =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

const layout: Record<number, { ort: ort.Tensor.Type; bytes: number; make: (buf: ArrayBuffer, n: number) => Typed }> = {
  [DataType.FLOAT]: { ort: 'float32', bytes: 4, make: (b, n) => new Float32Array(b, 0, n) },
  [DataType.DOUBLE]: { ort: 'float64', bytes: 8, make: (b, n) => new Float64Array(b, 0, n) },
  [DataType.INT8]: { ort: 'int8', bytes: 1, make: (b, n) => new Int8Array(b, 0, n) },
  [DataType.UINT8]: { ort: 'uint8', bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  [DataType.INT16]: { ort: 'int16', bytes: 2, make: (b, n) => new Int16Array(b, 0, n) },
  [DataType.UINT16]: { ort: 'uint16', bytes: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  [DataType.INT32]: { ort: 'int32', bytes: 4, make: (b, n) => new Int32Array(b, 0, n) },
  [DataType.UINT32]: { ort: 'uint32', bytes: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  [DataType.INT64]: { ort: 'int64', bytes: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
  [DataType.UINT64]: { ort: 'uint64', bytes: 8, make: (b, n) => new BigUint64Array(b, 0, n) },
  [DataType.BOOL]: { ort: 'bool', bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
};

/** Decodes a TensorProto's values into an onnxruntime tensor. Throws for types Cairn does not handle. */
export function tensorFromProto(t: TensorMsg): ort.Tensor {
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const type = t.dataType ?? 0;
  if (t.dataLocation === 1) throw new Error(`tensor ${t.name ?? ''}: external data is not supported`);
  if (type === DataType.STRING) {
    const dec = new TextDecoder();
    return new ort.Tensor(
      'string',
      (t.stringData ?? []).map((s) => dec.decode(s)),
      dims,
    );
  }
  const l = layout[type];
  if (!l) throw new Error(`tensor ${t.name ?? ''}: ONNX data type ${type} is not supported`);
  const buf = new ArrayBuffer(count * l.bytes);
  const out = l.make(buf, count);
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== count * l.bytes)
      throw new Error(`tensor ${t.name ?? ''}: raw data has ${t.rawData.length} bytes, expected ${count * l.bytes}`);
    // Copy: the decoded bytes may be an unaligned view into the file buffer.
    new Uint8Array(buf).set(t.rawData);
  } else {
    const src: ArrayLike<number> =
      type === DataType.FLOAT
        ? (t.floatData ?? [])
        : type === DataType.DOUBLE
          ? (t.doubleData ?? [])
          : type === DataType.INT64
            ? (t.int64Data ?? [])
            : type === DataType.UINT64 || type === DataType.UINT32
              ? (t.uint64Data ?? [])
              : (t.int32Data ?? []);
    if (src.length !== count)
      throw new Error(`tensor ${t.name ?? ''}: ${src.length} values for shape [${dims.join(', ')}]`);
    for (let i = 0; i < count; i++) {
      const v = src[i] ?? 0;
      if (out instanceof BigInt64Array || out instanceof BigUint64Array) out[i] = BigInt(v);
      else out[i] = v;
    }
  }
  return new ort.Tensor(l.ort, out as ort.Tensor.DataTypeMap[ort.Tensor.Type], dims);
}

/** A float32 initializer / constant, stored as raw little-endian bytes (exact, compact). */
export function floatTensorProto(name: string, dims: number[], values: ArrayLike<number>): TensorMsg {
  const data = Float32Array.from(values);
  if (data.length !== dims.reduce((a, b) => a * b, 1))
    throw new Error(`internal error: tensor ${name} has ${data.length} values for [${dims.join(', ')}]`);
  return {
    name,
    dims,
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

export function int64TensorProto(name: string, dims: number[], values: number[]): TensorMsg {
  return { name, dims, dataType: DataType.INT64, int64Data: values };
}

/** Values of a numeric tensor as doubles (int64 → Number), for comparisons and metrics. */
export function tensorNumbers(t: ort.Tensor): Float64Array {
  const d = t.data;
  if (Array.isArray(d)) throw new Error('a string tensor has no numeric values');
  const out = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}
