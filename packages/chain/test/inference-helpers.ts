// Shared fixtures of the inference tests: the real MNIST MLP (quantized on 200 training digits,
// published through the models genesis section), quantized test digits, a test chain with the
// inference params shortened, and helpers to send messages and read events, requests and
// balances. zk keys (development setup of the public-weights, public-inputs MLP circuit) are made
// once and cached in the temp directory.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Address,
  addressToBytes,
  bytesToHex,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
} from '@aivm/crypto';
import {
  decodeArtifact,
  encodeArtifact,
  encodeOutput,
  importOnnx,
  layerLeaves,
  modelId,
  type QuantModel,
  type QuantTensor,
  quantize,
  quantizeTensor,
  runInt,
  runIntNode,
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
  merkleProof,
  merkleRoot,
  type Receipt,
  WEI_PER_CGPT,
} from '../src/index.ts';
import { clearModelCache } from '../src/modules/models/keeper.ts';
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
/** Default minPriceWei (0.001 CGPT): the MNIST MLP's floor on the optimistic tier (its gas floor is lower). */
export const MIN_PRICE = 10n ** 15n;

/**
 * What paySlot pays for one slot of `price` on a request whose floor is `floor`, with the default
 * shares: the floor wholly to the provider, the rest split owner 60%, provider 25%, reviewers 10%
 * (to the protocol when nobody reviews), protocol the remainder.
 */
export function slotSplit(
  price: bigint,
  floor: bigint,
): { owner: bigint; provider: bigint; reviewers: bigint; protocol: bigint } {
  const rest = price - floor;
  const owner = (rest * 6000n) / 10_000n;
  const share = (rest * 2500n) / 10_000n;
  const reviewers = (rest * 1000n) / 10_000n;
  return { owner, provider: floor + share, reviewers, protocol: rest - owner - share - reviewers };
}
export const ZERO = '0x0000000000000000000000000000000000000000' as Address;
/** A provider's stake in the optimistic-tier tests. */
export const STAKE = 2_000n * CGPT;
/** A challenge bond (at least challengeBondWei). */
export const BOND = 10n * CGPT;

