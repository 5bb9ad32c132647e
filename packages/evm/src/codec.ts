// The encodings both chains agree on (docs/evm.md, "Identifiers and encodings"): the model id as
// bytes32 (the sha2-256 digest inside its CID), int8 input bytes, int32 little-endian output
// bytes, keccak256 hashes of both, tiers. Browser-safe.

import { bytes32ToModelId as digestToModelId, modelIdToBytes32 as modelIdToDigest } from '@aivm/chain';
import { type Hex, isHex, keccak256 } from 'viem';

/** A value given to the SDK that cannot be what the chain or contract expects. */
export class EvmInputError extends Error {
  override name = 'EvmInputError';
}

/** Tier bits as the oracle and AIVM number them. */
export const TIER = { onchain: 1, zk: 2, optimistic: 4 } as const;
export type TierName = keyof typeof TIER;

/** The oracle's request statuses, by their enum value. */
export const REQUEST_STATUS = [
  'None',
  'Pending',
  'Relayed',
  'Fulfilled',
  'CallbackFailed',
  'Refunded',
] as const;
export type RequestStatus = (typeof REQUEST_STATUS)[number];

/** `path` of ResultDelivered. */
export const DELIVERY_PATH = { 1: 'zk', 2: 'attested' } as const;

export function tierNumber(tier: number | TierName): 1 | 2 | 4 {
  const n = typeof tier === 'string' ? TIER[tier] : tier;
  if (n !== 1 && n !== 2 && n !== 4)
    throw new EvmInputError(`tier must be onchain (1), zk (2) or optimistic (4), got ${tier}`);
  return n;
}

export function tierName(tier: number): TierName {
  const e = (Object.entries(TIER) as [TierName, number][]).find(([, v]) => v === tier);
  if (!e) throw new EvmInputError(`unknown tier ${tier}`);
  return e[0];
}

