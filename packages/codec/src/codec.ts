// Canonical binary encoding (RLP with strict, schema-checked decoding), JSON form and EIP-712
// shape for every schema. RLP encoding comes from @ethereumjs/rlp; decoding (rlp.ts) and the
// schema layer on top are ours because no library bounds nesting or types RLP by schema with the
// limits a public decoder needs.

import {
  addressToBytes,
  bigintToBytes,
  bytesToAddress,
  bytesToBigint,
  bytesToHex,
  bytesToUtf8,
  hexToBytes,
  isAddress,
  isHex,
  utf8ToBytes,
} from '@aivm/crypto';
import { type NestedUint8Array, encode as rlpEncode } from '@ethereumjs/rlp';
import { CodecError } from './errors.ts';
import { decodeRlp, MAX_RLP_DEPTH, MAX_RLP_ITEMS } from './rlp.ts';
import type { FieldType, Infer, StructType } from './schema.ts';
import { typeName } from './schema.ts';

export { CODEC_ERROR_REASONS, CodecError, type CodecErrorReason, codecErrorReason } from './errors.ts';
export { decodeRlp, MAX_RLP_DEPTH, MAX_RLP_ITEMS, type RlpItem, type RlpLimits } from './rlp.ts';

type Raw = Uint8Array | NestedUint8Array;

function maxUint(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

function toRaw(type: FieldType, value: unknown, path: string): Raw {
  switch (type.kind) {
    case 'uint': {
      const v = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
      if (typeof v !== 'bigint') throw new CodecError(path, `expected uint${type.bits}`);
      if (v < 0n || v > maxUint(type.bits)) throw new CodecError(path, `out of range for uint${type.bits}`);
      return bigintToBytes(v);
    }
    case 'address':
      if (typeof value !== 'string' || !isAddress(value)) throw new CodecError(path, 'expected an address');
      return addressToBytes(value);
    case 'bool':
      if (typeof value !== 'boolean') throw new CodecError(path, 'expected a boolean');
      return value ? Uint8Array.of(1) : new Uint8Array(0);
    case 'bytes32':
      if (!(value instanceof Uint8Array) || value.length !== 32)
        throw new CodecError(path, 'expected 32 bytes');
      return value;
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw new CodecError(path, 'expected bytes');
      if (value.length > type.max) throw new CodecError(path, `longer than ${type.max} bytes`, 'too-large');
      return value;
    case 'string': {
      if (typeof value !== 'string') throw new CodecError(path, 'expected a string');
      const b = utf8ToBytes(value);
      if (b.length > type.max) throw new CodecError(path, `longer than ${type.max} bytes`, 'too-large');
      return b;
    }
    case 'array': {
      if (!Array.isArray(value)) throw new CodecError(path, 'expected an array');
      if (value.length > type.max) throw new CodecError(path, `more than ${type.max} items`, 'too-large');
      return value.map((item, i) => toRaw(type.of, item, `${path}[${i}]`)) as NestedUint8Array;
    }
    case 'struct': {
      if (typeof value !== 'object' || value === null) throw new CodecError(path, `expected ${type.name}`);
      const obj = value as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        if (!(key in type.fields)) throw new CodecError(path, `unknown field ${key} in ${type.name}`);
      }
      return Object.entries(type.fields).map(([name, ft]) =>
        toRaw(ft, obj[name], path ? `${path}.${name}` : name),
      ) as NestedUint8Array;
    }
  }
}

function fromRaw(type: FieldType, raw: Raw, path: string): unknown {
  if (type.kind === 'array' || type.kind === 'struct') {
    if (raw instanceof Uint8Array) throw new CodecError(path, `expected a list for ${typeName(type)}`);
    if (type.kind === 'array') {
      if (raw.length > type.max) throw new CodecError(path, `more than ${type.max} items`, 'too-large');
      return raw.map((item, i) => fromRaw(type.of, item, `${path}[${i}]`));
    }
    const entries = Object.entries(type.fields);
    if (raw.length !== entries.length) {
      throw new CodecError(path, `${type.name} has ${entries.length} fields, got ${raw.length}`);
    }
    const out: Record<string, unknown> = {};
    entries.forEach(([name, ft], i) => {
      out[name] = fromRaw(ft, raw[i]!, path ? `${path}.${name}` : name);
    });
    return out;
  }
  if (!(raw instanceof Uint8Array)) throw new CodecError(path, `expected bytes for ${typeName(type)}`);
  switch (type.kind) {
    case 'uint': {
      if (raw.length > type.bits / 8) throw new CodecError(path, `out of range for uint${type.bits}`);
      if (raw.length > 0 && raw[0] === 0) {
        throw new CodecError(path, 'non-canonical integer (leading zero)', 'non-canonical');
      }
      const v = bytesToBigint(raw);
      return type.bits <= 32 ? Number(v) : v;
    }
    case 'address':
      if (raw.length !== 20) throw new CodecError(path, 'address must be 20 bytes');
      return bytesToAddress(raw);
    case 'bool':
      if (raw.length === 0) return false;
      if (raw.length === 1 && raw[0] === 1) return true;
      throw new CodecError(path, 'non-canonical boolean', 'non-canonical');
    case 'bytes32':
      if (raw.length !== 32) throw new CodecError(path, 'expected 32 bytes');
      return raw;
    case 'bytes':
      if (raw.length > type.max) throw new CodecError(path, `longer than ${type.max} bytes`, 'too-large');
      return raw;
    case 'string':
      if (raw.length > type.max) throw new CodecError(path, `longer than ${type.max} bytes`, 'too-large');
      try {
        return bytesToUtf8(raw);
      } catch {
        throw new CodecError(path, 'invalid UTF-8');
      }
  }
}

