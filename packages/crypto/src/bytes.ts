// Byte and hex helpers shared by every package (browser-safe: no Buffer). Hex strings are always 0x-prefixed and lower case
// on output; input is accepted in either case.

import { bytesToHex as nobleBytesToHex, hexToBytes as nobleHexToBytes } from '@noble/hashes/utils.js';
import { EncodingError } from './errors.ts';

export { EncodingError };

export type Hex = `0x${string}`;

const HEX_RE = /^0x(?:[0-9a-fA-F]{2})*$/;

export function isHex(value: unknown): value is Hex {
  return typeof value === 'string' && HEX_RE.test(value);
}

export function bytesToHex(bytes: Uint8Array): Hex {
  return `0x${nobleBytesToHex(bytes)}`;
}

export function hexToBytes(hex: string, expectedLength?: number): Uint8Array {
  if (!isHex(hex)) throw new EncodingError(`invalid hex string: ${hex.slice(0, 24)}`);
  const out = nobleHexToBytes(hex.slice(2));
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new EncodingError(`expected ${expectedLength} bytes, got ${out.length}`);
  }
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic byte order: the canonical order for sorting keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8ToBytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Strict UTF-8 decoding: malformed input throws instead of being replaced. */
export function bytesToUtf8(b: Uint8Array): string {
  try {
    return decoder.decode(b);
  } catch {
    throw new EncodingError('invalid UTF-8');
  }
}

/** Big-endian unsigned integer to minimal bytes (0 -> empty). */
export function bigintToBytes(value: bigint): Uint8Array {
  if (value < 0n) throw new EncodingError('negative integer');
  if (value === 0n) return new Uint8Array(0);
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return nobleHexToBytes(hex);
}

export function bytesToBigint(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  return BigInt(bytesToHex(b));
}

/** 8-byte big-endian encoding of a non-negative safe integer; sorts like the number. */
export function u64be(value: number | bigint): Uint8Array {
  // DataView would silently wrap negative or oversized values, which would corrupt key order.
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new EncodingError(`not a safe integer: ${value}`);
  const big = BigInt(value);
  if (big < 0n || big > 0xffffffffffffffffn) throw new EncodingError(`out of u64 range: ${big}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, big);
  return out;
}

export function readU64be(b: Uint8Array, offset = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(offset);
}
