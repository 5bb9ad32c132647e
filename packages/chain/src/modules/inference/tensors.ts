// The request's input and a result's output as runtime tensors: the input is the model's single
// input value at batch 1 (int8, the value's own scale), the output the model's single output as
// int32 little-endian bytes, turned back into the output value's dtype for its layer leaf.

import { type Address, addressToBytes } from '@aivm/crypto';
import {
  decodeOutput,
  type IntDtype,
  type QuantModel,
  type QuantTensor,
  type QuantValue,
  tensorLeaf,
} from '@aivm/runtime/core';
import { ModuleError } from '../../errors.ts';

/**
 * Values a node output of each dtype may hold. int8 / int16 are quantized values, which the
 * runtime keeps symmetric (QMAX, saturating requantization; -128 / -32768 never occur). int32
 * values are index tensors (ArgMax output, or copies — reshape, gather, concat, transpose — of
 * int32 index constants, which the runtime does not range-check), so the full int32 range.
 */
const RANGE: Record<IntDtype, { min: number; max: number }> = {
  int8: { min: -127, max: 127 },
  int16: { min: -32767, max: 32767 },
  int32: { min: -2147483648, max: 2147483647 },
};

function valueNamed(model: QuantModel, name: string): QuantValue {
  const v = model.values.find((x) => x.name === name);
  if (!v) throw new ModuleError(`model value "${name}" has no description`);
  return v;
}

/** Shape with symbolic (batch) dimensions bound to 1. */
export function batchOne(v: QuantValue): number[] {
  return v.shape.map((d) => (typeof d === 'number' ? d : 1));
}

export function inputValue(model: QuantModel): QuantValue {
  return valueNamed(model, model.inputs[0]!);
}

export function outputValue(model: QuantModel): QuantValue {
  return valueNamed(model, model.outputs[0]!);
}

/** Value read by node `index` from the previous layer (the graph input for node 0). */
export function layerValue(model: QuantModel, index: number): QuantValue {
  return index === 0 ? inputValue(model) : valueNamed(model, model.nodes[index - 1]!.outputs[0]!);
}

export function inputTensor(model: QuantModel, input: Uint8Array): QuantTensor {
  const v = inputValue(model);
  const data = new Int8Array(input.length);
  for (let i = 0; i < input.length; i++) data[i] = (input[i]! << 24) >> 24;
  return { dtype: 'int8', shape: batchOne(v), data, scale: v.scale };
}

/** The output value as a tensor of its own dtype, or a ModuleError if a value is out of its range. */
export function outputTensor(model: QuantModel, output: Uint8Array): QuantTensor {
  const v = outputValue(model);
  const values = decodeOutput(output);
  const { min, max } = RANGE[v.dtype];
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x < min || x > max)
      throw new ModuleError(`output value ${x} at ${i} is outside the ${v.dtype} range`);
  }
  const data =
    v.dtype === 'int8'
      ? Int8Array.from(values)
      : v.dtype === 'int16'
        ? Int16Array.from(values)
        : Int32Array.from(values);
  return { dtype: v.dtype, shape: batchOne(v), data, scale: v.scale };
}

/**
 * Layer leaves of a slot are salted with its provider's address (20 bytes): the same tensor gives
 * different leaves for different providers, so one slot's commitment cannot be reused by another.
 */
export function leafSalt(provider: Address): Uint8Array {
  return addressToBytes(provider);
}

export function inputLeaf(model: QuantModel, input: Uint8Array, salt: Uint8Array): Uint8Array {
  return tensorLeaf(inputTensor(model, input), salt);
}

export function outputLeaf(model: QuantModel, output: Uint8Array, salt: Uint8Array): Uint8Array {
  return tensorLeaf(outputTensor(model, output), salt);
}
