// The canonical model artifact: a QuantModel as bytes, and its content id (CIDv1, raw codec,
// sha2-256) — the model id used on chain. Encoding is RLP with a fixed field order; every number
// is an IEEE-754 float64 (big-endian), so integers, negative attributes and scales all round-trip
// exactly; integer arrays are little-endian bytes tagged with their type. Same model, same bytes.
// Browser-safe: no node: imports.

import { decodeRlp, encodeRlp } from '@aivm/codec';
import { bytesToUtf8, sha256, utf8ToBytes } from '@aivm/crypto';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import type { Dim } from './graph.ts';
import { ModelError } from './graph.ts';
import { validateQuantModel } from './int/validate.ts';
import {
  type IntArray,
  type IntDtype,
  QUANT_FORMAT,
  type QuantConstant,
  type QuantModel,
  type QuantNode,
  type QuantValue,
} from './quant/model.ts';

export const ARTIFACT_MAGIC = 'aivm-model/1';
/** Multicodec code of raw bytes; multihash code of sha2-256. */
const RAW_CODEC = 0x55;
const SHA2_256 = 0x12;
export const MAX_ARTIFACT_BYTES = 64 * 1024 * 1024;
/**
 * Deepest list nesting of an artifact: root > nodes > node > attrs > entry > tagged value >
 * number list. Every decoder below follows this fixed shape, so none recurses on the input.
 */
export const ARTIFACT_DEPTH = 7;

type Item = Uint8Array | Item[];

const f64 = (n: number): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, n);
  return out;
};
const str = (s: string): Uint8Array => utf8ToBytes(s);

function intArrayBytes(a: IntArray): Uint8Array {
  // Little-endian on every platform: copy through a DataView rather than trusting host order.
  const width = a.BYTES_PER_ELEMENT;
  const out = new Uint8Array(a.length * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (width === 1) view.setInt8(i, a[i]!);
    else if (width === 2) view.setInt16(i * 2, a[i]!, true);
    else view.setInt32(i * 4, a[i]!, true);
  }
  return out;
}

const DTYPE_OF: Record<number, IntDtype> = { 1: 'int8', 2: 'int16', 4: 'int32' };

function dtypeOf(a: IntArray): IntDtype {
  return DTYPE_OF[a.BYTES_PER_ELEMENT]!;
}

/** A tagged value: numbers, strings, number lists and integer arrays, unambiguous on decode. */
function tagged(v: number | string | number[] | IntArray): Item {
  if (typeof v === 'number') return [str('n'), f64(v)];
  if (typeof v === 'string') return [str('s'), str(v)];
  if (Array.isArray(v)) return [str('N'), v.map(f64)];
  return [str(dtypeOf(v)), intArrayBytes(v)];
}

function sortedEntries<V>(record: Record<string, V>): [string, V][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function encodeDims(shape: Dim[]): Item {
  return shape.map((d) => tagged(d));
}

export function encodeArtifact(model: QuantModel): Uint8Array {
  const values: Item = model.values.map((v) => [
    str(v.name),
    str(v.kind),
    str(v.dtype),
    f64(v.scale),
    encodeDims(v.shape),
  ]);
  const constants: Item = model.constants.map((c) => [
    str(c.name),
    str(c.kind),
    str(c.dtype),
    f64(c.scale),
    c.shape.map(f64),
    tagged(c.data),
  ]);
  const nodes: Item = model.nodes.map((n) => [
    str(n.name),
    str(n.op),
    str(n.kernel),
    n.inputs.map(str),
    n.outputs.map(str),
    sortedEntries(n.attrs).map(([k, v]) => [str(k), tagged(v)]),
    sortedEntries(n.params).map(([k, v]) => [str(k), tagged(v)]),
  ]);
  const c = model.calibration;
  return encodeRlp([
    str(ARTIFACT_MAGIC),
    str(model.format),
    str(model.name),
    f64(model.opset),
    model.inputs.map(str),
    model.outputs.map(str),
    values,
    constants,
    nodes,
    [str(c.method), f64(c.percentile), f64(c.samples)],
  ]);
}

// ---- decoding: strict, every field checked, errors name what is wrong ----

function fail(what: string, cause?: unknown): never {
  throw new ModelError(`invalid model artifact: ${what}`, cause === undefined ? undefined : { cause });
}

function list(item: Item | undefined, what: string, length?: number): Item[] {
  if (!Array.isArray(item)) fail(`${what} must be a list`);
  if (length !== undefined && item.length !== length) fail(`${what} must have ${length} fields`);
  return item;
}

function bytes(item: Item | undefined, what: string): Uint8Array {
  if (!(item instanceof Uint8Array)) fail(`${what} must be bytes`);
  return item;
}

function text(item: Item | undefined, what: string): string {
  try {
    return bytesToUtf8(bytes(item, what));
  } catch {
    fail(`${what} is not UTF-8`);
  }
}

function num(item: Item | undefined, what: string): number {
  const b = bytes(item, what);
  if (b.length !== 8) fail(`${what} must be an 8-byte float64`);
  return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);
}

