// AivmOracle on a real anvil: quote and the refund of any excess, the AIVM fee (CGPT cost ×
// owner's rate × (1 + premium), rounded up) exact to the wei, callbacks that revert or run
// out of gas (result stored, CallbackFailed, retryCallback once the consumer is fixed), the
// timeout refund exact to the wei, markRelayed, limits on requester input, AivmOutput.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keccak256 } from '@aivm/crypto';
import { type Hex, parseEventLogs } from 'viem';
import { OutputReader } from '../src/artifacts.ts';
import {
  aivmFeeWei,
  bytes,
  deployWithModel,
  type Env,
  encodeInput,
  encodeOutput,
  hex,
  oracleAbi,
  registerModel,
  rejectsWith,
  resultDigest,
  Status,
  signPacked,
  startEnv,
  TestConsumer,
  TIER_ON_CHAIN,
  TIER_OPTIMISTIC,
  TIER_ZK,
  validators,
  WEI_PER_CGPT,
} from './helpers.ts';

let env: Env;
const set = validators(4, 'cb');
const modelId: Hex = `0x${'cd'.repeat(32)}`;
const input = encodeInput([0, 1, 2, 3, 4, 5, 6, 7]);
const output = encodeOutput([1, 2, 30, 4, 5, 6, 7, 8, 9, 10]);
let oracle: Hex;
let consumer: Hex;
const TIMEOUT = 20;

before(async () => {
  env = await startEnv();
  ({ oracle, consumer } = await deployWithModel(
    env,
    set,
    modelId,
    // 12345 ETH wei at the helpers' 0.001 ETH per CGPT.
    { tiers: 1, aivmPriceWei: 12_345_000n - 45n, aivmGasWei: 999n, aivmOnchainGasWei: 45n },
    { timeoutBlocks: TIMEOUT },
  ));
});
after(() => env?.stop());

const read = <T>(
  functionName: string,
  args: unknown[] = [],
  address = oracle,
  abi: typeof oracleAbi | typeof TestConsumer.abi = oracleAbi,
) => env.read<T>({ address, abi, functionName, args });
const getRequest = (id: bigint) =>
  read<{
    status: number;
    fee: bigint;
    output: Hex;
    requester: Hex;
    deadline: number;
    callbackGasLimit: number;
  }>('getRequest', [id]);

async function request(gas: number, value?: bigint) {
  const q = await read<bigint>('quote', [modelId, TIER_ON_CHAIN, gas]);
  await env.write(
    {
      address: consumer,
      abi: TestConsumer.abi,
      functionName: 'request',
      args: [modelId, input, TIER_ON_CHAIN, gas, '0x01'],
      value: value ?? q + 10n ** 9n,
    },
    1,
  );
  return (await read<bigint>('nextRequestId')) - 1n;
}
const deliver = (id: bigint, gas?: bigint) =>
  env.write(
    {
      address: oracle,
      abi: oracleAbi,
      functionName: 'fulfillAttested',
      args: [
        id,
        id,
        output,
        signPacked(
          resultDigest({
            requestId: id,
            modelId,
            tier: 1,
            inputHash: hex(keccak256(bytes(input))),
            outputHash: hex(keccak256(bytes(output))),
          }),
          set.slice(0, 3),
        ),
      ],
      gas,
    },
    2,
  );
const setMode = (m: number) =>
  env.write({ address: consumer, abi: TestConsumer.abi, functionName: 'setMode', args: [m] });

