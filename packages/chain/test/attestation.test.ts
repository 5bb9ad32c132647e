import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  bytesToHex,
  hexToBytes,
  keccak256,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
  signDigest,
} from '@aivm/crypto';
import { modelId as runtimeModelId } from '@aivm/runtime/core';
import { type Address, encodeAbiParameters, hashTypedData as viemHashTypedData } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  type AivmResult,
  aivmAttestationKeyDigest,
  aivmAttestationKeyTypedData,
  aivmResultDigest,
  aivmResultTypedData,
  aivmValidatorSetDigest,
  attestationKeyProofSigner,
  attestationMembersHash,
  attestationSigner,
  bytes32ToModelId,
  DEC,
  ERR,
  encodeAttestationMembers,
  getAttestationSet,
  getAttestationSetId,
  getCurrentAttestationSet,
  getOldestAttestationSetId,
  getValidator,
  modelIdToBytes32,
  type SignedAttestation,
  signAttestationKeyProof,
  signedResult,
  signedValidatorSet,
  slashingEvents,
  stakingEvents,
  ZERO_ADDRESS,
} from '../src/index.ts';
import { buildBlock, createTestChain, type TestAccount, type TestChain } from '../src/testing/index.ts';
import { CGPT, ok, send } from './staking-helpers.ts';

const MEMBERS = [
  { signer: '0x1111111111111111111111111111111111111111', power: 10_000n },
  { signer: ZERO_ADDRESS, power: 1n },
  { signer: '0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF', power: 2n ** 64n - 1n },
] as const;

const RESULT: AivmResult = {
  requestId: 42n,
  modelId: hexToBytes(`0x${'ab'.repeat(32)}`),
  tier: 1,
  inputHash: hexToBytes(`0x${'01'.repeat(32)}`),
  outputHash: hexToBytes(`0x${'02'.repeat(32)}`),
};

