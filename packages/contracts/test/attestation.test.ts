// The attestation path on a real anvil: AivmLightClient accepts a digest signed by more than 2/3
// of the current set's power and nothing less; digests computed in TypeScript (@aivm/crypto
// hashTypedData) equal the contracts'; a set handover needs > 2/3 of the old set, after which the
// old set cannot sign; AivmOracle.fulfillAttested delivers, pays the relayer and runs the callback.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keccak256 } from '@aivm/crypto';
import { encodeAbiParameters, type Hex, parseEventLogs } from 'viem';
import {
  AIVM_CHAIN_ID,
  AivmLightClient,
  bytes,
  deployStack,
  deployWithModel,
  type Env,
  encodeInput,
  encodeOutput,
  hex,
  oracleAbi,
  rejectsWith,
  resultDigest,
  Status,
  signPacked,
  startEnv,
  TestConsumer,
  TIER_ON_CHAIN,
  TIER_OPTIMISTIC,
  TIER_ZK,
  type Validator,
  validatorSetDigest,
  validators,
  ZERO_ADDRESS,
} from './helpers.ts';

let env: Env;
before(async () => {
  env = await startEnv();
});
after(() => env?.stop());

const membersHash = (set: Validator[]): Hex =>
  hex(
    keccak256(
      bytes(
        encodeAbiParameters(
          [{ type: 'address[]' }, { type: 'uint64[]' }],
          [set.map((v) => v.address), set.map((v) => v.power)],
        ),
      ),
    ),
  );