describe('quote and payment', () => {
  it('quote = AIVM fee + callbackGasLimit × (max(basefee, floor) + tip); the excess comes back', async () => {
    const block = await env.pub.getBlock();
    const price = await read<bigint>('callbackGasPrice');
    const floor = await read<bigint>('minGasPrice');
    const tip = await read<bigint>('gasTip');
    const base = block.baseFeePerGas ?? 0n;
    // eth_call runs on the pending block whose base fee can differ from the last one's: bound it.
    assert.ok(price >= floor + tip);
    // anvil's pending-block base fee is below the 1 gwei floor once blocks are mostly empty.
    if (base <= floor) assert.equal(price, floor + tip);
    assert.equal(await read<bigint>('quote', [modelId, 1, 100_000]), 12345n + 100_000n * price);
    // An EOA requests directly with a large excess: it pays exactly the stored fee plus gas.
    const user = env.addresses[3]!;
    const before = await env.balance(user);
    const r = await env.write(
      {
        address: oracle,
        abi: oracleAbi,
        functionName: 'requestInference',
        args: [modelId, input, 1, 50_000, '0x'],
        value: 10n ** 18n,
      },
      3,
    );
    const id = (await read<bigint>('nextRequestId')) - 1n;
    const req = await getRequest(id);
    assert.equal(req.requester, user);
    assert.ok(req.fee > 12345n && req.fee < 10n ** 16n);
    assert.equal(await env.balance(user), before - req.fee - r.gasUsed * r.effectiveGasPrice);
    await rejectsWith(
      env.write(
        {
          address: oracle,
          abi: oracleAbi,
          functionName: 'requestInference',
          args: [modelId, input, 1, 50_000, '0x'],
          value: 1000n,
        },
        3,
      ),
      'InsufficientPayment',
    );
  });

  it('refuses a wrong input length, oversized callback data and callback gas over the cap', async () => {
    const v = 10n ** 17n;
    await rejectsWith(
      env.write({
        address: oracle,
        abi: oracleAbi,
        functionName: 'requestInference',
        args: [modelId, '0x0102', 1, 0, '0x'],
        value: v,
      }),
      'BadInputLength',
    );
    await rejectsWith(
      env.write({
        address: oracle,
        abi: oracleAbi,
        functionName: 'requestInference',
        args: [modelId, input, 1, 0, hex(new Uint8Array(1025))],
        value: v,
      }),
      'CallbackDataTooLong',
    );
    await rejectsWith(
      env.write({
        address: oracle,
        abi: oracleAbi,
        functionName: 'requestInference',
        args: [modelId, input, 1, 2_000_001, '0x'],
        value: v,
      }),
      'CallbackGasTooHigh',
    );
    await rejectsWith(
      env.write({
        address: oracle,
        abi: oracleAbi,
        functionName: 'requestInference',
        args: [modelId, input, 3, 0, '0x'],
        value: v,
      }),
      'TierNotOffered',
    );
    await rejectsWith(
      env.write({
        address: oracle,
        abi: oracleAbi,
        functionName: 'requestInferenceCommitted',
        args: [modelId, 1n, `0x${'00'.repeat(32)}`, 'ipfs://x', 1, 0, '0x'],
        value: v,
      }),
      'Undeliverable',
    );
    await rejectsWith(
      registerModel(
        env,
        oracle,
        modelId,
        { tiers: 1, aivmPriceWei: 0n, aivmGasWei: 0n, aivmOnchainGasWei: 0n },
        1,
      ),
      'NotOwner',
    );
  });
});

