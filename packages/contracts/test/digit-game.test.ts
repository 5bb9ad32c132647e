// The example consumer on a real anvil with real handwritten digits: DigitGame asks for the
// target digit of the block, a player submits a real MNIST test image (quantized to the model's
// int8 input, 784 bytes), AIVM's result (the MNIST MLP run by @aivm/runtime's integer engine, as
// AIVM validators compute it) is delivered with > 2/3 of the validators' signatures, and the game
// pays out exactly when the classification is the target.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { keccak256 } from '@aivm/crypto';
import { importOnnx, type QuantModel, quantize, runInt } from '@aivm/runtime';
import { type Hex, parseEventLogs } from 'viem';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import { DigitGame } from '../src/artifacts.ts';
import {
  bytes,
  deployWithModel,
  type Env,
  encodeInput,
  encodeOutput,
  hex,
  oracleAbi,
  rejectsWith,
  resultDigest,
  signPacked,
  startEnv,
  TIER_ON_CHAIN,
  validators,
} from './helpers.ts';

const set = validators(4, 'game');
const modelId: Hex = `0x${'d1'.repeat(32)}`;
const PRIZE = 10n ** 16n;
let env: Env;
let oracle: Hex;
let game: Hex;
let model: QuantModel;
let inputName: string;
const { train, test } = loadMnistSplit();

/** AIVM's result for a test image: its int8 input bytes and int32 output scores. */
function classify(index: number): { input: number[]; output: number[]; label: number; predicted: number } {
  const run = runInt(
    model,
    { [inputName]: { dtype: 'float32', shape: [1, 784], data: imageBatch(test, index, 1) } },
    { trace: true },
  );
  const input = Array.from(run.trace?.get(inputName)?.data as ArrayLike<number>);
  const output = Array.from(run.outputs[model.outputs[0] as string]?.data as ArrayLike<number>);
  const predicted = output.reduce((best, v, i) => (v > (output[best] as number) ? i : best), 0);
  return { input, output, label: test.labels[index] as number, predicted };
}

before(async () => {
  const graph = importOnnx(
    new Uint8Array(readFileSync(new URL('../../runtime/models/mnist-mlp.onnx', import.meta.url))),
  );
  inputName = graph.inputs[0]?.name as string;
  model = quantize(graph, [
    { [inputName]: { dtype: 'float32', shape: [200, 784], data: imageBatch(train, 0, 200) } },
  ]);
  env = await startEnv();
  ({ oracle } = await deployWithModel(env, set, modelId, {
    inputLen: 784,
    tiers: 1,
    aivmPriceWei: 10n ** 17n,
    aivmGasWei: 0n,
    aivmOnchainGasWei: 0n,
  }));
  game = await env.deploy(DigitGame as never, [oracle, modelId, TIER_ON_CHAIN, PRIZE]);
  await env.wallets[0]?.sendTransaction({
    to: game,
    value: 3n * PRIZE,
    account: env.wallets[0].account!,
    chain: env.chain,
  });
});
after(() => env?.stop());

const g = <T>(functionName: string, args: unknown[] = []) =>
  env.read<T>({ address: game, abi: DigitGame.abi, functionName, args });

/** Plays a test image of the digit `want` (predicted as `predicted`) and delivers AIVM's attested result. */
async function playAndDeliver(pick: (target: number) => number) {
  const latest = await env.pub.getBlock({ blockTag: 'latest' });
  const target = Number(BigInt(latest.hash) % 10n); // targetDigit() of the next block
  const c = classify(pick(target));
  const price = await g<bigint>('price');
  const r = await env.write(
    { address: game, abi: DigitGame.abi, functionName: 'play', args: [encodeInput(c.input)], value: price },
    1,
  );
  const played = parseEventLogs({ abi: DigitGame.abi, logs: r.logs as never, eventName: 'Played' })[0];
  assert.equal(played?.args.target, target);
  const id = played?.args.requestId as bigint;
  const output = encodeOutput(c.output);
  const digest = resultDigest({
    requestId: 1000n + id,
    modelId,
    tier: TIER_ON_CHAIN,
    inputHash: hex(keccak256(bytes(encodeInput(c.input)))),
    outputHash: hex(keccak256(bytes(output))),
  });
  const d = await env.write(
    {
      address: oracle,
      abi: oracleAbi,
      functionName: 'fulfillAttested',
      args: [id, 1000n + id, output, signPacked(digest, set.slice(0, 3))],
    },
    2,
  );
  const result = parseEventLogs({ abi: DigitGame.abi, logs: d.logs as never, eventName: 'Result' })[0];
  return { target, c, result: result?.args };
}

describe('DigitGame with real MNIST digits', () => {
  it('pays the prize when the drawing is classified as the target, nothing otherwise', async () => {
    const player = env.addresses[1] as Hex;
    // A correctly classified image of the target digit.
    const win = await playAndDeliver((target) => {
      for (let i = 0; i < test.labels.length; i++)
        if (test.labels[i] === target && classify(i).predicted === target) return i;
      throw new Error(`no test image of ${target}`);
    });
    assert.equal(win.c.label, win.target);
    assert.equal(win.result?.classified, BigInt(win.target));
    assert.equal(win.result?.won, true);
    assert.equal(await g('winnings', [player]), PRIZE);
    // A correctly classified image of another digit.
    const lose = await playAndDeliver((target) => {
      for (let i = 0; i < test.labels.length; i++)
        if (test.labels[i] !== target && classify(i).predicted === test.labels[i]) return i;
      throw new Error('no image');
    });
    assert.notEqual(lose.c.label, lose.target);
    assert.equal(lose.result?.classified, BigInt(lose.c.label));
    assert.equal(lose.result?.won, false);
    assert.equal(await g('winnings', [player]), PRIZE);
    assert.equal(await g('owed'), PRIZE);
    // Withdraw: exact, once.
    const before = await env.balance(player);
    const w = await env.write({ address: game, abi: DigitGame.abi, functionName: 'withdraw' }, 1);
    assert.equal(await env.balance(player), before + PRIZE - w.gasUsed * w.effectiveGasPrice);
    assert.equal(await g('owed'), 0n);
    await rejectsWith(
      env.write({ address: game, abi: DigitGame.abi, functionName: 'withdraw' }, 1),
      'NothingToWithdraw',
    );
  });

  it('classifies most real test digits correctly (the model the game relies on)', () => {
    let right = 0;
    for (let i = 0; i < 50; i++) if (classify(i * 7).predicted === test.labels[i * 7]) right++;
    assert.ok(right >= 40, `${right}/50`);
  });
});