function intArray(dtype: string, b: Uint8Array, what: string): IntArray {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dtype === 'int8') return new Int8Array(b.slice());
  if (dtype === 'int16' || dtype === 'int32') {
    const width = dtype === 'int16' ? 2 : 4;
    if (b.length % width) fail(`${what} has a partial ${dtype} element`);
    const out = dtype === 'int16' ? new Int16Array(b.length / 2) : new Int32Array(b.length / 4);
    for (let i = 0; i < out.length; i++)
      out[i] = width === 2 ? view.getInt16(i * 2, true) : view.getInt32(i * 4, true);
    return out;
  }
  fail(`${what} has unknown type ${dtype}`);
}

function untag(item: Item | undefined, what: string): number | string | number[] | IntArray {
  const [tagItem, payload] = list(item, what, 2);
  const tag = text(tagItem, `${what} tag`);
  if (tag === 'n') return num(payload, what);
  if (tag === 's') return text(payload, what);
  if (tag === 'N') return list(payload, what).map((x, i) => num(x, `${what}[${i}]`));
  return intArray(tag, bytes(payload, what), what);
}

function dims(item: Item | undefined, what: string): Dim[] {
  return list(item, what).map((d, i) => {
    const v = untag(d, `${what}[${i}]`);
    if (typeof v !== 'number' && typeof v !== 'string') fail(`${what}[${i}] must be a number or a name`);
    return v;
  });
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value))
    fail(`${what} "${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}

const DTYPES = ['int8', 'int16', 'int32'] as const;
const KINDS = ['quant', 'index'] as const;

export function decodeArtifact(data: Uint8Array): QuantModel {
  if (data.length > MAX_ARTIFACT_BYTES) fail(`larger than ${MAX_ARTIFACT_BYTES} bytes`);
  let root: Item;
  try {
    // No list deeper than the format's own nesting is even parsed (see ARTIFACT_DEPTH); the
    // CodecError stays the cause, so callers can read its machine-independent reason.
    root = decodeRlp(data, { maxDepth: ARTIFACT_DEPTH, what: 'a model artifact' });
  } catch (err) {
    fail((err as Error).message, err);
  }
  const f = list(root, 'artifact', 10);
  if (text(f[0], 'magic') !== ARTIFACT_MAGIC) fail('not an AIVM model artifact');
  const format = text(f[1], 'format');
  if (format !== QUANT_FORMAT) fail(`format ${format} is not supported (expected ${QUANT_FORMAT})`);
  const values: QuantValue[] = list(f[6], 'values').map((v, i) => {
    const [name, kind, dtype, scale, shape] = list(v, `values[${i}]`, 5);
    return {
      name: text(name, `values[${i}].name`),
      kind: oneOf(text(kind, 'kind'), KINDS, `values[${i}].kind`),
      dtype: oneOf(text(dtype, 'dtype'), DTYPES, `values[${i}].dtype`),
      scale: num(scale, `values[${i}].scale`),
      shape: dims(shape, `values[${i}].shape`),
    };
  });
  const constants: QuantConstant[] = list(f[7], 'constants').map((c, i) => {
    const [name, kind, dtype, scale, shape, data] = list(c, `constants[${i}]`, 6);
    const d = untag(data, `constants[${i}].data`);
    if (typeof d === 'number' || typeof d === 'string' || Array.isArray(d))
      fail(`constants[${i}].data must be an integer array`);
    return {
      name: text(name, `constants[${i}].name`),
      kind: oneOf(text(kind, 'kind'), KINDS, `constants[${i}].kind`),
      dtype: oneOf(text(dtype, 'dtype'), DTYPES, `constants[${i}].dtype`),
      scale: num(scale, `constants[${i}].scale`),
      shape: list(shape, `constants[${i}].shape`).map((x, j) => num(x, `constants[${i}].shape[${j}]`)),
      data: d,
    };
  });
  const record = <V>(
    item: Item | undefined,
    what: string,
    check: (v: unknown, w: string) => V,
  ): Record<string, V> =>
    Object.fromEntries(
      list(item, what).map((e, i) => {
        const [k, v] = list(e, `${what}[${i}]`, 2);
        const key = text(k, `${what}[${i}].key`);
        return [key, check(untag(v, `${what}.${key}`), `${what}.${key}`)];
      }),
    );
  const nodes: QuantNode[] = list(f[8], 'nodes').map((n, i) => {
    const [name, op, kernel, inputs, outputs, attrs, params] = list(n, `nodes[${i}]`, 7);
    const where = `nodes[${i}]`;
    return {
      name: text(name, `${where}.name`),
      op: text(op, `${where}.op`) as QuantNode['op'],
      kernel: text(kernel, `${where}.kernel`) as QuantNode['kernel'],
      inputs: list(inputs, `${where}.inputs`).map((x) => text(x, `${where}.inputs`)),
      outputs: list(outputs, `${where}.outputs`).map((x) => text(x, `${where}.outputs`)),
      attrs: record(attrs, `${where}.attrs`, (v, w) => {
        if (typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number')))
          return v as number | number[];
        fail(`${w} must be a number or a list of numbers`);
      }),
      params: record(params, `${where}.params`, (v, w) => {
        if (typeof v === 'number' || ArrayBuffer.isView(v)) return v as number | IntArray;
        fail(`${w} must be a number or an integer array`);
      }),
    };
  });
  const [method, percentile, samples] = list(f[9], 'calibration', 3);
  const model: QuantModel = {
    format: QUANT_FORMAT,
    name: text(f[2], 'name'),
    opset: num(f[3], 'opset'),
    inputs: list(f[4], 'inputs').map((x) => text(x, 'inputs')),
    outputs: list(f[5], 'outputs').map((x) => text(x, 'outputs')),
    values,
    constants,
    nodes,
    calibration: {
      method: oneOf(
        text(method, 'calibration.method'),
        ['maxabs', 'percentile'] as const,
        'calibration.method',
      ),
      percentile: num(percentile, 'calibration.percentile'),
      samples: num(samples, 'calibration.samples'),
    },
  };
  // Canonical form only: re-encoding must give the same bytes (no alternative encodings of one model).
  const again = encodeArtifact(model);
  if (again.length !== data.length || again.some((b, i) => b !== data[i])) fail('not in canonical form');
  // Well-formed bytes can still describe an impossible model (unknown kernel, wrong weight sizes):
  // refuse it now rather than at its first run.
  validateQuantModel(model);
  return model;
}

/** The model id: CIDv1 (raw codec, sha2-256) of the artifact bytes, as a base32 string. */
export function modelId(artifact: Uint8Array): string {
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256, sha256(artifact))).toString();
}