/** Canonical bytes of `value`; throws CodecError naming the offending field. */
export function encode<S extends FieldType>(schema: S, value: Infer<S>): Uint8Array {
  schemaBounds(schema); // refuses a schema too deep to ever decode
  return rlpEncode(toRaw(schema, value, ''));
}

/** The RLP item for `value`, to embed in a larger hand-assembled list. */
export function encodeRaw<S extends FieldType>(schema: S, value: Infer<S>): Raw {
  return toRaw(schema, value, '');
}

type SchemaBounds = { depth: number; items: number };
const boundsCache = new WeakMap<FieldType, SchemaBounds>();

/**
 * How deep a schema nests lists and the most RLP items one of its values can hold. Walks the
 * schema, not the input, so its recursion is as deep as our own type definitions.
 */
function schemaBounds(type: FieldType): SchemaBounds {
  const cached = boundsCache.get(type);
  if (cached) return cached;
  let bounds: SchemaBounds;
  if (type.kind === 'array') {
    const of = schemaBounds(type.of);
    bounds = { depth: of.depth + 1, items: Math.min(Number.MAX_SAFE_INTEGER, 1 + type.max * of.items) };
  } else if (type.kind === 'struct') {
    bounds = { depth: 1, items: 1 };
    for (const ft of Object.values(type.fields)) {
      const f = schemaBounds(ft);
      bounds = {
        depth: Math.max(bounds.depth, f.depth + 1),
        items: Math.min(Number.MAX_SAFE_INTEGER, bounds.items + f.items),
      };
    }
  } else {
    bounds = { depth: 0, items: 1 };
  }
  if (bounds.depth > MAX_RLP_DEPTH) {
    // A bug in our own schema, not in the input: such values could never be decoded.
    throw new Error(
      `schema ${typeName(type)} nests ${bounds.depth} lists, more than MAX_RLP_DEPTH ${MAX_RLP_DEPTH}`,
    );
  }
  boundsCache.set(type, bounds);
  return bounds;
}

/** Strict decoding: only the canonical encoding of a valid value is accepted. */
export function decode<S extends FieldType>(schema: S, bytes: Uint8Array): Infer<S> {
  // Nothing nested deeper than the schema allows is even parsed: such input fails fast as
  // too-deep whatever it holds further on. The item cap is the schema's bound only where that is
  // above the default, so a small oversized array still fails with its field's name in fromRaw.
  const { depth, items } = schemaBounds(schema);
  const maxItems = Math.max(items, MAX_RLP_ITEMS);
  const raw = decodeRlp(bytes, { maxDepth: depth, maxItems, what: typeName(schema) });
  return fromRaw(schema, raw, '') as Infer<S>;
}

/**
 * Decodes an item of decodeRlp's output (e.g. one field of a hand-assembled list). Its recursion
 * follows the schema: a list where the schema has none is refused, never descended into.
 */
export function decodeRaw<S extends FieldType>(schema: S, raw: Raw, path = ''): Infer<S> {
  return fromRaw(schema, raw, path) as Infer<S>;
}

export { rlpEncode as encodeRlp };

/** JSON-safe form: integers of 64+ bits as decimal strings, bytes as 0x hex. */
export function toJson<S extends FieldType>(schema: S, value: Infer<S>): unknown {
  return jsonOut(schema, value);
}

