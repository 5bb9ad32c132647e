// Shared fixtures of the inference tests: the real MNIST MLP (quantized on 200 training digits,
// published through the models genesis section), quantized test digits, a test chain with the
// inference params shortened, and helpers to send messages and read events, requests and
// balances. zk keys (development setup of the public-weights, public-inputs MLP circuit) are made
// once and cached in the temp directory.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, bytesToHex, mnemonicToPrivateKeys, privateKeyToAddress } from '@aivm/crypto';
import {
  decodeArtifact,
  encodeArtifact,
  encodeOutput,
  importOnnx,
  modelId,
  type QuantModel,
  type QuantTensor,
  quantize,
  quantizeTensor,
  runInt,
} from '@aivm/runtime';
import {
  type Circuit,
  compile,
  encodeProofPoints,
  encodeVerificationKey,
  type VerificationKey,
  witnessFromTrace,
  writeR1cs,
  writeWtns,
} from '@aivm/zk';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import {
  type Block,
  type BlockResult,
  type ChainEvent,
  getBalance,
  getNonce,
  type Receipt,
  WEI_PER_CGPT,
} from '../src/index.ts';
import {
  buildBlock,
  createTestChain,
  importBlock,
  signMsg,
  TEST_MNEMONIC,
  type TestAccount,
  type TestChain,
} from '../src/testing/index.ts';

export const CGPT = WEI_PER_CGPT;
export const PRICE = CGPT / 100n; // 0.01 CGPT per slot
export const ZERO = '0x0000000000000000000000000000000000000000' as Address;

// ---- the model ----

const graph = importOnnx(
  new Uint8Array(readFileSync(new URL('../../runtime/models/mnist-mlp.onnx', import.meta.url))),
);
const split = loadMnistSplit();
const quantized = quantize(graph, [
  { input: { dtype: 'float32', shape: [200, 784], data: imageBatch(split.train, 0, 200) } },
]);
export const artifact = encodeArtifact(quantized);
/** The model exactly as the chain decodes it from the artifact. */
export const model: QuantModel = decodeArtifact(artifact);
export const MODEL_ID = modelId(artifact);
export const INPUT_NAME = model.inputs[0]!;
export const OUTPUT_NAME = model.outputs[0]!;
const inputScale = model.values.find((v) => v.name === INPUT_NAME)!.scale;

/** Test digit i quantized with the model's input scale: the request input bytes. */
export function digit(i: number): { bytes: Uint8Array; tensor: QuantTensor; label: number } {
  const tensor = quantizeTensor(
    { dtype: 'float32', shape: [1, 784], data: imageBatch(split.test, i, 1) },
    inputScale,
    'int8',
  );
  const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength).slice();
  return { bytes, tensor, label: split.test.labels[i]! };
}

/** runInt with a trace on request input bytes. */
export function run(input: Uint8Array): {
  output: QuantTensor;
  trace: Map<string, QuantTensor>;
  bytes: Uint8Array;
} {
  const data = new Int8Array(input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength));
  const r = runInt(
    model,
    { [INPUT_NAME]: { dtype: 'int8', shape: [1, 784], data, scale: inputScale } },
    { trace: true },
  );
  const output = r.outputs[OUTPUT_NAME]!;
  return { output, trace: r.trace!, bytes: encodeOutput(output) };
}

// ---- zk keys and proofs ----

export type ZkFixture = { circuit: Circuit; zkey: Uint8Array; vk: VerificationKey; vkBytes: Uint8Array };
let zkFixture: Promise<ZkFixture> | undefined;

/** Circuit, keys (dev setup, cached on disk) and encoded vk of the MLP; built once per process. */
export function zkKeys(): Promise<ZkFixture> {
  zkFixture ??= (async () => {
    const { loadOrCreateKeys } = await import('@aivm/zk/node');
    const circuit = compile(model);
    const keys = await loadOrCreateKeys(join(tmpdir(), 'aivm-inference-test-keys'), writeR1cs(circuit.r1cs), {
      kind: 'dev',
      seed: 'aivm-inference-test',
    });
    const vk = keys.vk as unknown as VerificationKey;
    return { circuit, zkey: keys.zkey, vk, vkBytes: encodeVerificationKey(vk) };
  })();
  return zkFixture;
}

