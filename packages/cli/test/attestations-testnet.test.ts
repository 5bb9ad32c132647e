// Attestations on a real 4-validator testnet (createTestnet homes, `aivm start` processes; docs/evm.md):
// every genesis validator has an attestation key in its home (attestation.json) and in the genesis
// attestation set. An on-chain inference is finalized in its own block; every node then answers
// aivm_getAttestations with at least 3 of the 4 signatures, each recovering to a member of the set,
// holding more than 2/3 of its power. Equivocation evidence built from one validator's real key
// (its keystore, decrypted) over two different AivmResults for that request is accepted: the
// validator is slashed, jailed and tombstoned; the same evidence again is refused as a duplicate.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { aivmResultDigest, ERR, SignedAttestationSchema, signedResult, WEI_PER_CGPT } from '@aivm/chain';
import { toJson } from '@aivm/codec';
import {
  type Address,
  bytesToHex,
  hexToBytes,
  mnemonicToPrivateKey,
  privateKeyToAddress,
  recoverAddress,
  signDigest,
} from '@aivm/crypto';
import { encodeArtifact, importOnnx, quantize } from '@aivm/runtime';
import { publishModel, requestInference, TIERS, Wallet } from '@aivm/sdk';
import { loadAttestationKey, loadOperatorKey } from '../src/home.ts';
import { DEV_MNEMONIC } from '../src/index.ts';
import { type Network, PASSWORD, useTestnet, waitFor } from './network-helpers.ts';
import { tanhSigmoidCalibration, tanhSigmoidOnnx } from './tiny-models.ts';

const BLOCK_TIME_MS = 100;

type Attestation = {
  kind: string;
  message: { requestId: string; modelId: string; tier: number; inputHash: string; outputHash: string };
  digest: string;
  setId: string;
  signatures: { signer: Address; signature: string }[];
  signedPower: string;
  totalPower: string;
};
type AttestationSetView = { id: string; members: { signer: Address; power: string }[]; totalPower: string };
type ValidatorView = {
  operator: Address;
  attestationKey: Address;
  jailed: boolean;
  tombstoned: boolean;
  tokens: string;
};

