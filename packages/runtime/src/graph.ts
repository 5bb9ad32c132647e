// The runtime's model representation after import: a float graph in topological order with every
// shape known. Import normalises ONNX's variety (Constant nodes, BatchNormalization, Dropout,
// Identity, opset differences, the LayerNorm pattern) into this one form; the float executor,
// the quantizer, the cost model and (later) the circuit compiler all read it.
// Browser-safe: no node: imports.

/** A dimension: a number, or a symbol for a dimension fixed only at run time (the batch). */
export type Dim = number | string;

export type FloatTensor = { dtype: 'float32'; shape: number[]; data: Float32Array };
/** Indices and shapes (Gather indices, Reshape targets); ONNX int64 narrowed to safe int32. */
export type IntTensor = { dtype: 'int32'; shape: number[]; data: Int32Array };
export type Tensor = FloatTensor | IntTensor;

export type AttrValue = number | string | number[] | Tensor;

/** Operators the runtime executes after import normalisation (ONNX names and semantics). */
export const OPS = [
  'Gemm',
  'MatMul',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Sqrt',
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'Softmax',
  'LogSoftmax',
  'Conv',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Flatten',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Concat',
  'Gather',
  'Clip',
  'ArgMax',
  'ReduceMean',
  'LayerNormalization',
  'Gelu',
  'Erf',
] as const;
export type OpType = (typeof OPS)[number];

export type GraphNode = {
  /** Unique within the graph (import names unnamed nodes `${op}_${index}`). */
  name: string;
  op: OpType;
  /** Value names; '' marks an absent optional input. */
  inputs: string[];
  outputs: string[];
  /** Attributes with ONNX defaults filled in, ints as numbers. */
  attrs: Record<string, AttrValue>;
};

export type ValueInfo = { name: string; shape: Dim[] };

export type Graph = {
  name: string;
  /** Default-domain opset the model was exported with (7..21). */
  opset: number;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Weights and other constants, by value name. */
  initializers: Map<string, Tensor>;
  /** Topologically sorted. */
  nodes: GraphNode[];
  /** Inferred shape of every value (inputs, initializers, node outputs). */
  shapes: Map<string, Dim[]>;
};

/** Thrown for any model the runtime cannot take: names the node, the operator and what is wrong. */
export class ModelError extends Error {
  override name = 'ModelError';
  readonly node: string | undefined;
  readonly op: string | undefined;
  /** `cause`: the error underneath (a CodecError from a decoder keeps its stable `reason` there). */
  constructor(message: string, where?: { node?: string; op?: string; cause?: unknown }) {
    super(
      where?.node ? `node "${where.node}" (${where.op ?? '?'}): ${message}` : message,
      where && 'cause' in where ? { cause: where.cause } : undefined,
    );
    this.node = where?.node;
    this.op = where?.op;
  }
}

/** Limits on what an untrusted model file may declare; checked before anything is allocated. */
export type ModelLimits = {
  maxFileBytes: number;
  maxNodes: number;
  maxTensorElements: number;
  maxTotalParameters: number;
  maxRank: number;
};

export const DEFAULT_LIMITS: ModelLimits = {
  maxFileBytes: 64 * 1024 * 1024,
  maxNodes: 10_000,
  maxTensorElements: 16 * 1024 * 1024,
  maxTotalParameters: 16 * 1024 * 1024,
  maxRank: 6,
};

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