/** A real proof of the model on `input`: its output bytes and 256 proof bytes. */
export async function proveInput(input: Uint8Array): Promise<{ output: Uint8Array; proof: Uint8Array }> {
  const { circuit, zkey } = await zkKeys();
  const { prove } = await import('@aivm/zk/node');
  const r = run(input);
  const w = witnessFromTrace(circuit, r.trace);
  const { proof } = await prove(zkey, writeWtns(w.wires));
  return { output: r.bytes, proof: encodeProofPoints(proof) };
}

export async function releaseZk(): Promise<void> {
  const { releaseCurve } = await import('@aivm/zk/node');
  await releaseCurve();
}

// ---- the chain ----

export const TEST_PARAMS = {
  resultDeadlineBlocks: '4',
  challengeWindowBlocks: '3',
  disputeStepBlocks: '2',
  providerUnbondingBlocks: '5',
  maxAttempts: 3,
};

export type Fixture = {
  tc: TestChain;
  a: TestAccount[];
  owner: TestAccount;
  requester: TestAccount;
};

/**
 * A test chain with 10 accounts of 100,000 CGPT (no gas price, so balances move only by what the
 * test does and the fee collector holds only protocol shares), the MNIST MLP published by a0
 * with the tiers given (zk needs zkKeys()), and inference params shortened.
 */
export async function setupChain(
  opts: {
    tiers?: number;
    vk?: Uint8Array;
    inference?: Record<string, unknown>;
    extraModels?: unknown[];
    /** Other genesis sections (e.g. gov params). */
    app?: Record<string, unknown>;
    /** auth params besides the zero gas price. */
    auth?: Record<string, unknown>;
    /** models params. */
    models?: Record<string, unknown>;
  } = {},
): Promise<Fixture> {
  const tiers = opts.tiers ?? 5;
  const tc = await createTestChain({
    accounts: 10,
    fundCgpt: 100_000n,
    app: {
      ...opts.app,
      auth: { params: { minGasPriceWei: '0', ...opts.auth } },
      models: {
        ...(opts.models ? { params: opts.models } : {}),
        models: [
          {
            owner: privateKeyToAddress(mnemonicToPrivateKeys(TEST_MNEMONIC, 0, 1)[0]!),
            name: 'MNIST MLP',
            task: 'image-classification',
            inputSchema: '[1,784]',
            outputSchema: '[1,10]',
            priceWei: PRICE.toString(),
            tiers,
            artifact: bytesToHex(artifact),
            ...(opts.vk ? { vk: bytesToHex(opts.vk) } : {}),
          },
          ...(opts.extraModels ?? []),
        ],
      },
      inference: { params: { ...TEST_PARAMS, ...opts.inference } },
    },
  });
  return { tc, a: tc.accounts, owner: tc.accounts[0]!, requester: tc.accounts[1]! };
}

export type Tx = { from: TestAccount; type: string; msg: Record<string, unknown> };

const history = new WeakMap<TestChain, Block[]>();

/** Every block `block()` built on this chain, in order (for replay on a second node). */
export function blocksOf(tc: TestChain): Block[] {
  return history.get(tc) ?? [];
}

/** Re-executes every block of `from` on `to` (same genesis): importBlock checks every root. */
export async function replay(from: TestChain, to: TestChain): Promise<void> {
  for (const b of blocksOf(from)) await importBlock(to, b);
  assert.deepEqual(to.head, from.head);
}