describe('the AIVM fee: price, rate and premium', () => {
  const priced: Hex = `0x${'ce'.repeat(32)}`;
  const maxed: Hex = `0x${'cf'.repeat(32)}`;
  const PRICE = 10n ** 18n + 1n; // 1 CGPT + 1 wei
  const GAS = 7n; // zk and optimistic request transaction
  const ONCHAIN_GAS = 123_456_789n; // on-chain request transaction (the model runs in it)
  const setRate = (weiPerCgpt: bigint, premiumBps: number, from = 0) =>
    env.write(
      { address: oracle, abi: oracleAbi, functionName: 'setAivmPricing', args: [weiPerCgpt, premiumBps] },
      from,
    );
  const q = (id: Hex, tier: number, gas = 0) => read<bigint>('quote', [id, tier, gas]);

  before(async () => {
    for (const [id, price, gas, onchain] of [
      [priced, PRICE, GAS, ONCHAIN_GAS],
      [maxed, 2n ** 128n - 1n, 2n ** 64n - 1n, 2n ** 64n - 1n],
    ] as const)
      await registerModel(env, oracle, id, {
        // Any contract: only the zk tier's registration needs one, no proof is checked here.
        verifier: consumer,
        tiers: 7,
        aivmPriceWei: price,
        aivmGasWei: gas,
        aivmOnchainGasWei: onchain,
      });
  });
  after(() => setRate(WEI_PER_CGPT, 0));

  it('hand-computed values: one rounding, up (never less than the exact ETH amount)', async () => {
    // 1 CGPT at 0.001 ETH per CGPT with a 2.5% premium: exactly 0.001025 ETH.
    await env.write({
      address: oracle,
      abi: oracleAbi,
      functionName: 'setModelPrice',
      args: [priced, 10n ** 18n, 0n, 0n],
    });
    await setRate(10n ** 15n, 250);
    assert.equal(await q(priced, TIER_ZK), 1_025_000_000_000_000n);
    // 1 CGPT wei at 1 ETH wei per CGPT is 10^-18 ETH wei: rounds up to 1 wei.
    await env.write({
      address: oracle,
      abi: oracleAbi,
      functionName: 'setModelPrice',
      args: [priced, 1n, 0n, 0n],
    });
    await setRate(1n, 0);
    assert.equal(await q(priced, TIER_OPTIMISTIC), 1n);
    // 3 CGPT wei at 1/3 ETH per CGPT (333...333 wei, 18 decimals) is 0.999...999 ETH wei: 1 wei.
    await env.write({
      address: oracle,
      abi: oracleAbi,
      functionName: 'setModelPrice',
      args: [priced, 3n, 0n, 0n],
    });
    await setRate(333_333_333_333_333_333n, 0);
    assert.equal(await q(priced, TIER_ON_CHAIN), 1n);
    // 3 CGPT at 1/3 ETH per CGPT + 100%: 1.999999999999999998 ETH, an exact number of wei.
    await env.write({
      address: oracle,
      abi: oracleAbi,
      functionName: 'setModelPrice',
      args: [priced, 3n * 10n ** 18n, 0n, 0n],
    });
    await setRate(333_333_333_333_333_333n, 10_000);
    assert.equal(await q(priced, TIER_ON_CHAIN), 1_999_999_999_999_999_998n);
    // Rate 0: the AIVM part is free, only the callback gas is paid.
    await setRate(0n, 65_535);
    const gasPrice = await read<bigint>('callbackGasPrice');
    assert.equal(await q(priced, TIER_ZK, 10_000), 10_000n * gasPrice);
  });

  it('exact to the wei across rates, premiums and tiers (on-chain gas on tier 1, request gas on 2 and 4)', async () => {
    await env.write({
      address: oracle,
      abi: oracleAbi,
      functionName: 'setModelPrice',
      args: [priced, PRICE, GAS, ONCHAIN_GAS],
    });
    const rates = [1n, 999n, 10n ** 15n, 333_333_333_333_333_333n, 2n * 10n ** 18n + 1n, 2n ** 96n - 1n];
    const premiums = [0, 1, 250, 9_999, 10_000, 65_535];
    let roundedUp = 0;
    for (const rate of rates)
      for (const premium of premiums) {
        await setRate(rate, premium);
        for (const [tier, cost] of [
          [TIER_ON_CHAIN, PRICE + ONCHAIN_GAS],
          [TIER_ZK, PRICE + GAS],
          [TIER_OPTIMISTIC, PRICE + GAS],
        ] as const) {
          const fee = await q(priced, tier);
          // The smallest whole number of wei not below cost × rate × (1 + premium).
          const exact = cost * rate * (10_000n + BigInt(premium));
          const den = 10n ** 18n * 10_000n;
          assert.ok(
            fee * den >= exact && (fee - 1n) * den < exact,
            `rate ${rate} premium ${premium} tier ${tier}`,
          );
          assert.equal(fee, aivmFeeWei(cost, rate, premium));
          if (fee * den > exact) roundedUp++;
        }
        // The largest prices at the largest rate and premium do not overflow.
        const big = 2n ** 128n - 1n + 2n ** 64n - 1n;
        assert.equal(await q(maxed, TIER_ZK), aivmFeeWei(big, rate, premium));
      }
    assert.ok(roundedUp > 10, `${roundedUp} cases needed rounding`);
  });

  it('a request pays the quote of its block: later rate and price changes leave its stored fee (what delivery pays, refund returns)', async () => {
    await setRate(10n ** 15n, 500);
    const gasPrice = await read<bigint>('callbackGasPrice');
    assert.equal(
      await q(priced, TIER_OPTIMISTIC, 40_000),
      aivmFeeWei(PRICE + GAS, 10n ** 15n, 500) + 40_000n * gasPrice,
    );
    await env.write(
      {
        address: oracle,
        abi: oracleAbi,
        functionName: 'requestInference',
        args: [priced, input, TIER_OPTIMISTIC, 0, '0x'],
        value: 10n ** 18n,
      },
      3,
    );
    const id = (await read<bigint>('nextRequestId')) - 1n;
    const fee = (await getRequest(id)).fee;
    assert.equal(fee, aivmFeeWei(PRICE + GAS, 10n ** 15n, 500));
    await setRate(10n ** 17n, 10_000);
    await env.write({
      address: oracle,
      abi: oracleAbi,
      functionName: 'setModelPrice',
      args: [priced, 5n * PRICE, GAS, ONCHAIN_GAS],
    });
    assert.equal((await getRequest(id)).fee, fee);
    assert.equal(await q(priced, TIER_OPTIMISTIC), aivmFeeWei(5n * PRICE + GAS, 10n ** 17n, 10_000));
  });

  it('only the owner sets the rate and prices; each change is an event; unknown models refused', async () => {
    await rejectsWith(setRate(1n, 0, 1), 'NotOwner');
    await rejectsWith(
      env.write(
        { address: oracle, abi: oracleAbi, functionName: 'setModelPrice', args: [priced, 1n, 1n, 1n] },
        1,
      ),
      'NotOwner',
    );
    await rejectsWith(
      env.write({
        address: oracle,
        abi: oracleAbi,
        functionName: 'setModelPrice',
        args: [`0x${'00'.repeat(31)}01`, 1n, 1n, 1n],
      }),
      'UnknownModel',
    );
    const r1 = await setRate(123n, 45);
    const e1 = parseEventLogs({ abi: oracleAbi, logs: r1.logs as never, eventName: 'AivmPricingUpdated' });
    assert.deepEqual(
      e1.map((e) => e.args),
      [{ weiPerCgpt: 123n, premiumBps: 45 }],
    );
    assert.deepEqual(await read('aivmPricing'), [123n, 45]);
    const r2 = await env.write({
      address: oracle,
      abi: oracleAbi,
      functionName: 'setModelPrice',
      args: [priced, 11n, 22n, 33n],
    });
    const e2 = parseEventLogs({ abi: oracleAbi, logs: r2.logs as never, eventName: 'ModelPriceUpdated' });
    assert.deepEqual(
      e2.map((e) => e.args),
      [{ modelId: priced, aivmPriceWei: 11n, aivmGasWei: 22n, aivmOnchainGasWei: 33n }],
    );
    const m = await read<{
      aivmPriceWei: bigint;
      aivmGasWei: bigint;
      aivmOnchainGasWei: bigint;
      tiers: number;
    }>('getModel', [priced]);
    assert.deepEqual([m.aivmPriceWei, m.aivmGasWei, m.aivmOnchainGasWei, m.tiers], [11n, 22n, 33n, 7]);
  });
});