describe('AivmLightClient', () => {
  const set1 = validators(4, 'lc1'); // 4 × 10 power: > 2/3 needs 3 signers
  let lc: Hex;
  const digest = resultDigest({
    requestId: 7n,
    modelId: `0x${'11'.repeat(32)}`,
    tier: TIER_ON_CHAIN,
    inputHash: `0x${'22'.repeat(32)}`,
    outputHash: `0x${'33'.repeat(32)}`,
  });
  const verify = (d: Uint8Array, sigs: Hex) =>
    env.read<boolean>({
      address: lc,
      abi: AivmLightClient.abi,
      functionName: 'verifyAttestation',
      args: [hex(d), sigs],
    });

  before(async () => {
    ({ lightClient: lc } = await deployStack(env, set1));
  });

  it('computes the same EIP-712 digests as @aivm/crypto (golden)', async () => {
    const onchain = await env.read<Hex>({
      address: lc,
      abi: AivmLightClient.abi,
      functionName: 'resultDigest',
      args: [7n, `0x${'11'.repeat(32)}`, TIER_ON_CHAIN, `0x${'22'.repeat(32)}`, `0x${'33'.repeat(32)}`],
    });
    assert.equal(onchain, hex(digest));
    const mh = membersHash(set1);
    assert.equal(
      await env.read({
        address: lc,
        abi: AivmLightClient.abi,
        functionName: 'hashMembers',
        args: [set1.map((v) => v.address), set1.map((v) => v.power)],
      }),
      mh,
    );
    assert.equal(await env.read({ address: lc, abi: AivmLightClient.abi, functionName: 'membersHash' }), mh);
    assert.equal(
      await env.read({
        address: lc,
        abi: AivmLightClient.abi,
        functionName: 'validatorSetDigest',
        args: [2n, mh],
      }),
      hex(validatorSetDigest(2n, mh)),
    );
    assert.equal(
      await env.read({ address: lc, abi: AivmLightClient.abi, functionName: 'aivmChainId' }),
      BigInt(AIVM_CHAIN_ID),
    );
  });

  it('accepts > 2/3 of the power and refuses exactly 2/3 or less', async () => {
    assert.equal(await verify(digest, signPacked(digest, set1.slice(0, 3))), true); // 30/40
    assert.equal(await verify(digest, signPacked(digest, set1)), true); // 40/40
    assert.equal(await verify(digest, signPacked(digest, set1.slice(0, 2))), false); // 20/40
    assert.equal(await verify(digest, '0x'), false);
    // Unequal powers: 20 + 10 of 45 is exactly 2/3: refused; 20 + 10 + 5 accepted.
    const uneven = validators(4, 'lc-uneven', (i) => [20n, 10n, 10n, 5n][i] as bigint);
    const { lightClient: lc2 } = await deployStack(env, uneven);
    const v2 = (s: Validator[]) =>
      env.read<boolean>({
        address: lc2,
        abi: AivmLightClient.abi,
        functionName: 'verifyAttestation',
        args: [hex(digest), signPacked(digest, s)],
      });
    assert.equal(await v2([uneven[0]!, uneven[1]!]), false);
    assert.equal(await v2([uneven[0]!, uneven[1]!, uneven[3]!]), true);
    const [signed, total] = await env.read<[bigint, bigint]>({
      address: lc2,
      abi: AivmLightClient.abi,
      functionName: 'signedPower',
      args: [hex(digest), signPacked(digest, [uneven[0]!, uneven[1]!])],
    });
    assert.deepEqual([signed, total], [30n, 45n]);
  });

  it('refuses a non-member, a duplicate, a wrong order, a bad length and a signature over another digest', async () => {
    const outsider = validators(1, 'outsider');
    await rejectsWith(verify(digest, signPacked(digest, [...set1.slice(0, 3), ...outsider])), 'NotAMember');
    const one = signPacked(digest, [set1[0]!]);
    await rejectsWith(verify(digest, `${one}${one.slice(2)}`), 'SignersNotAscending');
    const sorted = signPacked(digest, set1.slice(0, 2));
    const swapped: Hex = `0x${sorted.slice(132, 262)}${sorted.slice(2, 132)}`;
    await rejectsWith(verify(digest, swapped), 'SignersNotAscending');
    await rejectsWith(verify(digest, `${one}00`), 'BadSignaturesLength');
    // A signature over another digest recovers to some other address: not a member.
    const other = resultDigest({
      requestId: 8n,
      modelId: `0x${'11'.repeat(32)}`,
      tier: 1,
      inputHash: `0x${'22'.repeat(32)}`,
      outputHash: `0x${'33'.repeat(32)}`,
    });
    await rejectsWith(verify(digest, signPacked(other, [set1[0]!])), 'NotAMember');
    // High-s (malleable) copy of a valid signature.
    const sig = bytes(one);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(hex(sig.subarray(32, 64)));
    const flipped = new Uint8Array(sig);
    flipped.set(bytes(`0x${(n - s).toString(16).padStart(64, '0')}`), 32);
    flipped[64] = flipped[64] === 27 ? 28 : 27;
    await rejectsWith(verify(digest, hex(flipped)), 'InvalidSignature');
  });

  it('hands over to a new set with > 2/3 of the old one; then the old set cannot sign', async () => {
    const set2 = validators(5, 'lc2', (i) => BigInt(i + 1)); // total 15
    const mh = membersHash(set2);
    const handover = validatorSetDigest(2n, mh);
    const args = (sigs: Hex, id = 2n) => [id, set2.map((v) => v.address), set2.map((v) => v.power), sigs];
    // 2/3 of the old set is not enough; a wrong id is refused; a member list other than the signed one is refused.
    await rejectsWith(
      env.write({
        address: lc,
        abi: AivmLightClient.abi,
        functionName: 'updateValidatorSet',
        args: args(signPacked(handover, set1.slice(0, 2))),
      }),
      'InsufficientPower',
    );
    await rejectsWith(
      env.write({
        address: lc,
        abi: AivmLightClient.abi,
        functionName: 'updateValidatorSet',
        args: args(signPacked(validatorSetDigest(3n, mh), set1), 3n),
      }),
      'WrongSetId',
    );
    await rejectsWith(
      env.write({
        address: lc,
        abi: AivmLightClient.abi,
        functionName: 'updateValidatorSet',
        args: [2n, set2.map((v) => v.address), set2.map((v) => v.power + 1n), signPacked(handover, set1)],
      }),
      'NotAMember', // the signatures cover another membersHash, so they recover to strangers
    );
    await env.write({
      address: lc,
      abi: AivmLightClient.abi,
      functionName: 'updateValidatorSet',
      args: args(signPacked(handover, set1.slice(1))),
    });
    assert.equal(await env.read({ address: lc, abi: AivmLightClient.abi, functionName: 'setId' }), 2n);
    assert.equal(await env.read({ address: lc, abi: AivmLightClient.abi, functionName: 'totalPower' }), 15n);
    // The stale set: all of set 1 signing is now refused.
    await rejectsWith(verify(digest, signPacked(digest, set1)), 'NotAMember');
    // Set 2: 4+5+2 = 11 of 15 > 2/3; 5+4 = 9 of 15 is not (10 would be exactly 2/3).
    assert.equal(await verify(digest, signPacked(digest, [set2[1]!, set2[3]!, set2[4]!])), true);
    assert.equal(await verify(digest, signPacked(digest, [set2[3]!, set2[4]!])), false);
    // A replay of the old handover is refused.
    await rejectsWith(
      env.write({
        address: lc,
        abi: AivmLightClient.abi,
        functionName: 'updateValidatorSet',
        args: args(signPacked(handover, set1)),
      }),
      'WrongSetId',
    );
  });

  it('counts validators without an attestation key in the total only', async () => {
    const keyed = validators(3, 'lc-zero');
    const signers = [keyed[0]!.address, ZERO_ADDRESS, keyed[1]!.address, keyed[2]!.address, ZERO_ADDRESS];
    const lc3 = await env.deploy(AivmLightClient as never, [
      BigInt(AIVM_CHAIN_ID),
      9n,
      signers,
      [10n, 10n, 10n, 10n, 10n],
    ]);
    const v3 = (s: Validator[]) =>
      env.read<boolean>({
        address: lc3,
        abi: AivmLightClient.abi,
        functionName: 'verifyAttestation',
        args: [hex(digest), signPacked(digest, s)],
      });
    assert.equal(await v3(keyed), false); // 30 of 50
    assert.equal(
      await env.read({
        address: lc3,
        abi: AivmLightClient.abi,
        functionName: 'powerOf',
        args: [ZERO_ADDRESS],
      }),
      0n,
    );
    await rejectsWith(
      env.deploy(AivmLightClient as never, [1n, 1n, [keyed[0]!.address, keyed[0]!.address], [1n, 1n]]),
      'DuplicateMember',
    );
    await rejectsWith(env.deploy(AivmLightClient as never, [1n, 1n, [keyed[0]!.address], [0n]]), 'ZeroPower');
  });
});