export const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`;

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

export type ZkFixture = {
  circuit: Circuit;
  zkey: Uint8Array;
  vk: VerificationKey;
  vkBytes: Uint8Array;
  /** The circuit's constraint count: the model's zkConstraints (14,498). */
  constraints: bigint;
};
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
    return {
      circuit,
      zkey: keys.zkey,
      vk,
      vkBytes: encodeVerificationKey(vk),
      constraints: BigInt(circuit.r1cs.constraints.length),
    };
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
  queueTimeoutBlocks: '4',
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
    /** The model's zkConstraints (required with the zk tier: zkKeys().constraints). */
    zkConstraints?: bigint;
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
            ...(opts.zkConstraints !== undefined ? { zkConstraints: opts.zkConstraints.toString() } : {}),
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

/**
 * Replays every block of `from` on a second node set up with `opts` (the decoded-model cache
 * cleared first, so that node decodes the models cold), then closes that node.
 */
export async function replayOnSecondNode(
  from: TestChain,
  opts: Parameters<typeof setupChain>[0],
): Promise<void> {
  clearModelCache();
  const g = await setupChain(opts);
  try {
    await replay(from, g.tc);
  } finally {
    await g.tc.close();
  }
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
  assert.equal(receipt.code, 0, `${type} failed: ${receipt.error}`);
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
  assert.notEqual(receipt.code, 0, `${type} should have failed`);
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

export type ProviderJson = {
  stakeWei: string;
  unbondingWei: string;
  openJobs: number;
  openWork: number;
  faults: string;
  slashedWei: string;
};

/** A provider's record as the inference/provider query shows it. */
export const providerOf = (f: Fixture, address: string) =>
  query<ProviderJson>(f.tc, 'inference/provider', { address });

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

/** A gov modelFault proposal against the MNIST MLP (deposit 100 CGPT). */
export const faultProposal = (title: string) => ({
  kind: 'modelFault',
  title,
  description: '',
  paramModule: '',
  paramsJson: '',
  recipient: ZERO,
  amountWei: 0n,
  initialDepositWei: 100n * CGPT,
  modelId: MODEL_ID,
});

/** The request id announced by the status event of a successful request message. */
export function requestIdOf(events: ChainEvent[]): bigint {
  const e = eventsOf(events, 'status').find((x) => x.status === 'pending');
  assert.ok(e, 'no pending status event');
  return BigInt(e.id!);
}

/** The account (of the fixture's) with this address. */
export const accountOf = (f: Fixture, address: string) =>
  f.a.find((t) => t.address.toLowerCase() === address.toLowerCase())!;

/** registerProvider transactions of the accounts a[i], one per index, with the same fields. */
export const registerTxs = (f: Fixture, indices: number[], fields: Record<string, unknown> = {}): Tx[] =>
  indices.map((i) => ({ from: f.a[i]!, type: 'inference/registerProvider', msg: registerMsg(fields) }));

/**
 * setupChain (tiers 5 unless `opts` says otherwise), then one block in which the accounts a[i]
 * register as optimistic-only providers with STAKE each (and `fields`).
 */
export async function optimisticChain(
  indices: number[],
  opts: Parameters<typeof setupChain>[0] = {},
  fields: Record<string, unknown> = {},
): Promise<Fixture> {
  const f = await setupChain({ tiers: 5, ...opts });
  await block(f.tc, registerTxs(f, indices, { tiers: 4, stakeWei: STAKE, ...fields }));
  return f;
}

/** A fresh request of `input` (optimistic unless `fields` say otherwise): its id and the first assigned provider's account. */
export async function newRequest(f: Fixture, input: Uint8Array, fields: Record<string, unknown> = {}) {
  const r = await ok(f.tc, f.requester, 'inference/request', requestMsg(input, fields));
  const id = requestIdOf(r.events);
  return { id, provider: accountOf(f, eventsOf(r.events, 'assigned')[0]!.provider!) };
}

// ---- the optimistic tier: layer commitments and messages ----

/** A run's layer tensors (input, then each node's output), leaves, root and output bytes. */
export type Layers = { tensors: QuantTensor[]; leaves: Uint8Array[]; root: Uint8Array; output: Uint8Array };

export type DisputeJson = { lo: number; hi: number; phase: string; deadline: string };

const names = [model.inputs[0]!, ...model.nodes.map((x) => x.outputs[0]!)];
/** The index of the output leaf (the leaves: the input, then each node's output). */
const outputLeaf = model.nodes.length;

/** The chain salts a slot's layer leaves with its provider's address. */
type Who = { address: string };

function layersOf(tensors: QuantTensor[], provider: Who): Layers {
  const trace = new Map(tensors.map((t, i) => [names[i]!, t]));
  const leaves = layerLeaves(model, trace, addressToBytes(provider.address));
  return { tensors, leaves, root: merkleRoot(leaves), output: encodeOutput(tensors[tensors.length - 1]!) };
}

/** The honest run of the model on `input`, its leaves salted for `provider`. */
export function honest(input: Uint8Array, provider: Who): Layers {
  const { trace } = run(input);
  return layersOf(
    names.map((x) => trace.get(x)!),
    provider,
  );
}

/** Perturbs the output of node k and recomputes the later nodes from it (a consistent lie). */
export function perturbed(input: Uint8Array, k: number, provider: Who): Layers {
  const tensors = honest(input, provider).tensors.slice();
  const bad = tensors[k + 1]!;
  const data = bad.data.slice();
  for (let i = 0; i < data.length; i += 3) data[i] = Math.min(127, data[i]! + 60);
  tensors[k + 1] = { ...bad, data };
  for (let j = k + 1; j < model.nodes.length; j++)
    tensors[j + 1] = runIntNode(model, j, { [names[j]!]: tensors[j]! });
  return layersOf(tensors, provider);
}

export const resultMsg = (id: bigint, l: Layers) => ({
  requestId: id,
  output: l.output,
  layerRoot: l.root,
  inputProof: merkleProof(l.leaves, 0),
  outputProof: merkleProof(l.leaves, outputLeaf),
});

export const challengeMsg = (id: bigint, l: Layers, { slot = 0, bondWei = BOND } = {}) => ({
  ...resultMsg(id, l),
  slot,
  bondWei,
});

export const revealMsg = (id: bigint, l: Layers, mid: number, slot = 0) => ({
  requestId: id,
  slot,
  leaf: l.leaves[mid]!,
  proof: merkleProof(l.leaves, mid),
});