const toHex = (b: Uint8Array): Hex => `0x${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;

export function hexToU8(h: Hex | string, what = 'hex'): Uint8Array {
  if (!isHex(h, { strict: true }) || h.length % 2 !== 0)
    throw new EvmInputError(`${what} is not 0x hex bytes`);
  const out = new Uint8Array((h.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

export { toHex as u8ToHex };

/** An AIVM model id (CIDv1 raw sha2-256, `bafkrei…`) as the oracle's bytes32. */
export function modelIdToBytes32(modelId: string): Hex {
  try {
    return toHex(modelIdToDigest(modelId));
  } catch (e) {
    throw new EvmInputError((e as Error).message);
  }
}

/** The AIVM model id of an oracle bytes32 model id. */
export function bytes32ToModelId(modelId: Hex): string {
  const b = hexToU8(modelId, 'modelId');
  if (b.length !== 32) throw new EvmInputError('modelId must be 32 bytes');
  return digestToModelId(b);
}

/** Quantized input values (integers in -128..127) as the int8 bytes a request carries. */
export function encodeInput(values: ArrayLike<number>): Hex {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isInteger(v) || v < -128 || v > 127)
      throw new EvmInputError(`input element ${i} is ${v}: not an int8 (-128..127)`);
    out[i] = v & 0xff;
  }
  return toHex(out);
}

/** int8 input bytes as numbers. */
export function decodeInput(input: Hex | Uint8Array): number[] {
  const b = typeof input === 'string' ? hexToU8(input, 'input') : input;
  return Array.from(new Int8Array(b.buffer, b.byteOffset, b.byteLength));
}

/** int32 values as the output bytes AIVM stores (little-endian). */
export function encodeOutput(values: ArrayLike<number>): Hex {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)
      throw new EvmInputError(`output element ${i} is ${v}: not an int32`);
    view.setInt32(i * 4, v, true);
  }
  return toHex(out);
}

/** AIVM output bytes (int32 little-endian per element) as numbers. */
export function decodeOutput(output: Hex | Uint8Array): number[] {
  const b = typeof output === 'string' ? hexToU8(output, 'output') : output;
  if (b.length % 4 !== 0) throw new EvmInputError(`output is ${b.length} bytes: not a whole number of int32`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length / 4 }, (_, i) => view.getInt32(i * 4, true));
}

/** Index of the largest value, the first one on ties (AivmOutput.argmax); -1 when empty. */
export function argmax(values: readonly number[]): number {
  let best = -1;
  for (let i = 0; i < values.length; i++)
    if (best < 0 || (values[i] as number) > (values[best] as number)) best = i;
  return best;
}

/**
 * A CGPT → ETH rate given as decimal ETH per 1 CGPT (e.g. "0.0005") as the oracle's weiPerCgpt:
 * ETH wei per 1 CGPT, 18-decimal fixed point (exact: at most 18 decimals, no rounding).
 */
export function parseWeiPerCgpt(text: string): bigint {
  const m = /^([0-9]{1,30})(?:\.([0-9]{1,18}))?$/.exec(text.trim());
  if (!m) throw new EvmInputError(`"${text}" is not a decimal ETH amount per CGPT (at most 18 decimals)`);
  return BigInt(m[1] as string) * 10n ** 18n + BigInt((m[2] ?? '').padEnd(18, '0'));
}

/** weiPerCgpt as decimal ETH per 1 CGPT (the inverse of {@link parseWeiPerCgpt}). */
export function formatWeiPerCgpt(weiPerCgpt: bigint): string {
  const frac = (weiPerCgpt % 10n ** 18n).toString().padStart(18, '0').replace(/0+$/, '');
  return `${weiPerCgpt / 10n ** 18n}${frac ? `.${frac}` : ''}`;
}

/**
 * The ETH wei the AIVM part of a quote comes to (AivmOracle.quote): `cgptWei × weiPerCgpt ×
 * (10000 + premiumBps) / (1e18 × 10000)`, rounded up (the relayer never gets less).
 */
export function aivmFeeWei(cgptWei: bigint, weiPerCgpt: bigint, premiumBps: number): bigint {
  const n = cgptWei * weiPerCgpt * (10_000n + BigInt(premiumBps));
  const d = 10n ** 18n * 10_000n;
  return (n + d - 1n) / d;
}

/** keccak256 of the input bytes (the oracle's inputHash, what validators attest). */
export function inputHashOf(input: Hex | Uint8Array): Hex {
  return keccak256(typeof input === 'string' ? hexToU8(input, 'input') : input);
}

/**
 * Input bytes as a `data:` URI (base64) for requestInferenceCommitted's `inputURI`: the relayer
 * reads the input from it, and nothing has to be hosted.
 */
export function inputDataURI(input: Hex | Uint8Array): string {
  const b = typeof input === 'string' ? hexToU8(input, 'input') : input;
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return `data:application/octet-stream;base64,${btoa(s)}`;
}

/**
 * The bytes a `data:` URI holds (RFC 2397): its body base64 (`;base64`) or percent-encoded; a
 * body that is all `0x` hex is read as hex. Throws EvmInputError when it is not a well-formed data URI.
 */
export function dataURIBytes(uri: string): Uint8Array {
  if (!uri.startsWith('data:')) throw new EvmInputError('not a data: URI');
  const comma = uri.indexOf(',');
  if (comma < 0) throw new EvmInputError('a data: URI has a comma before its body');
  const meta = uri.slice(5, comma);
  const body = uri.slice(comma + 1);
  if (/;base64$/i.test(meta)) {
    const text = body.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) =>
      String.fromCharCode(Number.parseInt(h, 16)),
    );
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1)
      throw new EvmInputError('the body of a base64 data: URI is not base64');
    let bin: string;
    try {
      bin = atob(text);
    } catch {
      throw new EvmInputError('the body of a base64 data: URI is not base64');
    }
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }
  if (/^0x([0-9a-fA-F]{2})*$/.test(body)) return hexToU8(body);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (body[i] === '%') {
      const h = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new EvmInputError(`bad percent escape at ${i} of a data: URI`);
      out.push(Number.parseInt(h, 16));
      i += 2;
    } else if (c < 0x80) out.push(c);
    else throw new EvmInputError('a data: URI body is ASCII (bytes above 0x7f are percent-encoded)');
  }
  return Uint8Array.from(out);
}
