// The quantized integer model: what `quantize` produces, what `runInt` executes, what the artifact
// serializes and hashes, and what the circuit compiler reads. Plain data only (typed arrays,
// numbers, strings, arrays and plain objects in a fixed order): no Maps, no classes, no JSON.
// The exact meaning of every field is specified in docs/runtime-semantics.md.
// Browser-safe: no node: imports.
import type { Dim, OpType } from '../graph.ts';

/** Format tag of this structure; bumped whenever any integer semantics change. */
export const QUANT_FORMAT = 'aivm-quant/1';

export type IntDtype = 'int8' | 'int16' | 'int32';
export type IntArray = Int8Array | Int16Array | Int32Array;

/**
 * A runtime integer tensor. For a quantized value the real number it stands for is
 * `data[i] * scale`; an index tensor (ArgMax output, Gather indices) is int32 with scale 1.
 */
export type QuantTensor = { dtype: IntDtype; shape: number[]; data: IntArray; scale: number };

/**
 * Every value of the model (graph inputs, constants, node outputs) with its integer type and
 * scale. `kind: 'quant'` values stand for reals (`int * scale`, symmetric, zero point 0);
 * `kind: 'index'` values are exact integers (scale 1).
 */
export type QuantValue = {
  name: string;
  kind: 'quant' | 'index';
  dtype: IntDtype;
  scale: number;
  /** Shape from import; strings are dimensions bound at run time (the batch). */
  shape: Dim[];
};

/** A constant tensor stored in the model (a non-weight initializer, quantized per tensor). */
export type QuantConstant = {
  name: string;
  kind: 'quant' | 'index';
  dtype: IntDtype;
  scale: number;
  shape: number[];
  data: IntArray;
};

/** The integer algorithm a node runs; the spec has one section per kernel. */
export type Kernel =
  | 'linear'
  | 'matmul'
  | 'conv'
  | 'add'
  | 'mul'
  | 'div'
  | 'table'
  | 'relu'
  | 'clip'
  | 'maxpool'
  | 'avgpool'
  | 'reduce-mean'
  | 'softmax'
  | 'log-softmax'
  | 'layer-norm'
  | 'reshape'
  | 'transpose'
  | 'concat'
  | 'gather'
  | 'argmax';

/** An integer parameter: a scalar, or an integer array (weights, biases, multipliers, tables). */
export type ParamValue = number | IntArray;

export type QuantNode = {
  name: string;
  /** The ONNX operator this node came from. */
  op: OpType;
  kernel: Kernel;
  /** Value names; '' marks an absent optional input. Weights live in `params`, not here. */
  inputs: string[];
  outputs: string[];
  /** Integer shape attributes (axis, perm, strides, pads, ...), per kernel as in the spec. */
  attrs: Record<string, number | number[]>;
  /** Integer parameters (weights, biases, multipliers, shifts, tables), per kernel as in the spec. */
  params: Record<string, ParamValue>;
};

export type CalibrationMethod = 'maxabs' | 'percentile';

export type QuantModel = {
  format: typeof QUANT_FORMAT;
  name: string;
  /** Opset of the source model (informational). */
  opset: number;
  /** Names of the graph inputs and outputs; their types and scales are in `values`. */
  inputs: string[];
  outputs: string[];
  /** Every value: graph inputs first, then constants, then node outputs in node order. */
  values: QuantValue[];
  constants: QuantConstant[];
  /** Topologically sorted. */
  nodes: QuantNode[];
  /** How activation ranges were measured (informational; the integer semantics do not use it). */
  calibration: { method: CalibrationMethod; percentile: number; samples: number };
};

/** Largest magnitude of each integer type as used by the runtime: the ranges are symmetric. */
export const QMAX: Record<IntDtype, number> = { int8: 127, int16: 32767, int32: 2147483647 };
