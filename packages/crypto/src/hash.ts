// Hash functions used across AIVM (keccak256 for Ethereum compatibility, sha256 for content addressing).
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export { keccak256 } from './keccak.ts';

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}
