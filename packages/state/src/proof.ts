// Proof format and verifier for the state tree. Browser-safe (no `node:` imports, no Node globals): the SDK imports this
// module as `@aivm/state/proof` to check state proofs against a block's state root without trusting the node.
//
// The tree (see tree.ts) is a binary sparse Merkle tree over 256-bit paths `sha256(key)`, in which a subtree that
// holds exactly one leaf is replaced by that leaf and an empty subtree hashes to 32 zero bytes:
//   leafHash     = sha256(0x00 || sha256(key) || sha256(value))
//   internalHash = sha256(0x01 || leftHash || rightHash)
//   EMPTY        = 0x00 * 32
// A proof lists the sibling hashes from the root down to the position where the key's path ends: at its own leaf
// (membership), at an empty subtree, or at the leaf of another key whose hash shares that path prefix
// (non-membership, `leaf` present).

import { equalBytes, hexToBytes, sha256 } from '@aivm/crypto';

/** 0x-prefixed lower-case hex, as @aivm/crypto's bytesToHex writes it. */
export type Hex = `0x${string}`;

/** Longest key the state accepts, in bytes. */
export const MAX_KEY_BYTES = 256;
/** Largest value the state accepts, in bytes (1 MiB). */
export const MAX_VALUE_BYTES = 1024 * 1024;
/** Hash of the empty subtree, and so the root of the empty state. */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(32);
/** Domain-separation prefix of a leaf hash. */
export const LEAF_DOMAIN = 0x00;
/** Domain-separation prefix of an internal-node hash. */
export const INTERNAL_DOMAIN = 0x01;

export type StateProof = {
  /** The key asked about, hex of its raw bytes. */
  key: Hex;
  /** Its value under `root`, or null when the proof shows the key is absent. */
  value: Hex | null;
  /** State root the proof is against (32 bytes). */
  root: Hex;
  /** Sibling hashes from the root downwards; `siblings[i]` is the sibling at depth i + 1 (bit i of the path). */
  siblings: Hex[];
  /** Only in a non-membership proof whose path ends at another key's leaf: that leaf. */
  leaf?: { keyHash: Hex; valueHash: Hex };
};

export function hashLeaf(keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  const pre = new Uint8Array(65);
  pre[0] = LEAF_DOMAIN;
  pre.set(keyHash, 1);
  pre.set(valueHash, 33);
  return sha256(pre);
}

export function hashInternal(left: Uint8Array, right: Uint8Array): Uint8Array {
  const pre = new Uint8Array(65);
  pre[0] = INTERNAL_DOMAIN;
  pre.set(left, 1);
  pre.set(right, 33);
  return sha256(pre);
}

/** Bit `i` (0 = most significant bit of byte 0) of a 32-byte path. */
export function pathBit(path: Uint8Array, i: number): number {
  return (path[i >> 3]! >> (7 - (i & 7))) & 1;
}

/**
 * Checks that `proof.key` has `proof.value` (or is absent when null) in the state whose root is `proof.root`.
 * Pure; returns false for any malformed proof instead of throwing.
 */
export function verifyStateProof(proof: StateProof): boolean {
  try {
    const key = hexToBytes(proof.key);
    if (key.length === 0 || key.length > MAX_KEY_BYTES) return false;
    const root = hexToBytes(proof.root, 32);
    if (!Array.isArray(proof.siblings) || proof.siblings.length > 256) return false;
    const siblings = proof.siblings.map((s) => hexToBytes(s, 32));
    const depth = siblings.length;
    const keyHash = sha256(key);

    let node: Uint8Array;
    if (proof.value !== null) {
      if (proof.leaf !== undefined) return false;
      const value = hexToBytes(proof.value);
      if (value.length > MAX_VALUE_BYTES) return false;
      node = hashLeaf(keyHash, sha256(value));
    } else if (proof.leaf !== undefined) {
      const otherKeyHash = hexToBytes(proof.leaf.keyHash, 32);
      const otherValueHash = hexToBytes(proof.leaf.valueHash, 32);
      if (equalBytes(otherKeyHash, keyHash)) return false;
      // The other leaf sits on our path, so its path shares the first `depth` bits with ours.
      for (let i = 0; i < depth; i++) if (pathBit(otherKeyHash, i) !== pathBit(keyHash, i)) return false;
      node = hashLeaf(otherKeyHash, otherValueHash);
    } else {
      node = EMPTY_ROOT;
    }

    for (let i = depth - 1; i >= 0; i--) {
      node = pathBit(keyHash, i) ? hashInternal(siblings[i]!, node) : hashInternal(node, siblings[i]!);
    }
    return equalBytes(node, root);
  } catch {
    return false;
  }
}
