// AivmOracle on a real anvil: quote and the refund of any excess, callbacks that revert or run
// out of gas (result stored, CallbackFailed, retryCallback once the consumer is fixed), the
// timeout refund exact to the wei, markRelayed, limits on requester input, AivmOutput.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keccak256 } from '@aivm/crypto';
import type { Hex } from 'viem';
import { OutputReader } from '../src/artifacts.ts';
import {
  bytes,
  deployStack,
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
  validators,
  ZERO_ADDRESS,
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
  ({ oracle, consumer } = await deployStack(env, set, { timeoutBlocks: TIMEOUT }));
  await env.write({
    address: oracle,
    abi: oracleAbi,
    functionName: 'registerModel',
    args: [
      modelId,
      {
        verifier: ZERO_ADDRESS,
        inputMode: 0,
        hasWeightCommitment: false,
        weightCommitment: 0n,
        inputLen: 8,
        outputLen: 10,
        tiers: 1,
        fees: [12345n, 0n, 0n],
      },
    ],
  });
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
  it('quote = tier fee + callbackGasLimit × (max(basefee, floor) + tip); the excess comes back', async () => {
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
      env.write(
        {
          address: oracle,
          abi: oracleAbi,
          functionName: 'registerModel',
          args: [
            modelId,
            {
              verifier: ZERO_ADDRESS,
              inputMode: 0,
              hasWeightCommitment: false,
              weightCommitment: 0n,
              inputLen: 8,
              outputLen: 10,
              tiers: 1,
              fees: [0n, 0n, 0n],
            },
          ],
        },
        1,
      ),
      'NotOwner',
    );
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