describe('callbacks', () => {
  it('a reverting callback: result stored, CallbackFailed; retryCallback succeeds once fixed', async () => {
    await setMode(1);
    // The fixed callback writes ~7 fresh storage slots: 300k is enough for it.
    const id = await request(300_000);
    const calls = await read<bigint>('calls', [], consumer, TestConsumer.abi);
    await deliver(id);
    const req = await getRequest(id);
    assert.equal(req.status, Status.CallbackFailed);
    assert.equal(req.output, output);
    assert.equal(await read<bigint>('calls', [], consumer, TestConsumer.abi), calls);
    // Still failing: stays CallbackFailed; a smaller gas limit than stored is refused.
    await env.write(
      { address: oracle, abi: oracleAbi, functionName: 'retryCallback', args: [id, 300_000] },
      4,
    );
    assert.equal(await read('statusOf', [id]), Status.CallbackFailed);
    await rejectsWith(
      env.write({ address: oracle, abi: oracleAbi, functionName: 'retryCallback', args: [id, 299_999] }, 4),
      'RetryGasTooLow',
    );
    await setMode(0);
    await env.write(
      { address: oracle, abi: oracleAbi, functionName: 'retryCallback', args: [id, 300_000] },
      4,
    );
    assert.equal(await read('statusOf', [id]), Status.Fulfilled);
    assert.equal(await read<bigint>('calls', [], consumer, TestConsumer.abi), calls + 1n);
    assert.equal(await read('lastOutput', [], consumer, TestConsumer.abi), output);
    assert.equal(await read('lastArgmax', [], consumer, TestConsumer.abi), 2n);
    await rejectsWith(
      env.write({ address: oracle, abi: oracleAbi, functionName: 'retryCallback', args: [id, 300_000] }, 4),
      'WrongStatus',
    );
  });

  it('a callback that runs out of gas: CallbackFailed; a retry with more gas succeeds', async () => {
    await setMode(2);
    const id = await request(60_000);
    const r = await deliver(id);
    assert.equal((await getRequest(id)).status, Status.CallbackFailed);
    // The callback burnt its whole limit: the delivery used more gas than the limit.
    assert.ok(r.gasUsed > 60_000n);
    await setMode(0);
    // The fixed callback needs more than the stored 60k (fresh storage writes): retry with a larger limit.
    await env.write(
      { address: oracle, abi: oracleAbi, functionName: 'retryCallback', args: [id, 200_000] },
      4,
    );
    assert.equal((await getRequest(id)).status, Status.Fulfilled);
  });

  it('a relayer cannot make the callback fail by sending too little gas: the delivery reverts instead', async () => {
    const id = await request(1_000_000);
    const sigs = signPacked(
      resultDigest({
        requestId: id,
        modelId,
        tier: 1,
        inputHash: hex(keccak256(bytes(input))),
        outputHash: hex(keccak256(bytes(output))),
      }),
      set.slice(0, 3),
    );
    await rejectsWith(
      env.pub.simulateContract({
        address: oracle,
        abi: oracleAbi,
        functionName: 'fulfillAttested',
        args: [id, id, output, sigs],
        gas: 400_000n,
        account: env.addresses[2]!,
      }),
      'InsufficientGasForCallback',
    );
    // Sent anyway (no gas estimation): the transaction reverts and the request stays open.
    await assert.rejects(deliver(id, 400_000n), /reverted/);
    assert.equal((await getRequest(id)).status, Status.Pending);
    await deliver(id);
    assert.equal((await getRequest(id)).status, Status.Fulfilled);
  });

  it('only the oracle may call a consumer back', async () => {
    await rejectsWith(
      env.write({
        address: consumer,
        abi: TestConsumer.abi,
        functionName: 'aivmCallback',
        args: [1n, modelId, output, '0x'],
      }),
      'OnlyOracle',
    );
  });
});