describe('AivmOracle.fulfillAttested', () => {
  const set = validators(4, 'oracle');
  const modelId: Hex = `0x${'ab'.repeat(32)}`;
  let oracle: Hex;
  let consumer: Hex;
  const input = encodeInput([1, -2, 3, -4, 5, -6, 7, -8]);
  const output = encodeOutput([5, -70000, 123456, 9, 0, -1, 2, 3, 4, 100000]);

  before(async () => {
    ({ oracle, consumer } = await deployWithModel(env, set, modelId, {
      tiers: 1 | 4,
      // At 0.001 ETH per CGPT: 0.001 ETH on-chain, 0.002 ETH optimistic.
      aivmPriceWei: 10n ** 18n,
      aivmGasWei: 10n ** 18n,
      aivmOnchainGasWei: 0n,
    }));
  });

  async function request(tier = TIER_ON_CHAIN, data: Hex = '0xbeef') {
    const q = await env.read<bigint>({
      address: oracle,
      abi: oracleAbi,
      functionName: 'quote',
      args: [modelId, tier, 200_000],
    });
    await env.write(
      {
        address: consumer,
        abi: TestConsumer.abi,
        functionName: 'request',
        args: [modelId, input, tier, 200_000, data],
        value: q * 2n,
      },
      1,
    );
    return (await env.read<bigint>({ address: oracle, abi: oracleAbi, functionName: 'nextRequestId' })) - 1n;
  }
  const sign = (id: bigint, tier: number, out: Hex, signers: Validator[], inp: Hex = input) =>
    signPacked(
      resultDigest({
        requestId: id,
        modelId,
        tier,
        inputHash: hex(keccak256(bytes(inp))),
        outputHash: hex(keccak256(bytes(out))),
      }),
      signers,
    );

  it('delivers with > 2/3, stores the result, runs the callback and pays the relayer the fee', async () => {
    const id = await request();
    const req = await env.read<{ fee: bigint; status: number }>({
      address: oracle,
      abi: oracleAbi,
      functionName: 'getRequest',
      args: [id],
    });
    assert.equal(req.status, Status.Pending);
    const relayer = env.addresses[2]!;
    const before = await env.balance(relayer);
    const oracleBefore = await env.balance(oracle);
    const r = await env.write(
      {
        address: oracle,
        abi: oracleAbi,
        functionName: 'fulfillAttested',
        args: [id, 901n, output, sign(901n, TIER_ON_CHAIN, output, set.slice(0, 3))],
      },
      2,
    );
    assert.equal(await env.balance(relayer), before + req.fee - r.gasUsed * r.effectiveGasPrice);
    assert.equal(await env.balance(oracle), oracleBefore - req.fee);
    const after = await env.read<{ status: number; output: Hex; outputHash: Hex; aivmRequestId: bigint }>({
      address: oracle,
      abi: oracleAbi,
      functionName: 'getRequest',
      args: [id],
    });
    assert.equal(after.status, Status.Fulfilled);
    // The hash is stored; the bytes went to the consumer and into the event.
    assert.equal(after.outputHash, hex(keccak256(bytes(output))));
    assert.equal(after.output, '0x');
    const ev = parseEventLogs({ abi: oracleAbi, logs: r.logs as never, eventName: 'ResultDelivered' })[0];
    assert.equal(ev?.args.output, output);
    assert.equal(ev?.args.fee, req.fee);
    assert.equal(after.aivmRequestId, 901n);
    assert.equal(
      await env.read({ address: consumer, abi: TestConsumer.abi, functionName: 'lastOutput' }),
      output,
    );
    assert.equal(
      await env.read({ address: consumer, abi: TestConsumer.abi, functionName: 'lastCallbackData' }),
      '0xbeef',
    );
    assert.equal(
      await env.read({ address: consumer, abi: TestConsumer.abi, functionName: 'lastArgmax' }),
      2n,
    );
    // A second delivery reverts cheaply.
    await rejectsWith(
      env.write(
        {
          address: oracle,
          abi: oracleAbi,
          functionName: 'fulfillAttested',
          args: [id, 901n, output, sign(901n, TIER_ON_CHAIN, output, set)],
        },
        3,
      ),
      'WrongStatus',
    );
  });

  it('refuses 2/3, a non-member, another output, another tier and another input', async () => {
    const id = await request(TIER_OPTIMISTIC);
    const deliver = (out: Hex, sigs: Hex) =>
      env.write(
        { address: oracle, abi: oracleAbi, functionName: 'fulfillAttested', args: [id, 5n, out, sigs] },
        2,
      );
    await rejectsWith(
      deliver(output, sign(5n, TIER_OPTIMISTIC, output, set.slice(0, 2))),
      'InsufficientAttestation',
    );
    await rejectsWith(
      deliver(output, sign(5n, TIER_OPTIMISTIC, output, [...set.slice(0, 3), ...validators(1, 'x')])),
      'NotAMember',
    );
    const other = encodeOutput([9, 9, 9, 9, 9, 9, 9, 9, 9, 10]);
    // Signed for `output`, delivered as `other`: the digest differs, signatures recover to strangers.
    await rejectsWith(deliver(other, sign(5n, TIER_OPTIMISTIC, output, set)), 'NotAMember');
    await rejectsWith(deliver(output, sign(5n, TIER_ON_CHAIN, output, set)), 'NotAMember');
    await rejectsWith(
      deliver(output, sign(5n, TIER_OPTIMISTIC, output, set, encodeInput([0, 0, 0, 0, 0, 0, 0, 1]))),
      'NotAMember',
    );
    await rejectsWith(deliver('0x00', sign(5n, TIER_OPTIMISTIC, '0x00', set)), 'BadOutputLength');
    assert.equal(
      await env.read({ address: oracle, abi: oracleAbi, functionName: 'statusOf', args: [id] }),
      Status.Pending,
    );
    await env.write(
      {
        address: oracle,
        abi: oracleAbi,
        functionName: 'fulfillAttested',
        args: [id, 5n, output, sign(5n, TIER_OPTIMISTIC, output, set.slice(1))],
      },
      3,
    );
    assert.equal(
      await env.read({ address: oracle, abi: oracleAbi, functionName: 'statusOf', args: [id] }),
      Status.Fulfilled,
    );
  });

  it('the tier, the model and the request must exist; zk is not offered for a model without a verifier', async () => {
    await rejectsWith(
      env.read({ address: oracle, abi: oracleAbi, functionName: 'quote', args: [modelId, TIER_ZK, 0] }),
      'TierNotOffered',
    );
    await rejectsWith(
      env.read({
        address: oracle,
        abi: oracleAbi,
        functionName: 'quote',
        args: [`0x${'00'.repeat(32)}`, 1, 0],
      }),
      'UnknownModel',
    );
    await rejectsWith(
      env.write({
        address: oracle,
        abi: oracleAbi,
        functionName: 'fulfillAttested',
        args: [999n, 1n, output, '0x'],
      }),
      'UnknownRequest',
    );
  });
});