describe('attestation messages', () => {
  it('encodes abi.encode(address[], uint64[]) as Solidity does (viem) and hashes it', () => {
    const cases = [[], MEMBERS.slice(0, 1), MEMBERS];
    for (const members of cases) {
      const mine = bytesToHex(encodeAttestationMembers(members as never));
      const theirs = encodeAbiParameters(
        [{ type: 'address[]' }, { type: 'uint64[]' }],
        [members.map((m) => m.signer), members.map((m) => m.power)],
      );
      assert.equal(mine, theirs.toLowerCase());
    }
    // The empty tuple: two offsets (0x40, 0x60) and two zero lengths.
    assert.equal(encodeAttestationMembers([]).length, 128);
    assert.throws(() => encodeAttestationMembers([{ signer: ZERO_ADDRESS, power: 2n ** 64n }]), RangeError);
  });

  it('golden vectors: membersHash, AivmResult and AivmValidatorSet digests (chain id 7332), equal to viem', () => {
    const membersHash = attestationMembersHash(MEMBERS as never);
    assert.equal(
      bytesToHex(membersHash),
      '0xe8160e00565026fc338265ce31a26bd9f65c2c434cec49573f740403b299383d',
    );
    const digest = aivmResultDigest(7332n, RESULT);
    assert.equal(bytesToHex(digest), '0x84059c8a601ff40796a29af86078ecbdeacd05a9a0dbd44a1b6347cb701aa41f');
    const td = aivmResultTypedData(7332n, RESULT);
    assert.equal(
      viemHashTypedData({
        domain: { name: 'AIVM', version: '1', chainId: 7332n },
        types: td.types,
        primaryType: 'AivmResult',
        message: {
          requestId: 42n,
          modelId: bytesToHex(RESULT.modelId),
          tier: 1,
          inputHash: bytesToHex(RESULT.inputHash),
          outputHash: bytesToHex(RESULT.outputHash),
        },
      }),
      bytesToHex(digest),
    );
    const setDigest = aivmValidatorSetDigest(7332n, { setId: 3n, membersHash });
    assert.equal(bytesToHex(setDigest), '0x8f7fddcb7876270f5ef80561e5c5197822b22cbb537fce22d2fe6569495d1c75');
    assert.equal(
      viemHashTypedData({
        domain: { name: 'AIVM', version: '1', chainId: 7332n },
        types: {
          AivmValidatorSet: [
            { name: 'setId', type: 'uint64' },
            { name: 'membersHash', type: 'bytes32' },
          ],
        },
        primaryType: 'AivmValidatorSet',
        message: { setId: 3n, membersHash: bytesToHex(membersHash) },
      }),
      bytesToHex(setDigest),
    );
    // Another chain id is another digest.
    assert.notEqual(bytesToHex(aivmResultDigest(7333n, RESULT)), bytesToHex(digest));
  });

  it('a viem account signature over the typed data recovers to its address', async () => {
    const key = mnemonicToPrivateKeys(
      'test test test test test test test test test test test junk',
      7,
      1,
    )[0]!;
    const account = privateKeyToAccount(bytesToHex(key));
    const td = aivmResultTypedData(7332n, RESULT);
    const sig = await account.signTypedData({
      domain: { name: 'AIVM', version: '1', chainId: 7332n },
      types: td.types,
      primaryType: 'AivmResult',
      message: {
        requestId: 42n,
        modelId: bytesToHex(RESULT.modelId),
        tier: 1,
        inputHash: bytesToHex(RESULT.inputHash),
        outputHash: bytesToHex(RESULT.outputHash),
      },
    });
    assert.equal(attestationSigner(7332n, signedResult(RESULT, hexToBytes(sig))), account.address);
  });

  it('AivmAttestationKey: golden digest (chain id 7332), equal to viem; a viem signature is ours byte for byte', async () => {
    const operator = '0x1111111111111111111111111111111111111111';
    const digest = aivmAttestationKeyDigest(7332n, operator);
    assert.equal(bytesToHex(digest), '0x90133440eabe050a867ef5a93ba4b24707f90a25d4b0f3c877fadea8d948a258');
    const viemTd = {
      domain: { name: 'AIVM', version: '1', chainId: 7332n },
      types: { AivmAttestationKey: [{ name: 'operator', type: 'address' }] },
      primaryType: 'AivmAttestationKey',
      message: { operator },
    } as const;
    assert.equal(viemHashTypedData(viemTd), bytesToHex(digest));
    assert.deepEqual(aivmAttestationKeyTypedData(7332n, operator).types, viemTd.types);
    // Another chain id or operator is another digest.
    assert.notEqual(bytesToHex(aivmAttestationKeyDigest(7333n, operator)), bytesToHex(digest));
    assert.notEqual(bytesToHex(aivmAttestationKeyDigest(7332n, ZERO_ADDRESS)), bytesToHex(digest));
    // Golden proof: RFC 6979, low s, v 27/28.
    const sk = new Uint8Array(32).fill(7);
    const proof = signAttestationKeyProof(7332n, operator, sk);
    assert.equal(
      bytesToHex(proof),
      '0xa01c496ad01838c55ee7b3b7ae086bae2d5c3788ac3967674623eff473f22b644101cbf6e18fff30a24a8c6ba6afac07116e1ff88beffa428e7ed76164ee075e1c',
    );
    assert.equal(attestationKeyProofSigner(7332n, operator, proof), privateKeyToAddress(sk));
    const account = privateKeyToAccount(bytesToHex(sk));
    assert.equal(await account.signTypedData(viemTd), bytesToHex(proof));
  });

  it('model id <-> bytes32: the sha256 digest inside the CID', () => {
    const artifact = new TextEncoder().encode('some artifact bytes');
    const id = runtimeModelId(artifact);
    const digest = modelIdToBytes32(id);
    assert.equal(bytesToHex(digest), bytesToHex(hexToBytes(bytesToHex(digest))));
    assert.equal(bytes32ToModelId(digest), id);
    assert.throws(() => modelIdToBytes32('not-a-cid'), RangeError);
  });
});

function sign(chainId: bigint, key: TestAccount, r: AivmResult): SignedAttestation {
  return signedResult(r, signDigest(aivmResultDigest(chainId, r), key.privateKey));
}

/** A staking/setAttestationKey message: `key` with its proof of possession for `operator`. */
function keyMsg(tc: TestChain, operator: TestAccount | Address, key: TestAccount) {
  const op = typeof operator === 'string' ? operator : operator.address;
  return { key: key.address, signature: signAttestationKeyProof(tc.chain.chainId, op, key.privateKey) };
}

