// A served model's boundary as the inference module defines it: the request input is the single
// input tensor at batch 1 quantized to int8 with the input value's scale; the result is the single
// output tensor as int32 values, which stand for `value * scale` in the model's units. Shared by
// the provider, the CLI and the SDK (which keeps only the small ModelIO, not the whole model).
// Browser-safe: no node: imports.

import { argmaxOf } from './commit.ts';
import { type FloatTensor, ModelError } from './graph.ts';
import { quantizeTensor } from './quant/boundary.ts';
import type { IntDtype, Kernel, QuantModel, QuantTensor } from './quant/model.ts';

/** A request input the model cannot take: wrong element count, not numbers, not finite. */
export class InputError extends Error {
  override name = 'InputError';
}

/**
 * How the output reads, from the kernel that produces it (through reshape/transpose, which only
 * move values): `softmax` (probabilities over the last axis), `log-softmax` (log-probabilities),
 * `sigmoid` (one probability per element), `argmax` (the output is class indices), `none`
 * (scores in the model's units, e.g. logits: no probabilities are derived from them).
 */
export type OutputActivation = 'softmax' | 'log-softmax' | 'sigmoid' | 'argmax' | 'none';

/** What a client needs to build a request input and read its result, without the weights. */
export type ModelIO = {
  input: { name: string; shape: number[]; elements: number; scale: number; dtype: IntDtype };
  output: {
    name: string;
    shape: number[];
    /** A real value is `int * scale`; an index output (`kind: 'index'`) is exact, scale 1. */
    scale: number;
    kind: 'quant' | 'index';
    dtype: IntDtype;
    activation: OutputActivation;
  };
};

function atBatch1(shape: readonly (number | string)[]): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : 1));
}

/** The model's single input value description. */
function inputValue(model: QuantModel) {
  const name = model.inputs[0];
  const v = name === undefined ? undefined : model.values.find((x) => x.name === name);
  if (!v || model.inputs.length !== 1) throw new ModelError('a served model has exactly one input');
  return v;
}

/** Shape of the single input at batch 1 (symbolic dimensions bound to 1). */
export function inputShape(model: QuantModel): number[] {
  return atBatch1(inputValue(model).shape);
}

/** Shape of the single output at batch 1, when known statically. */
export function outputShape(model: QuantModel): number[] {
  const v = model.values.find((x) => x.name === model.outputs[0]);
  return atBatch1(v?.shape ?? []);
}

/** Scale of the single input (the request input is quantized with it). */
export function inputScale(model: QuantModel): number {
  return inputValue(model).scale;
}

const PASS_THROUGH = new Set<Kernel>(['reshape', 'transpose']);

function outputActivation(model: QuantModel, output: string): OutputActivation {
  let name = output;
  for (let hops = 0; hops <= model.nodes.length; hops++) {
    const node = model.nodes.find((n) => n.outputs.includes(name));
    if (!node) return 'none';
    if (PASS_THROUGH.has(node.kernel) && node.inputs[0]) {
      name = node.inputs[0];
      continue;
    }
    if (node.kernel === 'softmax') return 'softmax';
    if (node.kernel === 'log-softmax') return 'log-softmax';
    if (node.kernel === 'argmax') return 'argmax';
    if (node.kernel === 'table' && node.op === 'Sigmoid') return 'sigmoid';
    return 'none';
  }
  return 'none';
}

function inputSpec(model: QuantModel): ModelIO['input'] {
  const v = inputValue(model);
  const shape = atBatch1(v.shape);
  return { name: v.name, shape, elements: shape.reduce((a, b) => a * b, 1), scale: v.scale, dtype: v.dtype };
}

/** The model's boundary: input shape and scale, output shape, scale and activation. */
export function modelIO(model: QuantModel): ModelIO {
  if (model.outputs.length !== 1) throw new ModelError('a served model has exactly one output');
  const outName = model.outputs[0]!;
  const ov = model.values.find((x) => x.name === outName);
  if (!ov) throw new ModelError(`the model declares no value for its output "${outName}"`);
  return {
    input: inputSpec(model),
    output: {
      name: outName,
      shape: atBatch1(ov.shape),
      scale: ov.kind === 'index' ? 1 : ov.scale,
      kind: ov.kind,
      dtype: ov.dtype,
      activation: outputActivation(model, outName),
    },
  };
}

