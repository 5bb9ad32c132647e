// Float inputs and results in the model's units, against a real node (in process, RPC on
// 127.0.0.1): a Gemm -> Tanh -> Gemm -> Sigmoid model published for the on-chain tier, requested
// with float values; the request carries exactly quantizeInput's bytes and the finished request
// reads as probabilities with the integer output and its scale alongside.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WEI_PER_CGPT } from '@aivm/chain';
import { ed25519GenerateKey, privateKeyToAddress, sha256 } from '@aivm/crypto';
import { AivmNode, buildGenesis, createLogger, DEFAULT_SELF_STAKE_WEI } from '@aivm/node';
import {
  buildOnnxModel,
  encodeArtifact,
  importOnnx,
  inputTensor,
  modelIO,
  type QuantModel,
  quantize,
  quantizeInput,
  runInt,
} from '@aivm/runtime';
import { tanhSigmoidCalibration, tanhSigmoidOnnx } from '../../cli/test/tiny-models.ts';
import {
  AivmClient,
  getModelIO,
  InputError,
  publishModel,
  readOutput,
  requestInference,
  TIERS,
  Wallet,
  waitForRequest,
} from '../src/index.ts';

const key = (name: string) => sha256(new TextEncoder().encode(`sdk results ${name}`));
const OWNER = key('owner');
const REQUESTER = key('requester');
const SAMPLE = [0.1, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7, 0.8];

let home: string;
let node: AivmNode;
let client: AivmClient;
let model: QuantModel;
let id: string;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'aivm-sdk-results-'));
  const validator = ed25519GenerateKey();
  node = await AivmNode.start({
    home: join(home, 'node'),
    genesis: buildGenesis({
      chainId: 7,
      genesisTimeMs: 1_700_000_000_000,
      validators: [
        {
          operator: privateKeyToAddress(key('validator')),
          consensusPubKey: validator.publicKey,
          selfStakeWei: DEFAULT_SELF_STAKE_WEI,
        },
      ],
      balances: [OWNER, REQUESTER].map((k) => ({
        address: privateKeyToAddress(k),
        amountWei: 1000n * WEI_PER_CGPT,
      })),
    }),
    validatorKey: validator.secretKey,
    rpc: { host: '127.0.0.1', port: 0 },
    blockIntervalMs: 100,
    emptyBlocks: true,
    logger: createLogger('silent'),
  });
  client = new AivmClient(node.rpcUrl, { timeoutMs: 10_000 });
  const graph = importOnnx(tanhSigmoidOnnx());
  model = quantize(graph, [
    { x: { dtype: 'float32', shape: [64, 8], data: Float32Array.from(tanhSigmoidCalibration(64).flat()) } },
  ]);
  ({ id } = await publishModel(Wallet.fromPrivateKey(OWNER, client), {
    artifact: encodeArtifact(model),
    name: 'tanh-sigmoid',
    inputSchema: '[1,8]',
    outputSchema: '[1,3]',
    priceWei: WEI_PER_CGPT / 100n,
    tiers: TIERS.onchain,
    timeoutMs: 30_000,
  }));
});

after(async () => {
  client.close();
  await node.close();
  await rm(home, { recursive: true, force: true });
});

