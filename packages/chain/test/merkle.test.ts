// Merkle proofs over ordered lists (layer leaves of disputes): every index of every size verifies,
// and any change to the item, index, count, proof or root is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keccak256 } from '@aivm/crypto';
import { merkleProof, merkleRoot, verifyMerkleProof } from '../src/merkle.ts';

const items = (n: number) => Array.from({ length: n }, (_, i) => keccak256(Uint8Array.of(i, n)));

describe('merkle proofs', () => {
  it('verify at every index for sizes 1..33', () => {
    for (let n = 1; n <= 33; n++) {
      const list = items(n);
      const root = merkleRoot(list);
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(list, i);
        assert.ok(proof.length <= Math.ceil(Math.log2(n)));
        assert.equal(verifyMerkleProof(root, i, n, list[i]!, proof), true, `n=${n} i=${i}`);
      }
    }
  });

  it('refuse a wrong item, index, count, proof or root', () => {
    const list = items(13);
    const root = merkleRoot(list);
    const proof = merkleProof(list, 6);
    assert.equal(verifyMerkleProof(root, 6, 13, list[5]!, proof), false);
    assert.equal(verifyMerkleProof(root, 7, 13, list[6]!, proof), false);
    // The root does not bind the count (the chain knows it: layers = nodes + 1), but a count that
    // changes the proof's shape is refused.
    assert.equal(verifyMerkleProof(root, 12, 14, list[12]!, merkleProof(list, 12)), false);
    assert.equal(verifyMerkleProof(root, 6, 13, list[6]!, proof.slice(1)), false);
    assert.equal(verifyMerkleProof(root, 6, 13, list[6]!, [...proof, proof[0]!]), false);
    const bent = proof.map((p) => p.slice());
    bent[1]![0] ^= 1;
    assert.equal(verifyMerkleProof(root, 6, 13, list[6]!, bent), false);
    assert.equal(verifyMerkleProof(keccak256(root), 6, 13, list[6]!, proof), false);
    assert.equal(verifyMerkleProof(root, -1, 13, list[6]!, proof), false);
    assert.equal(verifyMerkleProof(root, 13, 13, list[6]!, proof), false);
    assert.throws(() => merkleProof(list, 13), RangeError);
  });
});