/** A float input as given by a caller: flat or nested arrays of numbers, a Float32Array, a tensor. */
export type FloatInput = FloatTensor | Float32Array | readonly number[] | readonly FloatInput[];

/** The input's values in row-major order, each checked to be a finite number. */
export function flattenInput(input: FloatInput): Float32Array {
  if (input instanceof Float32Array) return checkFinite(input);
  if (!Array.isArray(input)) {
    const t = input as Partial<FloatTensor>;
    if (t && t.data instanceof Float32Array) return checkFinite(t.data);
    throw new InputError('an input is an array of numbers, a Float32Array or a float tensor');
  }
  const flat = (input as unknown[]).flat(Number.POSITIVE_INFINITY) as unknown[];
  const out = new Float32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const x = flat[i];
    if (typeof x !== 'number' || !Number.isFinite(x))
      throw new InputError(
        `input element ${i} is ${typeof x === 'number' ? x : typeof x}, not a finite number`,
      );
    out[i] = x;
  }
  return out;
}

function checkFinite(data: Float32Array): Float32Array {
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i]!))
      throw new InputError(`input element ${i} is ${data[i]}, not a finite number`);
  return data;
}

/**
 * A float input (any nesting or shape with the input's element count, e.g. [784] for [1,784]) as
 * a request input: int8 bytes quantized with the input scale (quantizeTensor's rounding).
 */
export function quantizeInput(model: QuantModel | ModelIO, input: FloatInput): Uint8Array {
  const spec = 'nodes' in model ? inputSpec(model) : model.input;
  const data = flattenInput(input);
  if (data.length !== spec.elements)
    throw new InputError(
      `the model's input has ${spec.elements} elements ([${spec.shape.join(',')}]), got ${data.length}`,
    );
  const q = quantizeTensor({ dtype: 'float32', shape: spec.shape, data }, spec.scale, 'int8');
  return new Uint8Array(q.data.buffer, q.data.byteOffset, q.data.byteLength).slice();
}

/** The request input bytes as the model's input tensor. */
export function inputTensor(model: QuantModel, input: Uint8Array): QuantTensor {
  const shape = inputShape(model);
  const n = shape.reduce((a, b) => a * b, 1);
  if (input.length !== n) throw new InputError(`the input is ${input.length} bytes, the model needs ${n}`);
  const data = new Int8Array(input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength));
  return { dtype: 'int8', shape, data, scale: inputScale(model) };
}

/**
 * A result in the model's units. `output` is the integer result as the chain stores it (what a
 * proof or a layer commitment is about); `values[i] = output[i] * scale`. `argmax` is the chain's
 * predicted class (first maximum of `output`; for an argmax model, the output value itself).
 * `probabilities` only when the model's last kernel makes them (softmax, sigmoid: the values;
 * log-softmax: exp of the values); never derived from raw scores.
 */
export type ReadOutput = {
  output: number[];
  scale: number;
  kind: 'quant' | 'index';
  activation: OutputActivation;
  values: number[];
  argmax: number;
  probabilities?: number[];
};

/** Reads int32 output values (decodeOutput of a result) in the model's units. */
export function readOutput(io: Pick<ModelIO, 'output'>, output: ArrayLike<number>): ReadOutput {
  const { scale, kind, activation } = io.output;
  const ints = Array.from(output);
  const values = ints.map((q) => (kind === 'index' ? q : Math.fround(q * scale)));
  const argmax = activation === 'argmax' && ints.length === 1 ? ints[0]! : argmaxOf(ints);
  const probabilities =
    activation === 'softmax' || activation === 'sigmoid'
      ? values
      : activation === 'log-softmax'
        ? values.map((v) => Math.exp(v))
        : undefined;
  return {
    output: ints,
    scale,
    kind,
    activation,
    values,
    argmax,
    ...(probabilities ? { probabilities } : {}),
  };
}
