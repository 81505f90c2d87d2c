import * as protobuf from 'protobufjs';

/**
 * The subset of ONNX's onnx.proto (package `onnx`, IR version 8) that Cairn reads and writes: models, graphs, nodes,
 * attributes, tensors and value types. Message and field names and field numbers follow onnx.proto from
 * https://github.com/onnx/onnx (Copyright (c) ONNX Project Contributors, Apache License 2.0; earlier releases MIT);
 * see runtime/src/ml/onnx/NOTICE.md. Fields Cairn never touches (training info, functions, sparse tensors, quantization
 * annotations) are left out: protobuf skips unknown fields when decoding, so models that use them still load.
 */
const f = (id: number, type: string, rule?: 'repeated', packed?: boolean) => ({
  id,
  type,
  ...(rule ? { rule } : {}),
  ...(packed ? { options: { packed: true } } : {}),
});

const descriptor: protobuf.INamespace = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: f(1, 'string'),
            refAttrName: f(21, 'string'),
            docString: f(13, 'string'),
            type: f(20, 'int32'),
            f: f(2, 'float'),
            i: f(3, 'int64'),
            s: f(4, 'bytes'),
            t: f(5, 'TensorProto'),
            g: f(6, 'GraphProto'),
            floats: f(7, 'float', 'repeated', true),
            ints: f(8, 'int64', 'repeated', true),
            strings: f(9, 'bytes', 'repeated'),
            tensors: f(10, 'TensorProto', 'repeated'),
            graphs: f(11, 'GraphProto', 'repeated'),
          },
        },
        ValueInfoProto: { fields: { name: f(1, 'string'), type: f(2, 'TypeProto'), docString: f(3, 'string') } },
        NodeProto: {
          fields: {
            input: f(1, 'string', 'repeated'),
            output: f(2, 'string', 'repeated'),
            name: f(3, 'string'),
            opType: f(4, 'string'),
            domain: f(7, 'string'),
            attribute: f(5, 'AttributeProto', 'repeated'),
            docString: f(6, 'string'),
          },
        },
        ModelProto: {
          fields: {
            irVersion: f(1, 'int64'),
            opsetImport: f(8, 'OperatorSetIdProto', 'repeated'),
            producerName: f(2, 'string'),
            producerVersion: f(3, 'string'),
            domain: f(4, 'string'),
            modelVersion: f(5, 'int64'),
            docString: f(6, 'string'),
            graph: f(7, 'GraphProto'),
            metadataProps: f(14, 'StringStringEntryProto', 'repeated'),
          },
        },
        StringStringEntryProto: { fields: { key: f(1, 'string'), value: f(2, 'string') } },
        GraphProto: {
          fields: {
            node: f(1, 'NodeProto', 'repeated'),
            name: f(2, 'string'),
            initializer: f(5, 'TensorProto', 'repeated'),
            docString: f(10, 'string'),
            input: f(11, 'ValueInfoProto', 'repeated'),
            output: f(12, 'ValueInfoProto', 'repeated'),
            valueInfo: f(13, 'ValueInfoProto', 'repeated'),
          },
        },
        TensorProto: {
          fields: {
            dims: f(1, 'int64', 'repeated', true),
            dataType: f(2, 'int32'),
            floatData: f(4, 'float', 'repeated', true),
            int32Data: f(5, 'int32', 'repeated', true),
            stringData: f(6, 'bytes', 'repeated'),
            int64Data: f(7, 'int64', 'repeated', true),
            name: f(8, 'string'),
            docString: f(12, 'string'),
            rawData: f(9, 'bytes'),
            externalData: f(13, 'StringStringEntryProto', 'repeated'),
            dataLocation: f(14, 'int32'),
            doubleData: f(10, 'double', 'repeated', true),
            uint64Data: f(11, 'uint64', 'repeated', true),
          },
        },
        TensorShapeProto: {
          fields: { dim: f(1, 'Dimension', 'repeated') },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: f(1, 'int64'), dimParam: f(2, 'string'), denotation: f(3, 'string') },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType', 'sequenceType', 'mapType'] } },
          fields: {
            tensorType: f(1, 'Tensor'),
            sequenceType: f(4, 'Sequence'),
            mapType: f(5, 'Map'),
            denotation: f(6, 'string'),
          },
          nested: {
            Tensor: { fields: { elemType: f(1, 'int32'), shape: f(2, 'TensorShapeProto') } },
            Sequence: { fields: { elemType: f(1, 'TypeProto') } },
            Map: { fields: { keyType: f(1, 'int32'), valueType: f(2, 'TypeProto') } },
          },
        },
        OperatorSetIdProto: { fields: { domain: f(1, 'string'), version: f(2, 'int64') } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
export const ModelProto = root.lookupType('onnx.ModelProto');
export const TensorProtoType = root.lookupType('onnx.TensorProto');

/** TensorProto.DataType values Cairn handles. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

// Plain shapes of the decoded messages (protobufjs `toObject` with longs as numbers, bytes as Uint8Array).
export interface TensorMsg {
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  stringData?: Uint8Array[];
  int64Data?: number[];
  name?: string;
  rawData?: Uint8Array;
  doubleData?: number[];
  uint64Data?: number[];
  dataLocation?: number;
}
export interface AttributeMsg {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMsg;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}
export interface NodeMsg {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute?: AttributeMsg[];
}
export interface DimMsg {
  dimValue?: number;
  dimParam?: string;
}
export interface TypeMsg {
  tensorType?: { elemType: number; shape?: { dim?: DimMsg[] } };
}
export interface ValueInfoMsg {
  name: string;
  type?: TypeMsg;
  docString?: string;
}
export interface GraphMsg {
  node: NodeMsg[];
  name: string;
  initializer?: TensorMsg[];
  input: ValueInfoMsg[];
  output: ValueInfoMsg[];
  docString?: string;
}
export interface ModelMsg {
  irVersion: number;
  opsetImport: Array<{ domain?: string; version: number }>;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  graph: GraphMsg;
  metadataProps?: Array<{ key: string; value: string }>;
}

const toObjectOptions: protobuf.IConversionOptions = {
  longs: Number,
  bytes: Uint8Array,
  defaults: false,
  arrays: true,
};

export function decodeModel(bytes: Uint8Array): ModelMsg {
  return ModelProto.toObject(ModelProto.decode(bytes), toObjectOptions) as ModelMsg;
}

export function encodeModel(model: ModelMsg): Uint8Array {
  const problem = ModelProto.verify(model);
  if (problem) throw new Error(`internal error: invalid ONNX model message: ${problem}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

export function decodeTensor(bytes: Uint8Array): TensorMsg {
  const msg: TensorMsg = TensorProtoType.toObject(TensorProtoType.decode(bytes), toObjectOptions);
  return msg;
}
