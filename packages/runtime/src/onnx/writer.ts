// Builds ONNX ModelProto bytes from plain pieces: used by the training code to export models and
// by tests to make small models for the importer, the executor and onnxruntime-node.
// Browser-safe: no node: imports, no Buffer.
import onnx from 'onnx-proto';
import type { Dim, Tensor } from '../graph.ts';

/** ONNX element types the writer can declare for graph inputs and outputs. */
export type OnnxElemType = 'float' | 'double' | 'int32' | 'int64' | 'bool';

/**
 * A graph input or output. A `null` dimension is written with neither dim_value nor dim_param;
 * an absent shape (allowed for outputs) leaves the rank unknown.
 */
export type OnnxValueInfo = { name: string; shape?: (Dim | null)[]; elemType?: OnnxElemType };

/**
 * A tensor to write. A float32 tensor is written as FLOAT and an int32 tensor as INT64 (the type
 * ONNX wants for shapes, axes and indices) unless `onnxType` says otherwise.
 */
export type OnnxTensor = Tensor & { onnxType?: 'float' | 'double' | 'int32' | 'int64' };

/** An attribute; a plain number is an int unless it is fractional or its name is a float attribute. */
export type OnnxAttr =
  | number
  | number[]
  | string
  | Tensor
  | { type: 'int'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'float'; value: number }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: OnnxTensor };

export type OnnxNodeSpec = {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, OnnxAttr>;
  name?: string;
  domain?: string;
};

export type OnnxModelSpec = {
  name: string;
  /** Default-domain opset version. */
  opset: number;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers?: Record<string, OnnxTensor>;
  nodes: OnnxNodeSpec[];
  /** Initializers as little-endian raw_data (default) or in the typed fields (float_data, ...). */
  rawData?: boolean;
  producer?: string;
  /** Defaults to the IR version that matches the opset. */
  irVersion?: number;
  /** Extra value_info entries (intermediate shapes), as exporters write them. */
  valueInfo?: OnnxValueInfo[];
};

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

/** ONNX AttributeProto.AttributeType codes. */
export const ONNX_ATTR = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

const ELEM_CODE: Record<OnnxElemType, number> = {
  float: ONNX_DTYPE.FLOAT,
  double: ONNX_DTYPE.DOUBLE,
  int32: ONNX_DTYPE.INT32,
  int64: ONNX_DTYPE.INT64,
  bool: ONNX_DTYPE.BOOL,
};

/** Attribute names ONNX declares as FLOAT/FLOATS, so `alpha: 1` is written as a float. */
const FLOAT_ATTRS = new Set([
  'alpha',
  'beta',
  'gamma',
  'epsilon',
  'momentum',
  'min',
  'max',
  'value_float',
  'value_floats',
  'ratio',
  'scale',
  'bias',
  'lambd',
  'spatial_scale',
]);

/** The IR version each opset was released with (ORT rejects opsets newer than the IR allows). */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset === 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

export function buildOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const raw = spec.rawData ?? true;
  const irVersion = spec.irVersion ?? irVersionForOpset(spec.opset);
  const initializers = Object.entries(spec.initializers ?? {}).map(([name, t]) => tensorProto(name, t, raw));
  const inputs = spec.inputs.map(valueInfoProto);
  // Before IR 4 every initializer also had to be declared as a graph input.
  if (irVersion < 4) {
    const declared = new Set(spec.inputs.map((v) => v.name));
    for (const [name, t] of Object.entries(spec.initializers ?? {})) {
      if (declared.has(name)) continue;
      inputs.push(valueInfoProto({ name, shape: t.shape, elemType: elemTypeOf(t) }));
    }
  }
  const model: onnx.onnx.IModelProto = {
    irVersion,
    producerName: spec.producer ?? 'aivm',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: spec.opset }],
    graph: {
      name: spec.name,
      input: inputs,
      output: spec.outputs.map(valueInfoProto),
      initializer: initializers,
      valueInfo: (spec.valueInfo ?? []).map(valueInfoProto),
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attributeProto(k, v, raw)),
      })),
    },
  };
  // Copy into a plain Uint8Array: under Node protobufjs returns a Buffer that may view a shared pool.
  return new Uint8Array(onnx.onnx.ModelProto.encode(model).finish());
}

