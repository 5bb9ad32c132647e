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
import { encodeAbiParameters, hashTypedData as viemHashTypedData } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  type AivmResult,
  aivmResultDigest,
  aivmResultTypedData,
  aivmValidatorSetDigest,
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
    const fresh = privateKeyToAddress(keccak256(new TextEncoder().encode('fresh attestation key')));
    let r = await send(tc, A, 'staking/setAttestationKey', { key: fresh });
    assert.equal(r.receipt.code, ERR.MODULE);
    assert.match(r.receipt.error, /not a validator operator/);
    r = await send(tc, v0.operator, 'staking/setAttestationKey', { key: ZERO_ADDRESS });
    assert.match(r.receipt.error, /zero address/);
    r = await send(tc, v0.operator, 'staking/setAttestationKey', { key: v1.attestationKey!.address });
    assert.match(r.receipt.error, /already used by another validator/);
    assert.equal(await getAttestationSetId(tc.state), 1n);

    const result = await ok(tc, v0.operator, 'staking/setAttestationKey', { key: fresh });
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
    // The same key again changes nothing.
    r = await send(tc, v0.operator, 'staking/setAttestationKey', { key: fresh });
    assert.match(r.receipt.error, /already this validator's attestation key/);
    // An unchanged set keeps its id.
    await buildBlock(tc, []);
    assert.equal(await getAttestationSetId(tc.state), 2n);
    // v0's old key stays bound to v0: nobody else may take it.
    r = await send(tc, v1.operator, 'staking/setAttestationKey', { key: v0.attestationKey!.address });
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
    const fresh = privateKeyToAddress(keccak256(new TextEncoder().encode('another key')));
    await ok(tc, bad.operator, 'staking/setAttestationKey', { key: fresh });
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