/** Builds one block with the given messages (nonces from state, several per account allowed). */
export async function block(
  tc: TestChain,
  txs: Tx[] = [],
  opts: { timeStepMs?: bigint } = {},
): Promise<{ receipts: Receipt[]; result: BlockResult; events: ChainEvent[] }> {
  const nonces = new Map<string, bigint>();
  const raw: Uint8Array[] = [];
  for (const t of txs) {
    const key = t.from.address.toLowerCase();
    const nonce = nonces.get(key) ?? (await getNonce(tc.state, t.from.address));
    nonces.set(key, nonce + 1n);
    raw.push(signMsg(tc, t.from, nonce, t.type, t.msg, { gasLimit: 9_000_000n, gasPrice: 0n }));
  }
  const { block: built, result } = await buildBlock(tc, raw, opts);
  const list = history.get(tc) ?? [];
  list.push(built);
  history.set(tc, list);
  const events: ChainEvent[] = [];
  for (const r of result.receipts)
    for (const e of r.events)
      events.push({
        module: e.module,
        type: e.type,
        attributes: Object.fromEntries(e.attributes.map((x) => [x.key, x.value])),
      });
  events.push(...result.blockEvents);
  return { receipts: result.receipts, result, events };
}

/** Sends one message in its own block and asserts it succeeded. */
export async function ok(tc: TestChain, from: TestAccount, type: string, msg: Record<string, unknown>) {
  const r = await block(tc, [{ from, type, msg }]);
  const receipt = r.receipts[0]!;
  assert.ok(receipt.success, `${type} failed: ${receipt.error}`);
  return r;
}

/** Sends one message in its own block and asserts it failed with an error matching `re`. */
export async function fails(
  tc: TestChain,
  from: TestAccount,
  type: string,
  msg: Record<string, unknown>,
  re: RegExp,
) {
  const r = await block(tc, [{ from, type, msg }]);
  const receipt = r.receipts[0]!;
  assert.equal(receipt.success, false, `${type} should have failed`);
  assert.match(receipt.error, re);
  return r;
}

/** Empty blocks until the head reaches `height`. */
export async function advanceTo(tc: TestChain, height: bigint): Promise<ChainEvent[]> {
  const events: ChainEvent[] = [];
  while (tc.head.height < height) events.push(...(await block(tc)).events);
  return events;
}

export function eventsOf(events: ChainEvent[], type: string): Record<string, string>[] {
  return events.filter((e) => e.module === 'inference' && e.type === type).map((e) => e.attributes);
}

export async function query<T = Record<string, unknown>>(
  tc: TestChain,
  path: string,
  params: Record<string, unknown>,
): Promise<T> {
  return (await tc.chain.registry.query(path)!.handler(tc.state, params as never)) as T;
}

export type RequestJson = {
  id: string;
  status: string;
  reason: string;
  output: string;
  class: number | null;
  outputValues: number[] | null;
  computeGas: string;
  fees: {
    ownerWei: string;
    providerWei: string;
    reviewersWei: string;
    protocolWei: string;
    refundWei: string;
  };
  tried: string[];
  slots: {
    status: string;
    provider: string;
    attempts: number;
    deadline: string;
    computedAt: string;
    output: string;
    class: number | null;
    dispute: Record<string, unknown> | null;
  }[];
};

export const getReq = (tc: TestChain, id: bigint) => query<RequestJson>(tc, 'inference/request', { id });

export const balance = (tc: TestChain, a: Address) => getBalance(tc.state, a);

export const registerMsg = (fields: Record<string, unknown> = {}) => ({
  stakeWei: 1_000n * CGPT,
  capacity: 4,
  tiers: 6,
  models: [],
  endpoint: 'https://provider.example',
  ...fields,
});

export const requestMsg = (input: Uint8Array, fields: Record<string, unknown> = {}) => ({
  modelId: MODEL_ID,
  tier: 4,
  input,
  maxFeeWei: PRICE,
  redundancy: 1,
  ...fields,
});

/** The request id announced by the status event of a successful request message. */
export function requestIdOf(events: ChainEvent[]): bigint {
  const e = eventsOf(events, 'status').find((x) => x.status === 'pending');
  assert.ok(e, 'no pending status event');
  return BigInt(e.id!);
}