function jsonOut(type: FieldType, value: unknown): unknown {
  switch (type.kind) {
    case 'uint':
      return typeof value === 'bigint' ? value.toString() : value;
    case 'bytes':
    case 'bytes32':
      return bytesToHex(value as Uint8Array);
    case 'array':
      return (value as unknown[]).map((v) => jsonOut(type.of, v));
    case 'struct':
      return Object.fromEntries(
        Object.entries(type.fields).map(([k, ft]) => [k, jsonOut(ft, (value as Record<string, unknown>)[k])]),
      );
    default:
      return value;
  }
}

/** Parses the JSON form (as produced by toJson, or typed by a person) and validates it fully. */
export function fromJson<S extends FieldType>(schema: S, json: unknown): Infer<S> {
  const value = jsonIn(schema, json, '');
  toRaw(schema, value, ''); // range and size checks
  return value as Infer<S>;
}

function jsonIn(type: FieldType, json: unknown, path: string): unknown {
  switch (type.kind) {
    case 'uint':
      if (typeof json === 'number' && Number.isSafeInteger(json) && json >= 0) {
        return type.bits <= 32 ? json : BigInt(json);
      }
      if (typeof json === 'string' && /^(0|[1-9][0-9]{0,77}|0x[0-9a-fA-F]{1,64})$/.test(json)) {
        const v = BigInt(json);
        if (v > maxUint(type.bits)) throw new CodecError(path, `out of range for uint${type.bits}`);
        return type.bits <= 32 ? Number(v) : v;
      }
      throw new CodecError(path, `expected uint${type.bits} as a number or decimal string`);
    case 'bytes':
    case 'bytes32':
      if (!isHex(json)) throw new CodecError(path, 'expected 0x-prefixed hex');
      return hexToBytes(json);
    case 'array':
      if (!Array.isArray(json)) throw new CodecError(path, 'expected an array');
      if (json.length > type.max) throw new CodecError(path, `more than ${type.max} items`, 'too-large');
      return json.map((v, i) => jsonIn(type.of, v, `${path}[${i}]`));
    case 'struct': {
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        throw new CodecError(path, `expected ${type.name} object`);
      }
      const obj = json as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        if (!(key in type.fields)) throw new CodecError(path, `unknown field ${key} in ${type.name}`);
      }
      return Object.fromEntries(
        Object.entries(type.fields).map(([k, ft]) => {
          const p = path ? `${path}.${k}` : k;
          if (!(k in obj)) throw new CodecError(p, 'missing');
          return [k, jsonIn(ft, obj[k], p)];
        }),
      );
    }
    case 'address':
      if (typeof json !== 'string' || !isAddress(json)) throw new CodecError(path, 'expected an address');
      return bytesToAddress(addressToBytes(json));
    default:
      return json;
  }
}

const typesCache = new WeakMap<StructType, Record<string, { name: string; type: string }[]>>();

/**
 * EIP-712 `types` for a struct schema, including every nested struct. The result is cached per
 * schema and must not be mutated: hashers cache their type hashes by this object's identity.
 */
export function eip712Types(schema: StructType): Record<string, { name: string; type: string }[]> {
  const cached = typesCache.get(schema);
  if (cached) return cached;
  const out: Record<string, { name: string; type: string }[]> = {};
  const visit = (type: FieldType): void => {
    if (type.kind === 'array') {
      visit(type.of);
      return;
    }
    if (type.kind !== 'struct') return;
    const existing = out[type.name];
    const fields = Object.entries(type.fields).map(([name, ft]) => ({ name, type: typeName(ft) }));
    if (existing) {
      if (JSON.stringify(existing) !== JSON.stringify(fields)) {
        throw new Error(`two different structs named ${type.name}`);
      }
      return;
    }
    out[type.name] = fields;
    for (const ft of Object.values(type.fields)) visit(ft);
  };
  visit(schema);
  typesCache.set(schema, out);
  return out;
}

/** The EIP-712 message form of a value: bytes as hex, integers as bigint. */
export function toTypedMessage<S extends StructType>(schema: S, value: Infer<S>): Record<string, unknown> {
  return typedOut(schema, value) as Record<string, unknown>;
}

function typedOut(type: FieldType, value: unknown): unknown {
  switch (type.kind) {
    case 'uint':
      return BigInt(value as number | bigint);
    case 'bytes':
    case 'bytes32':
      return bytesToHex(value as Uint8Array);
    case 'array':
      return (value as unknown[]).map((v) => typedOut(type.of, v));
    case 'struct':
      return Object.fromEntries(
        Object.entries(type.fields).map(([k, ft]) => [
          k,
          typedOut(ft, (value as Record<string, unknown>)[k]),
        ]),
      );
    default:
      return value;
  }
}
