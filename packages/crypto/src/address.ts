// Ethereum-style 20-byte addresses with EIP-55 checksums, the account format shared with EVM wallets.

import { bytesToHex, type Hex, hexToBytes } from './bytes.ts';
import { InvalidAddressError } from './errors.ts';
import { keccak256 } from './hash.ts';

export type Address = Hex;

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const LOWER_RE = /^0x[0-9a-f]{40}$/;
const UPPER_RE = /^0x[0-9A-F]{40}$/;
const asciiEncoder = new TextEncoder();

// The same few addresses are checksummed over and over (senders, validators); a bounded memo
// saves one keccak per call. Cleared wholesale when full: simple, and a miss only costs a hash.
const CACHE_LIMIT = 8192;
const checksumCache = new Map<string, Address>();

/** EIP-55 checksum of 40 lower-case hex digits (no 0x). */
function checksumLower(lower40: string): Address {
  const cached = checksumCache.get(lower40);
  if (cached !== undefined) return cached;
  const hash = keccak256(asciiEncoder.encode(lower40));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const c = lower40[i]!;
    const nibble = i & 1 ? hash[i >> 1]! & 0x0f : hash[i >> 1]! >> 4;
    out += nibble >= 8 && c >= 'a' ? c.toUpperCase() : c;
  }
  if (checksumCache.size >= CACHE_LIMIT) checksumCache.clear();
  checksumCache.set(lower40, out as Address);
  return out as Address;
}

/** True for 0x + 40 hex digits; mixed-case input must carry a correct EIP-55 checksum. */
export function isAddress(s: unknown): s is Address {
  if (typeof s !== 'string' || !ADDRESS_RE.test(s)) return false;
  if (LOWER_RE.test(s) || UPPER_RE.test(s)) return true;
  return checksumLower(s.slice(2).toLowerCase()) === s;
}

/** EIP-55 form of an address; rejects malformed input and mixed case with a wrong checksum. */
export function toChecksumAddress(addr: string): Address {
  if (typeof addr !== 'string' || !ADDRESS_RE.test(addr)) {
    throw new InvalidAddressError(`not an address (want 0x + 40 hex digits): ${String(addr).slice(0, 50)}`);
  }
  const checksummed = checksumLower(addr.slice(2).toLowerCase());
  if (checksummed !== addr && !LOWER_RE.test(addr) && !UPPER_RE.test(addr)) {
    throw new InvalidAddressError(`bad EIP-55 checksum: ${addr} (expected ${checksummed})`);
  }
  return checksummed;
}

export function addressToBytes(a: string): Uint8Array {
  if (!isAddress(a)) throw new InvalidAddressError(`not a valid address: ${String(a).slice(0, 50)}`);
  return hexToBytes(a);
}

export function bytesToAddress(b: Uint8Array): Address {
  if (!(b instanceof Uint8Array) || b.length !== 20) {
    throw new InvalidAddressError(
      `address must be 20 bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`,
    );
  }
  return checksumLower(bytesToHex(b).slice(2));
}

/** Address of an uncompressed public key given without its 0x04 prefix (64 bytes). */
export function rawPublicKeyToAddress(xy64: Uint8Array): Address {
  return bytesToAddress(keccak256(xy64).subarray(12));
}