function account(seed: string): TestAccount {
  const privateKey = keccak256(new TextEncoder().encode(seed));
  return { privateKey, address: privateKeyToAddress(privateKey) };
}

/** The same signature with s' = n - s and v flipped: valid ECDSA, but the malleable encoding. */
function highS(sig: Uint8Array): Uint8Array {
  const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt(bytesToHex(sig.subarray(32, 64)));
  const out = sig.slice();
  out.set(hexToBytes(`0x${(N - s).toString(16).padStart(64, '0')}`), 32);
  out[64] = sig[64] === 27 ? 28 : 27;
  return out;
}

describe('attestation keys and the attestation set', () => {
  let tc: TestChain;
  after(() => tc.close());
  before(async () => {
    tc = await createTestChain({
      accounts: 2,
      fundCgpt: 10_000n,
      validators: 3,
      attestationKeys: true,
      app: { staking: { params: { attestationSetsKept: 2 } } },
    });
    // Operators hold exactly their stake: fees for their messages.
    const [A] = tc.accounts as [TestAccount];
    for (const v of tc.validators)
      await ok(tc, A, 'bank/send', { to: v.operator.address, amount: 10n * CGPT });
  });

  it('genesis validators carry their keys into set 1, in validator-set order', async () => {
    assert.equal(await getAttestationSetId(tc.state), 1n);
    const set = (await getCurrentAttestationSet(tc.state))!;
    assert.equal(set.startHeight, 0n);
    // Equal powers: the order is the consensus addresses' order.
    const byConsensus = [...tc.validators].sort((a, b) =>
      a.address.toLowerCase() < b.address.toLowerCase() ? -1 : 1,
    );
    assert.deepEqual(
      set.members.map((m) => m.signer),
      byConsensus.map((v) => v.attestationKey!.address),
    );
    assert.deepEqual(
      set.members.map((m) => m.power),
      [1000n, 1000n, 1000n],
    );
    const q = (await tc.chain.registry.query('staking/attestationSet')!.handler(tc.state, { id: 0n })) as {
      id: string;
      totalPower: string;
      membersHash: string;
    };
    assert.equal(q.id, '1');
    assert.equal(q.totalPower, '3000');
    assert.equal(q.membersHash, bytesToHex(attestationMembersHash(set.members)));
  });

  it('setAttestationKey: operator only, non-zero, unused; a new set begins at the block end', async () => {
    const [A] = tc.accounts as [TestAccount];
    const v0 = tc.validators[0]!;
    const v1 = tc.validators[1]!;
    const freshKey = account('fresh attestation key');
    const fresh = freshKey.address;
    let r = await send(tc, A, 'staking/setAttestationKey', keyMsg(tc, A, freshKey));
    assert.equal(r.receipt.code, ERR.MODULE);
    assert.match(r.receipt.error, /not a validator operator/);
    r = await send(tc, v0.operator, 'staking/setAttestationKey', {
      key: ZERO_ADDRESS,
      signature: keyMsg(tc, v0.operator, freshKey).signature,
    });
    assert.match(r.receipt.error, /zero address/);
    // v1's key with a real proof by that key (for v0): held, but bound to v1.
    r = await send(tc, v0.operator, 'staking/setAttestationKey', keyMsg(tc, v0.operator, v1.attestationKey!));
    assert.match(r.receipt.error, /already used by another validator/);
    assert.equal(await getAttestationSetId(tc.state), 1n);

    const result = await ok(tc, v0.operator, 'staking/setAttestationKey', keyMsg(tc, v0.operator, freshKey));
    const ev = result.receipts[0]!.events.find((e) => stakingEvents.is(e, 'attestationKey'))!;
    const attrs = Object.fromEntries(ev.attributes.map((a) => [a.key, a.value]));
    assert.equal(attrs.key, fresh);
    assert.equal(attrs.previous, v0.attestationKey!.address);
    assert.equal(await getAttestationSetId(tc.state), 2n);
    const set = (await getCurrentAttestationSet(tc.state))!;
    assert.equal(set.startHeight, tc.head.height);
    assert.ok(set.members.some((m) => m.signer === fresh));
    assert.ok(!set.members.some((m) => m.signer === v0.attestationKey!.address));
    assert.ok(result.blockEvents.some((e) => stakingEvents.is(e, 'attestationSet')));
    const q = (await tc.chain.registry.query('staking/validator')!.handler(tc.state, {
      operator: v0.operator.address,
    })) as { attestationKey: string };
    assert.equal(q.attestationKey, fresh);
    // The same key again changes nothing.
    r = await send(tc, v0.operator, 'staking/setAttestationKey', keyMsg(tc, v0.operator, freshKey));
    assert.match(r.receipt.error, /already this validator's attestation key/);
    // An unchanged set keeps its id.
    await buildBlock(tc, []);
    assert.equal(await getAttestationSetId(tc.state), 2n);
    // v0's old key stays bound to v0: nobody else may take it, even with a proof by the key.
    r = await send(tc, v1.operator, 'staking/setAttestationKey', keyMsg(tc, v1.operator, v0.attestationKey!));
    assert.match(r.receipt.error, /already used by another validator/);
  });

  it('a power change makes a new set; only attestationSetsKept sets are kept', async () => {
    const [, D] = tc.accounts as [TestAccount, TestAccount];
    await ok(tc, D, 'staking/delegate', { validator: tc.validators[2]!.operator.address, amount: 5n * CGPT });
    assert.equal(await getAttestationSetId(tc.state), 3n);
    const set = (await getCurrentAttestationSet(tc.state))!;
    // The heavier validator comes first, as in the consensus set.
    assert.equal(set.members[0]!.signer, tc.validators[2]!.attestationKey!.address);
    assert.equal(set.members[0]!.power, 1005n);
    assert.equal(await getAttestationSet(tc.state, 1n), undefined);
    assert.ok(await getAttestationSet(tc.state, 2n));
    assert.equal(await getOldestAttestationSetId(tc.state), 2n);
    const q = await tc.chain.registry.query('staking/attestationSet')!.handler(tc.state, { id: 1n });
    assert.equal(q, null);
  });

  it('setAttestationKey refuses a key without its proof of possession', async () => {
    const v1 = tc.validators[1]!;
    const v2 = tc.validators[2]!;
    const op = v1.operator.address;
    const mine = account('v1 next attestation key');
    const theirs = account('v2 next attestation key');
    const before = await getAttestationSetId(tc.state);
    const refused = async (msg: { key: Address; signature: Uint8Array }, re: RegExp) => {
      const { receipt } = await send(tc, v1.operator, 'staking/setAttestationKey', msg);
      assert.equal(receipt.code, ERR.MODULE, receipt.error);
      assert.match(receipt.error, re);
    };
    const good = keyMsg(tc, v1.operator, mine);
    // Someone else's key (or one nobody holds): the proof is by another key.
    await refused(
      { key: theirs.address, signature: good.signature },
      /proof is signed by 0x[0-9a-fA-F]{40}, not by/,
    );
    await refused(
      { key: v2.attestationKey!.address, signature: good.signature },
      new RegExp(`signed by ${mine.address}, not by ${v2.attestationKey!.address}`),
    );
    // Replay: v2's real proof of its next key, sent by v1, names v2 as the operator.
    const v2Proof = keyMsg(tc, v2.operator, theirs);
    await refused(v2Proof, /proof is signed by 0x[0-9a-fA-F]{40}, not by/);
    assert.notEqual(attestationKeyProofSigner(tc.chain.chainId, op, v2Proof.signature), theirs.address);
    // Signed over another operator (v2) by the right key, or for another chain.
    await refused({ key: mine.address, signature: keyMsg(tc, v2.operator, mine).signature }, /not by/);
    await refused(
      { key: mine.address, signature: signAttestationKeyProof(tc.chain.chainId + 1n, op, mine.privateKey) },
      /not by/,
    );
    // Malformed: short, zero, bad v, high s (the malleable twin of a valid proof).
    await refused(
      { key: mine.address, signature: good.signature.subarray(0, 64) },
      /bad signature: signature must be 65 bytes/,
    );
    await refused(
      { key: mine.address, signature: new Uint8Array(65) },
      /bad signature: signature r out of range/,
    );
    await refused(
      { key: mine.address, signature: Uint8Array.of(...good.signature.subarray(0, 64), 29) },
      /bad signature: signature v must be/,
    );
    const zeroS = good.signature.slice();
    zeroS.fill(0, 32, 64);
    await refused({ key: mine.address, signature: zeroS }, /bad signature: signature s out of range/);
    await refused(
      { key: mine.address, signature: highS(good.signature) },
      /bad signature: signature s is high/,
    );
    assert.equal((await getValidator(tc.state, op))!.operator, op);
    assert.equal(await getAttestationSetId(tc.state), before);
    assert.equal(
      (
        (await tc.chain.registry.query('staking/validator')!.handler(tc.state, { operator: op })) as {
          attestationKey: string;
        }
      ).attestationKey,
      v1.attestationKey!.address,
    );
    // The valid proof is accepted, and its key is in the next set.
    const { receipt } = await send(tc, v1.operator, 'staking/setAttestationKey', good);
    assert.equal(receipt.code, 0, receipt.error);
    // `aivm tx create-validator --no-wait` sends it with a fixed 100,000 gas limit (no estimate
    // before the validator exists): it must stay well below that.
    assert.ok(receipt.gasUsed < 50_000n, `gas used ${receipt.gasUsed}`);
    assert.equal(await getAttestationSetId(tc.state), before + 1n);
    assert.ok((await getCurrentAttestationSet(tc.state))!.members.some((m) => m.signer === mine.address));
    // v1's proof, replayed by v2 for the same key: names v1, and the key is v1's anyway.
    const replay = await send(tc, v2.operator, 'staking/setAttestationKey', good);
    assert.equal(replay.receipt.code, ERR.MODULE);
    assert.match(replay.receipt.error, /proof is signed by 0x[0-9a-fA-F]{40}, not by/);
  });
});

describe('attestation equivocation evidence', () => {
  let tc: TestChain;
  after(() => tc.close());
  before(async () => {
    tc = await createTestChain({
      accounts: 2,
      fundCgpt: 10_000n,
      validators: 4,
      attestationKeys: true,
    });
    const [A] = tc.accounts as [TestAccount];
    for (const v of tc.validators)
      await ok(tc, A, 'bank/send', { to: v.operator.address, amount: 10n * CGPT });
  });

  const evidence = (first: SignedAttestation, second: SignedAttestation) => ({ first, second });

  it('refuses what is no equivocation with INVALID_EVIDENCE', async () => {
    const [R] = tc.accounts as [TestAccount];
    const bad = tc.validators[1]!;
    const key = bad.attestationKey!;
    const a = sign(tc.chain.chainId, key, RESULT);
    const b = sign(tc.chain.chainId, key, { ...RESULT, outputHash: new Uint8Array(32).fill(3) });
    const refused = async (first: SignedAttestation, second: SignedAttestation, re: RegExp) => {
      const { receipt } = await send(tc, R, 'slashing/attestationEvidence', evidence(first, second));
      assert.equal(receipt.code, ERR.INVALID_EVIDENCE, receipt.error);
      assert.match(receipt.error, re);
    };
    await refused(a, sign(tc.chain.chainId, key, RESULT), /same message/);
    await refused(a, sign(tc.chain.chainId, key, { ...RESULT, requestId: 43n }), /different requestIds/);
    await refused(
      a,
      sign(tc.chain.chainId, tc.validators[2]!.attestationKey!, { ...RESULT, tier: 2 }),
      /different keys/,
    );
    await refused(a, { ...b, signature: a.signature }, /different keys/);
    await refused(a, { ...b, signature: new Uint8Array(65) }, /second: bad signature/);
    await refused(a, { ...b, setId: 1n }, /second: an AivmResult attestation must leave setId/);
    await refused(a, { ...b, kind: 3 }, /kind must be 1/);
    const set = signedValidatorSet(
      { setId: 2n, membersHash: new Uint8Array(32) },
      signDigest(
        aivmValidatorSetDigest(tc.chain.chainId, { setId: 2n, membersHash: new Uint8Array(32) }),
        key.privateKey,
      ),
    );
    await refused(a, set, /different kinds/);
    // A key no validator ever registered.
    const stranger = {
      privateKey: new Uint8Array(32).fill(7),
      address: privateKeyToAddress(new Uint8Array(32).fill(7)),
    };
    await refused(
      sign(tc.chain.chainId, stranger, RESULT),
      sign(tc.chain.chainId, stranger, { ...RESULT, tier: 2 }),
      /not the attestation key of any validator/,
    );
    // Signed for another chain: recovers to some other address.
    const foreign = signedResult(b, signDigest(aivmResultDigest(1n, b), key.privateKey));
    await refused(a, foreign, /different keys/);
    assert.equal((await getValidator(tc.state, bad.operator.address))!.jailed, false);
  });

  it('two AivmResults for one request: slashed, tombstoned, leaves both sets; a second submission is a duplicate', async () => {
    const [R] = tc.accounts as [TestAccount];
    const bad = tc.validators[1]!;
    const key = bad.attestationKey!;
    const op = bad.operator.address;
    const a = sign(tc.chain.chainId, key, RESULT);
    const b = sign(tc.chain.chainId, key, { ...RESULT, outputHash: new Uint8Array(32).fill(3) });
    const before = (await getValidator(tc.state, op))!.tokens;
    const { receipt, result } = await send(tc, R, 'slashing/attestationEvidence', evidence(a, b));
    assert.equal(receipt.code, 0, receipt.error);
    const v = (await getValidator(tc.state, op))!;
    assert.equal(v.tokens, before - (before * (DEC / 20n)) / DEC);
    assert.equal(v.jailed, true);
    assert.equal(v.tombstoned, true);
    const ev = receipt.events.find((e) => slashingEvents.is(e, 'attestationEquivocation'))!;
    const attrs = Object.fromEntries(ev.attributes.map((x) => [x.key, x.value]));
    assert.deepEqual(
      { operator: attrs.operator, signer: attrs.signer, kind: attrs.kind, subject: attrs.subject },
      { operator: op, signer: key.address, kind: '1', subject: '42' },
    );
    assert.equal(attrs.burned, (before - v.tokens).toString());
    // Jailed validators leave the active set: a new attestation set without it.
    assert.ok(result.blockEvents.some((e) => stakingEvents.is(e, 'attestationSet')));
    const set = (await getCurrentAttestationSet(tc.state))!;
    assert.equal(set.members.length, 3);
    assert.ok(!set.members.some((m) => m.signer === key.address));

    for (const [first, second] of [
      [a, b],
      [b, a],
      [a, sign(tc.chain.chainId, key, { ...RESULT, tier: 4 })],
    ] as const) {
      const again = await send(tc, R, 'slashing/attestationEvidence', evidence(first, second));
      assert.equal(again.receipt.code, ERR.DUPLICATE_EVIDENCE, again.receipt.error);
      assert.match(again.receipt.error, /already punished/);
    }
  });

  it('two AivmValidatorSets for one setId, by a key within the kept history', async () => {
    const [R] = tc.accounts as [TestAccount];
    const bad = tc.validators[2]!;
    const key = bad.attestationKey!;
    const op = bad.operator.address;
    // The validator moves to a new key: the old one is still its own while kept sets hold it.
    await ok(tc, bad.operator, 'staking/setAttestationKey', keyMsg(tc, bad.operator, account('another key')));
    const setId = await getAttestationSetId(tc.state);
    const signSet = (membersHash: Uint8Array) =>
      signedValidatorSet(
        { setId, membersHash },
        signDigest(aivmValidatorSetDigest(tc.chain.chainId, { setId, membersHash }), key.privateKey),
      );
    const real = attestationMembersHash((await getCurrentAttestationSet(tc.state))!.members);
    const { receipt } = await send(
      tc,
      R,
      'slashing/attestationEvidence',
      evidence(signSet(real), signSet(new Uint8Array(32).fill(9))),
    );
    assert.equal(receipt.code, 0, receipt.error);
    const v = (await getValidator(tc.state, op))!;
    assert.equal(v.tombstoned, true);
  });
});
