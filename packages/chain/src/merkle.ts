// Binary Merkle root over an ordered list (transactions, receipts), RFC 6962 style: leaves and
// inner nodes hashed with distinct prefixes so a leaf can never pass for a node. Written here
// because it is ten lines and no library offers exactly this domain separation over keccak.

import { concatBytes, keccak256 } from '@aivm/crypto';

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);
export const EMPTY_ROOT = keccak256(new Uint8Array(0));

export function merkleRoot(items: Uint8Array[]): Uint8Array {
  if (items.length === 0) return EMPTY_ROOT;
  let level = items.map((item) => keccak256(concatBytes(LEAF, item)));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1];
      next.push(right ? keccak256(concatBytes(NODE, level[i]!, right)) : level[i]!);
    }
    level = next;
  }
  return level[0]!;
}

function leafHash(item: Uint8Array): Uint8Array {
  return keccak256(concatBytes(LEAF, item));
}

/**
 * Sibling hashes from item `index` up to the root of merkleRoot(items). A node without a sibling
 * (the last of an odd level) is promoted and contributes nothing, so the proof length depends on
 * index and count, and the verifier needs both.
 */
export function merkleProof(items: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= items.length)
    throw new RangeError(`index ${index} is outside 0..${items.length - 1}`);
  const proof: Uint8Array[] = [];
  let level = items.map(leafHash);
  let i = index;
  while (level.length > 1) {
    const sibling = i ^ 1;
    if (sibling < level.length) proof.push(level[sibling]!);
    const next: Uint8Array[] = [];
    for (let k = 0; k < level.length; k += 2) {
      const right = level[k + 1];
      next.push(right ? keccak256(concatBytes(NODE, level[k]!, right)) : level[k]!);
    }
    level = next;
    i >>= 1;
  }
  return proof;
}

/** True when `item` is at `index` of a list of `count` items whose merkleRoot is `root`. */
export function verifyMerkleProof(
  root: Uint8Array,
  index: number,
  count: number,
  item: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || index >= count) return false;
  let hash = leafHash(item);
  let i = index;
  let width = count;
  let used = 0;
  while (width > 1) {
    const sibling = i ^ 1;
    if (sibling < width) {
      const s = proof[used++];
      if (s?.length !== 32) return false;
      hash = keccak256(i & 1 ? concatBytes(NODE, s, hash) : concatBytes(NODE, hash, s));
    }
    i >>= 1;
    width = (width + 1) >> 1;
  }
  if (used !== proof.length || hash.length !== root.length) return false;
  for (let k = 0; k < hash.length; k++) if (hash[k] !== root[k]) return false;
  return true;
}
