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