describe('attestations on a 4-validator testnet (real processes)', { timeout: 400_000 }, () => {
  const testnet = useTestnet({ validators: 4, blockTimeMs: BLOCK_TIME_MS });
  let net: Network;
  before(() => {
    net = testnet.net;
  });

  let requestId: bigint;
  let attestation: Attestation;

  it('a finalized on-chain request is attested by > 2/3 of the power, on every node', {
    timeout: 240_000,
  }, async () => {
    const client = net.nodes[0]!.client;
    // Every genesis validator's home key is its attestation key on chain.
    for (const [i, node] of net.nodes.entries()) {
      const key = (await loadAttestationKey(node.home, PASSWORD))!;
      const v = await client.query<ValidatorView>('staking/validator', { operator: net.operators[i]! });
      assert.equal(v.attestationKey, privateKeyToAddress(key));
    }
    const set = await client.query<AttestationSetView>('staking/attestationSet', {});
    assert.equal(set.id, '1');
    assert.equal(set.members.length, 4);

    const account = Wallet.fromPrivateKey(mnemonicToPrivateKey(DEV_MNEMONIC, 0), client);
    const model = quantize(importOnnx(tanhSigmoidOnnx()), [
      { x: { dtype: 'float32', shape: [64, 8], data: Float32Array.from(tanhSigmoidCalibration(64).flat()) } },
    ]);
    const { id: modelId } = await publishModel(account, {
      artifact: encodeArtifact(model),
      name: 'tanh-sigmoid',
      inputSchema: '[1,8]',
      outputSchema: '[1,3]',
      priceWei: WEI_PER_CGPT / 100n,
      tiers: TIERS.onchain,
      skipBlobUpload: true,
      timeoutMs: 60_000,
    });
    const sent = await requestInference(account, {
      modelId,
      tier: 'onchain',
      input: [[0.1, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7, 0.8]],
    });
    requestId = sent.requestId;

    for (const node of net.nodes) {
      const a = await waitFor(
        `${node.name} to hold 3 attestations of request ${requestId}`,
        async () => {
          const got = await node.client.request<Attestation | null>('aivm_getAttestations', {
            requestId: requestId.toString(),
          });
          return got && got.signatures.length >= 3 ? got : undefined;
        },
        { timeoutMs: 30_000, diagnose: () => net.diagnose() },
      );
      assert.equal(a.kind, 'AivmResult');
      assert.equal(a.message.requestId, requestId.toString());
      assert.equal(a.setId, '1');
      const members = new Map(set.members.map((m) => [m.signer.toLowerCase(), BigInt(m.power)]));
      let power = 0n;
      for (const s of a.signatures) {
        const signer = recoverAddress(hexToBytes(a.digest), hexToBytes(s.signature));
        assert.equal(signer, s.signer);
        assert.ok(members.has(signer.toLowerCase()), `${signer} is not a member of set 1`);
        power += members.get(signer.toLowerCase())!;
      }
      const sorted = [...a.signatures].sort((x, y) =>
        x.signer.toLowerCase() < y.signer.toLowerCase() ? -1 : 1,
      );
      assert.deepEqual(a.signatures, sorted);
      assert.equal(a.signedPower, power.toString());
      assert.equal(a.totalPower, set.totalPower);
      assert.ok(power * 3n > BigInt(a.totalPower) * 2n, `${power} of ${a.totalPower}`);
      // Every node agrees on the message.
      if (attestation) assert.equal(a.digest, attestation.digest);
      attestation = a;
    }
  });

  it('equivocation evidence from a real attestation key: slashed, jailed, tombstoned; a duplicate refused', {
    timeout: 120_000,
  }, async () => {
    const client = net.nodes[0]!.client;
    const victim = net.nodes[3]!;
    const operator = net.operators[3]!;
    const key = (await loadAttestationKey(victim.home, PASSWORD))!;
    const chainId = (await client.status()).chainId;
    const honest = {
      requestId,
      modelId: hexToBytes(attestation.message.modelId),
      tier: attestation.message.tier,
      inputHash: hexToBytes(attestation.message.inputHash),
      outputHash: hexToBytes(attestation.message.outputHash),
    };
    assert.equal(bytesToHex(aivmResultDigest(chainId, honest)), attestation.digest);
    const forged = { ...honest, outputHash: new Uint8Array(32).fill(0xee) };
    const sign = (r: typeof honest) =>
      toJson(SignedAttestationSchema, signedResult(r, signDigest(aivmResultDigest(chainId, r), key)));
    const evidence = { first: sign(honest), second: sign(forged) };
    const before = await client.query<ValidatorView>('staking/validator', { operator });
    assert.equal(before.jailed, false);

    // Anyone may report: here validator 0's operator.
    const reporter = Wallet.fromPrivateKey((await loadOperatorKey(net.nodes[0]!.home, PASSWORD))!, client);
    const hash = await reporter.send('slashing/attestationEvidence', evidence);
    const record = await client.waitForTx(hash, { timeoutMs: 60_000 });
    assert.equal(record.receipt.code, 0, record.receipt.error);
    const after = await client.query<ValidatorView>('staking/validator', { operator });
    assert.equal(after.jailed, true);
    assert.equal(after.tombstoned, true);
    assert.ok(BigInt(after.tokens) < BigInt(before.tokens));
    const ev = record.receipt.events.find(
      (e) => e.module === 'slashing' && e.type === 'attestationEquivocation',
    );
    assert.ok(ev, JSON.stringify(record.receipt.events));

    // Refused by the node's gas estimate, and, sent anyway, by the chain with the same code.
    await assert.rejects(reporter.send('slashing/attestationEvidence', evidence), (err: unknown) => {
      assert.equal((err as { code?: number }).code, ERR.DUPLICATE_EVIDENCE);
      assert.match((err as Error).message, /already punished/);
      return true;
    });
    const again = await client.waitForTx(
      await reporter.send('slashing/attestationEvidence', evidence, { gasLimit: 1_000_000n }),
      { timeoutMs: 60_000 },
    );
    assert.equal(again.receipt.code, ERR.DUPLICATE_EVIDENCE, again.receipt.error);
    // The jailed validator left the attestation set: a new set, signed by the members of set 1.
    const set = await waitFor(
      'attestation set 2',
      async () => {
        const s = await client.query<AttestationSetView>('staking/attestationSet', {});
        return s.id === '2' ? s : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(set.members.length, 3);
    assert.ok(!set.members.some((m) => m.signer === privateKeyToAddress(key)));
    const handover = await waitFor(
      'AivmValidatorSet(2) signed by > 2/3 of set 1',
      async () => {
        const a = await client.request<Attestation | null>('aivm_getValidatorSetAttestation', { setId: '2' });
        return a && BigInt(a.signedPower) * 3n > BigInt(a.totalPower) * 2n ? a : undefined;
      },
      { timeoutMs: 30_000, diagnose: () => net.diagnose() },
    );
    assert.equal(handover.setId, '1');
  });
});