function elemTypeOf(t: OnnxTensor): OnnxElemType {
  if (t.onnxType) return t.onnxType;
  return t.dtype === 'float32' ? 'float' : 'int64';
}

function valueInfoProto(v: OnnxValueInfo): onnx.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM_CODE[v.elemType ?? 'float'],
        shape: v.shape && {
          dim: v.shape.map((d) =>
            d === null ? {} : typeof d === 'string' ? { dimParam: d } : { dimValue: d },
          ),
        },
      },
    },
  };
}

/** Serialises a tensor as raw_data (little-endian) or in the typed field for its ONNX type. */
export function tensorProto(name: string, t: OnnxTensor, raw = true): onnx.onnx.ITensorProto {
  const type = elemTypeOf(t);
  const n = t.data.length;
  const proto: onnx.onnx.ITensorProto = { name, dims: t.shape, dataType: ELEM_CODE[type] };
  if (type === 'float') {
    if (raw) {
      const bytes = new Uint8Array(n * 4);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) view.setFloat32(i * 4, t.data[i], true);
      proto.rawData = bytes;
    } else proto.floatData = Array.from(t.data);
  } else if (type === 'double') {
    if (raw) {
      const bytes = new Uint8Array(n * 8);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) view.setFloat64(i * 8, t.data[i], true);
      proto.rawData = bytes;
    } else proto.doubleData = Array.from(t.data);
  } else if (type === 'int32') {
    if (raw) {
      const bytes = new Uint8Array(n * 4);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) view.setInt32(i * 4, t.data[i], true);
      proto.rawData = bytes;
    } else proto.int32Data = Array.from(t.data);
  } else {
    if (raw) {
      const bytes = new Uint8Array(n * 8);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) view.setBigInt64(i * 8, BigInt(Math.trunc(t.data[i])), true);
      proto.rawData = bytes;
    } else proto.int64Data = Array.from(t.data);
  }
  return proto;
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'dtype' in v && 'data' in v;
}

function attributeProto(name: string, v: OnnxAttr, raw: boolean): onnx.onnx.IAttributeProto {
  if (typeof v === 'number') {
    if (FLOAT_ATTRS.has(name) || !Number.isInteger(v)) return { name, type: ONNX_ATTR.FLOAT, f: v };
    return { name, type: ONNX_ATTR.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: ONNX_ATTR.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) {
    if (FLOAT_ATTRS.has(name) || v.some((x) => !Number.isInteger(x)))
      return { name, type: ONNX_ATTR.FLOATS, floats: v };
    return { name, type: ONNX_ATTR.INTS, ints: v };
  }
  if (isTensor(v)) return { name, type: ONNX_ATTR.TENSOR, t: tensorProto('', v, raw) };
  switch (v.type) {
    case 'int':
      return { name, type: ONNX_ATTR.INT, i: v.value };
    case 'ints':
      return { name, type: ONNX_ATTR.INTS, ints: v.value };
    case 'float':
      return { name, type: ONNX_ATTR.FLOAT, f: v.value };
    case 'floats':
      return { name, type: ONNX_ATTR.FLOATS, floats: v.value };
    case 'string':
      return { name, type: ONNX_ATTR.STRING, s: new TextEncoder().encode(v.value) };
    case 'tensor':
      return { name, type: ONNX_ATTR.TENSOR, t: tensorProto('', v.value, raw) };
  }
}

/** Convenience constructors for tensors in tests and exporters. */
export function floatTensor(shape: number[], data: ArrayLike<number>): Tensor {
  return { dtype: 'float32', shape, data: Float32Array.from(data) };
}

export function intTensor(shape: number[], data: ArrayLike<number>): Tensor {
  return { dtype: 'int32', shape, data: Int32Array.from(data) };
}