describe('result storage', () => {
  it('without a callback the output bytes are stored for the requester to read', async () => {
    await env.write(
      {
        address: oracle,
        abi: oracleAbi,
        functionName: 'requestInference',
        args: [modelId, input, 1, 0, '0x'],
        value: 10n ** 17n,
      },
      3,
    );
    const id = (await read<bigint>('nextRequestId')) - 1n;
    await deliver(id);
    const req = await read<{ status: number; output: Hex; outputHash: Hex }>('getRequest', [id]);
    assert.equal(req.status, Status.Fulfilled);
    assert.equal(req.output, output);
    assert.equal(req.outputHash, hex(keccak256(bytes(output))));
  });
});

describe('markRelayed and the timeout refund', () => {
  it('markRelayed moves Pending → Relayed once; delivery still works', async () => {
    const id = await request(50_000);
    await env.write({ address: oracle, abi: oracleAbi, functionName: 'markRelayed', args: [id, 77n] }, 4);
    assert.equal(await read('statusOf', [id]), Status.Relayed);
    await rejectsWith(
      env.write({ address: oracle, abi: oracleAbi, functionName: 'markRelayed', args: [id, 78n] }, 4),
      'WrongStatus',
    );
    await deliver(id);
    assert.equal(await read('statusOf', [id]), Status.Fulfilled);
  });

  it('refunds exactly the fee to the requester after the deadline, once; then no delivery', async () => {
    const user = env.addresses[3]!;
    await env.write(
      {
        address: oracle,
        abi: oracleAbi,
        functionName: 'requestInference',
        args: [modelId, input, 1, 30_000, '0x'],
        value: 10n ** 17n,
      },
      3,
    );
    const id = (await read<bigint>('nextRequestId')) - 1n;
    await env.write({ address: oracle, abi: oracleAbi, functionName: 'markRelayed', args: [id, 1n] }, 4);
    const req = await getRequest(id);
    await rejectsWith(
      env.write({ address: oracle, abi: oracleAbi, functionName: 'refund', args: [id] }, 4),
      'TooEarly',
    );
    const now = await env.pub.getBlockNumber({ cacheTime: 0 });
    await env.mine(Number(BigInt(req.deadline) - now) - 1); // the next block is the deadline itself
    await rejectsWith(
      env.write({ address: oracle, abi: oracleAbi, functionName: 'refund', args: [id] }, 4),
      'TooEarly',
    );
    await env.mine(1);
    const userBefore = await env.balance(user);
    const oracleBefore = await env.balance(oracle);
    await env.write({ address: oracle, abi: oracleAbi, functionName: 'refund', args: [id] }, 4); // someone else pays the gas
    assert.equal(await env.balance(user), userBefore + req.fee);
    assert.equal(await env.balance(oracle), oracleBefore - req.fee);
    assert.equal(await read('statusOf', [id]), Status.Refunded);
    await rejectsWith(
      env.write({ address: oracle, abi: oracleAbi, functionName: 'refund', args: [id] }, 4),
      'WrongStatus',
    );
    await rejectsWith(deliver(id), 'WrongStatus');
  });
});

describe('AivmOutput', () => {
  it('reads int32 little-endian elements, the length and the argmax (first on ties)', async () => {
    const reader = await env.deploy(OutputReader as never);
    const vals = [-2147483648, 2147483647, -1, 0, 65536, -300, 2147483647];
    const out = encodeOutput(vals);
    const r = <T>(fn: string, args: unknown[]) =>
      env.read<T>({ address: reader, abi: OutputReader.abi, functionName: fn, args });
    for (let i = 0; i < vals.length; i++) assert.equal(await r<number>('element', [out, BigInt(i)]), vals[i]);
    assert.equal(await r('length', [out]), 7n);
    assert.deepEqual(await r('argmax', [out]), [1n, 2147483647]);
    assert.deepEqual(await r('argmax', [encodeOutput([-5, -9, -5])]), [0n, -5]);
    await rejectsWith(r('element', [out, 7n]), 'OutputIndexOutOfRange');
    await rejectsWith(r('length', ['0x010203']), 'MalformedOutput');
    await rejectsWith(r('argmax', ['0x']), 'EmptyOutput');
  });
});