describe('sdk inference with float inputs and results in model units (real node)', {
  timeout: 120_000,
}, () => {
  it("reads the model's input and output description from its artifact", async () => {
    const io = await getModelIO(client, id);
    assert.deepEqual(io, modelIO(model));
    assert.deepEqual(io.input.shape, [1, 8]);
    assert.equal(io.output.activation, 'sigmoid');
    assert.equal(io.output.kind, 'quant');
  });

  it("quantizes float inputs as quantizeInput does and returns the result in the model's units", async () => {
    const requester = Wallet.fromPrivateKey(REQUESTER, client);
    // Nested [1,8] floats: the request carries exactly quantizeInput's bytes.
    const sent = await requestInference(requester, { modelId: id, tier: 'onchain', input: [SAMPLE] });
    const expectedInput = quantizeInput(model, SAMPLE);
    assert.deepEqual(sent.input, expectedInput);
    const tx = await client.getTx(sent.txHash);
    assert.equal(tx?.msg.input, `0x${Buffer.from(expectedInput).toString('hex')}`);

    const done = await waitForRequest(client, sent.requestId, {
      record: sent.record,
      pollMs: 100,
      timeoutMs: 30_000,
    });
    assert.equal(done.status, 'finalized');
    // The on-chain tier runs in the request transaction: its status events open the history.
    assert.deepEqual(
      done.history.map((h) => h.status),
      ['pending', 'computed', 'finalized'],
    );
    for (const h of done.history) assert.equal(h.height, sent.record.height);

    // The same integers as a local run, read as probabilities: int32 x the output scale.
    const local = runInt(model, { x: inputTensor(model, expectedInput) }).outputs.y!;
    const result = done.result!;
    assert.deepEqual(result.output, Array.from(local.data));
    assert.equal(result.scale, local.scale);
    assert.deepEqual(
      result.values,
      Array.from(local.data, (q) => Math.fround(q * local.scale)),
    );
    assert.deepEqual(result.probabilities, result.values);
    for (const p of result.values) assert.ok(p > 0 && p < 1, `probability ${p}`);
    assert.equal(result.activation, 'sigmoid');
    assert.equal(result.argmax, result.output.indexOf(Math.max(...result.output)));
    assert.deepEqual([result.slot, result.paid, result.slots], [0, 1, 1]);
  });

  it('takes a Float32Array of the flat element count too, and refuses a wrong count before sending', async () => {
    const requester = Wallet.fromPrivateKey(REQUESTER, client);
    const sent = await requestInference(requester, {
      modelId: id,
      tier: 'onchain',
      input: Float32Array.from(SAMPLE),
    });
    assert.deepEqual(sent.input, quantizeInput(model, SAMPLE));
    const nonce = (await client.getAccount(requester.address)).nonce;
    await assert.rejects(
      requestInference(requester, { modelId: id, tier: 'onchain', input: SAMPLE.slice(1) }),
      (err: Error) => err instanceof InputError && /has 8 elements \(\[1,8\]\), got 7/.test(err.message),
    );
    await assert.rejects(
      requestInference(requester, { modelId: id, tier: 'onchain', input: [...SAMPLE.slice(1), Number.NaN] }),
      (err: Error) => err instanceof InputError && /element 7 is NaN/.test(err.message),
    );
    assert.equal((await client.getAccount(requester.address)).nonce, nonce);
  });
});

describe('modelIO', () => {
  it("names the output's activation from its last kernel, looking through a reshape", () => {
    const onnx = (tail: string) =>
      buildOnnxModel({
        name: tail,
        opset: 13,
        inputs: [{ name: 'x', shape: ['N', 4] }],
        outputs: [{ name: 'y', shape: ['N', 2] }],
        initializers: {
          w: {
            dtype: 'float32',
            shape: [2, 4],
            data: Float32Array.from([1, -1, 0.5, 0.25, -0.5, 1, 0.75, -0.25]),
          },
          s: { dtype: 'int32', shape: [2], data: Int32Array.from([-1, 2]) },
        },
        nodes: [
          { op: 'Gemm', inputs: ['x', 'w'], outputs: ['g'], attrs: { transB: 1 } },
          ...(tail === 'Gemm' ? [] : [{ op: tail, inputs: ['g'], outputs: ['a'] }]),
          { op: 'Reshape', inputs: [tail === 'Gemm' ? 'g' : 'a', 's'], outputs: ['y'] },
        ],
      });
    const sample = {
      x: {
        dtype: 'float32' as const,
        shape: [2, 4],
        data: Float32Array.from([1, 0, -1, 0.5, 0, 1, 0.5, -1]),
      },
    };
    const activation = (tail: string) =>
      modelIO(quantize(importOnnx(onnx(tail)), [sample])).output.activation;
    assert.equal(activation('Softmax'), 'softmax');
    assert.equal(activation('Sigmoid'), 'sigmoid');
    assert.equal(activation('Gemm'), 'none');
  });
});

describe('readOutput', () => {
  const io = (
    activation: 'softmax' | 'log-softmax' | 'none' | 'argmax',
    kind: 'quant' | 'index' = 'quant',
  ) => ({
    output: { name: 'y', shape: [1, 3], scale: 0.5, kind, dtype: 'int32' as const, activation },
  });

  it('gives probabilities only where the last kernel makes them, never from raw scores', () => {
    assert.deepEqual(readOutput(io('softmax'), [1, 0, 1]).probabilities, [0.5, 0, 0.5]);
    assert.deepEqual(readOutput(io('log-softmax'), [0, -2]).probabilities, [1, Math.exp(-1)]);
    const scores = readOutput(io('none'), [4, -2, 6]);
    assert.deepEqual(scores.values, [2, -1, 3]);
    assert.equal(scores.argmax, 2);
    assert.equal(scores.probabilities, undefined);
  });

  it('reads an argmax output as the class itself (an index value, scale 1)', () => {
    const r = readOutput({ output: { ...io('argmax', 'index').output, scale: 1, shape: [1] } }, [7]);
    assert.deepEqual([r.values, r.argmax, r.probabilities], [[7], 7, undefined]);
  });
});
