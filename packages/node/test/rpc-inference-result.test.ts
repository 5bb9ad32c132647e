// aivm_getInferenceResult against a real node (in process, RPC on 127.0.0.1): two tiny models
// published for the on-chain tier, one with its artifact blob on the node (Gemm -> Tanh -> Gemm ->
// Sigmoid: probabilities), one without (Gemm only: scores, read from the chain's copy of the
// artifact); on-chain requests are finalized in their own block, an optimistic one without any
// provider waits in the queue and fails. The result must be readOutput of @aivm/runtime/core on
// the model's artifact, the same as the SDK's.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChainError, ERR, WEI_PER_CGPT } from '@aivm/chain';
import { ed25519GenerateKey, privateKeyToAddress, sha256 } from '@aivm/crypto';
import {
  buildOnnxModel,
  decodeArtifact,
  encodeArtifact,
  importOnnx,
  inputTensor,
  modelIO,
  type QuantModel,
  quantize,
  quantizeInput,
  readOutput,
  runInt,
} from '@aivm/runtime';
import {
  AivmClient,
  getRequest,
  publishModel,
  readRequestResult,
  requestInference,
  TIERS,
  Wallet,
} from '@aivm/sdk';
import { tanhSigmoidCalibration, tanhSigmoidOnnx } from '../../cli/test/tiny-models.ts';
import type { NodeApi } from '../src/api.ts';
import { AivmNode, buildGenesis, createLogger, DEFAULT_SELF_STAKE_WEI } from '../src/index.ts';
import { RPC_ERR } from '../src/rpc/errors.ts';
import { ModelIOCache, modelIOCache, modelIOFor } from '../src/rpc/inference-result.ts';
import { RPC_METHOD_INDEX } from '../src/rpc/methods.ts';
import { type RpcServer, startRpcServer } from '../src/rpc/server.ts';

const key = (name: string) => sha256(new TextEncoder().encode(`rpc inference result ${name}`));
const OWNER = key('owner');
const REQUESTER = key('requester');
const SAMPLE = [0.1, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7, 0.8];
const QUEUE_TIMEOUT_BLOCKS = 4;
const METHOD = 'aivm_getInferenceResult';

type RpcError = { code: number; message: string };
type Result = {
  output: number[];
  scale: number;
  kind: string;
  activation: string;
  values: number[];
  argmax: number;
  probabilities?: number[];
  slot: number;
  paid: number;
  slots: number;
};
type Answer = {
  requestId: string;
  modelId: string;
  tier: string;
  status: string;
  reason: string;
  createdAt: string;
  updatedAt: string;
  result: Result | null;
  resultUnavailable?: string;
};

let home: string;
let node: AivmNode;
let client: AivmClient;
let sigmoid: { model: QuantModel; artifact: Uint8Array; id: string };
let scores: { model: QuantModel; artifact: Uint8Array; id: string };

let nextId = 1;
async function call(
  url: string,
  method: string,
  params: unknown,
): Promise<{ result?: unknown; error?: RpcError }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as { result?: unknown; error?: RpcError };
}

/** The method's answer, checked against its documented result schema. */
async function getResult(requestId: unknown, url = node.rpcUrl): Promise<Answer | null> {
  const res = await call(url, METHOD, { requestId });
  assert.equal(res.error, undefined, JSON.stringify(res.error));
  const check = RPC_METHOD_INDEX.get(METHOD)!.result.schema.safeParse(res.result);
  assert.ok(check.success, `result does not match its schema: ${check.error?.message}`);
  return res.result as Answer | null;
}

async function failsWith(params: unknown, code: number, pattern: RegExp): Promise<void> {
  const res = await call(node.rpcUrl, METHOD, params);
  assert.equal(res.result, undefined);
  assert.equal(res.error?.code, code, JSON.stringify(res.error));
  assert.match(res.error!.message, pattern);
}

/** What readOutput of @aivm/runtime/core makes of an int32 output with the model's own artifact. */
function expected(artifact: Uint8Array, output: number[]) {
  return readOutput(modelIO(decodeArtifact(artifact)), output);
}

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The node as a NodeApi, with some members replaced (undefined: absent). */
function viewOf(overrides: Partial<Record<keyof NodeApi, unknown>>): NodeApi {
  return new Proxy(node as NodeApi, {
    get(target, prop) {
      if (prop in overrides) return overrides[prop as keyof NodeApi];
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function scoresOnnx(): Uint8Array {
  return buildOnnxModel({
    name: 'gemm-scores',
    opset: 13,
    inputs: [{ name: 'x', shape: ['N', 8] }],
    outputs: [{ name: 'y', shape: ['N', 3] }],
    initializers: {
      w: {
        dtype: 'float32',
        shape: [3, 8],
        data: Float32Array.from({ length: 24 }, (_, i) => ((i * 7) % 11) / 5 - 1),
      },
      b: { dtype: 'float32', shape: [3], data: Float32Array.from([0.25, -0.5, 0.125]) },
    },
    nodes: [{ op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { transB: 1 } }],
  });
}

function quantized(onnx: Uint8Array): { model: QuantModel; artifact: Uint8Array } {
  const model = quantize(importOnnx(onnx), [
    { x: { dtype: 'float32', shape: [64, 8], data: Float32Array.from(tanhSigmoidCalibration(64).flat()) } },
  ]);
  return { model, artifact: encodeArtifact(model) };
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'aivm-rpc-inference-result-'));
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
      app: { inference: { params: { queueTimeoutBlocks: String(QUEUE_TIMEOUT_BLOCKS) } } },
    }),
    validatorKey: validator.secretKey,
    rpc: { host: '127.0.0.1', port: 0 },
    blockIntervalMs: 100,
    emptyBlocks: true,
    logger: createLogger('silent'),
  });
  client = new AivmClient(node.rpcUrl, { timeoutMs: 10_000 });
  const owner = Wallet.fromPrivateKey(OWNER, client);
  const a = quantized(tanhSigmoidOnnx());
  const b = quantized(scoresOnnx());
  sigmoid = {
    ...a,
    id: (
      await publishModel(owner, {
        artifact: a.artifact,
        name: 'tanh-sigmoid',
        inputSchema: '[1,8]',
        outputSchema: '[1,3]',
        priceWei: WEI_PER_CGPT / 100n,
        tiers: TIERS.onchain | TIERS.optimistic,
        timeoutMs: 30_000,
      })
    ).id,
  };
  // No blob on the node: the result must come from the chain's copy of the artifact.
  scores = {
    ...b,
    id: (
      await publishModel(owner, {
        artifact: b.artifact,
        name: 'gemm-scores',
        inputSchema: '[1,8]',
        outputSchema: '[1,3]',
        priceWei: WEI_PER_CGPT / 100n,
        tiers: TIERS.onchain,
        skipBlobUpload: true,
        timeoutMs: 30_000,
      })
    ).id,
  };
});

after(async () => {
  client.close();
  await node.close();
  await rm(home, { recursive: true, force: true });
});

describe('aivm_getInferenceResult (real node)', { timeout: 120_000 }, () => {
  it('refuses invalid params with INVALID_PARAMS naming the field', async () => {
    await failsWith({}, RPC_ERR.INVALID_PARAMS, /requestId/);
    await failsWith({ requestId: '-1' }, RPC_ERR.INVALID_PARAMS, /requestId/);
    await failsWith(
      { requestId: '01' },
      RPC_ERR.INVALID_PARAMS,
      /requestId: expected a decimal integer string/,
    );
    await failsWith({ requestId: 1.5 }, RPC_ERR.INVALID_PARAMS, /requestId/);
    await failsWith({ requestId: (1n << 64n).toString() }, RPC_ERR.INVALID_PARAMS, /out of range for uint64/);
    await failsWith({ requestId: '1', extra: true }, RPC_ERR.INVALID_PARAMS, /extra/);
    await failsWith({ id: '1' }, RPC_ERR.INVALID_PARAMS, /requestId|id/);
  });

  it('answers null for an id no request has (as aivm_getTx does for an unknown hash)', async () => {
    assert.equal(await getResult('999999'), null);
    assert.equal(await getResult(0), null);
    assert.equal(await getResult(((1n << 64n) - 1n).toString()), null);
    // The module query behind it refuses the same id: the RPC turns only that refusal into null.
    await assert.rejects(
      node.query('inference/request', { id: '999999' }),
      (err: unknown) =>
        err instanceof ChainError && err.code === ERR.MODULE && /does not exist/.test(err.message),
    );
  });

  it("an on-chain request: unknown, then finalized with the result in the model's units", async () => {
    const requester = Wallet.fromPrivateKey(REQUESTER, client);
    // Ids are sequential: the next one is unknown until the request is committed.
    const before = await client.query<{ id: string }[]>('inference/requests', {});
    const nextId = before.length === 0 ? 1n : BigInt(before.at(-1)!.id) + 1n;
    assert.equal(await getResult(nextId.toString()), null);

    const sent = await requestInference(requester, { modelId: sigmoid.id, tier: 'onchain', input: [SAMPLE] });
    assert.equal(sent.requestId, nextId);
    const answer = (await getResult(Number(sent.requestId)))!;
    const height = sent.record.height.toString();
    assert.deepEqual(
      { ...answer, result: undefined },
      {
        requestId: sent.requestId.toString(),
        modelId: sigmoid.id,
        tier: 'onchain',
        status: 'finalized',
        reason: answer.reason,
        createdAt: height,
        updatedAt: height,
        result: undefined,
      },
    );
    assert.equal('resultUnavailable' in answer, false);

    // The integers are those of a local run on the request's input; the rest is readOutput's.
    const local = runInt(sigmoid.model, {
      x: inputTensor(sigmoid.model, quantizeInput(sigmoid.model, SAMPLE)),
    }).outputs.y!;
    const r = answer.result!;
    assert.deepEqual(r.output, Array.from(local.data));
    assert.equal(r.output.length, 3);
    assert.equal(r.scale, local.scale);
    assert.deepEqual(
      r.values,
      r.output.map((q) => Math.fround(q * r.scale)),
    );
    const want = expected(sigmoid.artifact, r.output);
    assert.deepEqual(r, { ...want, slot: 0, paid: 1, slots: 1 });
    assert.equal(r.activation, 'sigmoid');
    assert.equal(r.kind, 'quant');
    assert.deepEqual(r.probabilities, r.values);
    for (const p of r.probabilities!) assert.ok(p > 0 && p < 1, `probability ${p}`);
    assert.equal(r.argmax, r.output.indexOf(Math.max(...r.output)));

    // The same output as the chain's own query, and the same reading as the SDK's.
    const raw = await client.query<{ outputValues: number[]; class: number }>('inference/request', {
      id: sent.requestId.toString(),
    });
    assert.deepEqual(raw.outputValues, r.output);
    assert.equal(raw.class, r.argmax);
    const sdk = await readRequestResult(client, await getRequest(client, sent.requestId));
    assert.deepEqual(r, sdk);
    // A decimal string and a number name the same request.
    assert.deepEqual(await getResult(sent.requestId.toString()), answer);
  });

  it("reads a model without a blob on the node from the chain's copy of its artifact (no probabilities for scores)", async () => {
    const blob = await call(node.rpcUrl, 'aivm_blobStat', { id: scores.id });
    assert.equal(blob.result, null);
    const requester = Wallet.fromPrivateKey(REQUESTER, client);
    const input = [SAMPLE.map((x) => -x)];
    const sent = await requestInference(requester, { modelId: scores.id, tier: 'onchain', input });
    const answer = (await getResult(sent.requestId.toString()))!;
    assert.equal(answer.status, 'finalized');
    assert.equal(answer.modelId, scores.id);
    const local = runInt(scores.model, {
      x: inputTensor(scores.model, quantizeInput(scores.model, input.flat())),
    }).outputs.y!;
    const r = answer.result!;
    assert.deepEqual(r.output, Array.from(local.data));
    assert.deepEqual(
      r.values,
      r.output.map((q) => Math.fround(q * local.scale)),
    );
    assert.deepEqual(r, { ...expected(scores.artifact, r.output), slot: 0, paid: 1, slots: 1 });
    assert.equal(r.activation, 'none');
    assert.equal('probabilities' in r, false);
  });

  it('an optimistic request without a provider: pending with no result, then failed with no result', async () => {
    const requester = Wallet.fromPrivateKey(REQUESTER, client);
    const sent = await requestInference(requester, {
      modelId: sigmoid.id,
      tier: 'optimistic',
      input: [SAMPLE],
    });
    const pending = (await getResult(sent.requestId.toString()))!;
    assert.equal(pending.status, 'pending');
    assert.equal(pending.tier, 'optimistic');
    assert.equal(pending.result, null);
    assert.equal('resultUnavailable' in pending, false);
    assert.equal(pending.createdAt, sent.record.height.toString());

    const failed = await waitUntil('the queued request to fail', async () => {
      const a = (await getResult(sent.requestId.toString()))!;
      return a.status === 'pending' ? undefined : a;
    });
    assert.equal(failed.status, 'failed');
    assert.ok(failed.reason.length > 0);
    assert.equal(failed.result, null);
    assert.equal('resultUnavailable' in failed, false);
    assert.ok(BigInt(failed.updatedAt) >= sent.record.height + BigInt(QUEUE_TIMEOUT_BLOCKS));
  });

  it('caches model IO per id, and without any copy of the artifact answers the status with resultUnavailable', async () => {
    // A view of the same node that holds no blobs and whose state proofs fail (the node keeps
    // neither copy of the artifact, as for a zk-only model whose blob it does not hold).
    const view = viewOf({
      blobUploadChunk: undefined,
      blobStat: undefined,
      blobChunk: undefined,
      getProof: async () => {
        throw new ChainError(ERR.NOT_FOUND, 'state pruned');
      },
    });
    const server: RpcServer = await startRpcServer(view, { port: 0 });
    try {
      const requester = Wallet.fromPrivateKey(REQUESTER, client);
      const sent = await requestInference(requester, {
        modelId: scores.id,
        tier: 'onchain',
        input: [SAMPLE],
      });
      const id = sent.requestId.toString();

      // Read once through the real node: the description is cached by id and serves the view too.
      assert.ok(modelIOCache.has(scores.id));
      const cached = (await getResult(id, server.url))!;
      assert.deepEqual(cached, await getResult(id));

      modelIOCache.clear();
      const answer = (await getResult(id, server.url))!;
      assert.equal(answer.status, 'finalized');
      assert.equal(answer.result, null);
      assert.equal(
        answer.resultUnavailable,
        `the artifact of model ${scores.id} is not available on this node: this node serves no artifact blobs; state pruned`,
      );
      // Nothing is cached for a model whose artifact was not found: the real node still reads it.
      assert.equal(modelIOCache.has(scores.id), false);
      assert.notEqual((await getResult(id))!.result, null);
      assert.ok(modelIOCache.has(scores.id));
    } finally {
      await server.close();
    }
  });
});

describe('model IO cache', () => {
  it('keeps at most its size, dropping the least recently used', async () => {
    const cache = new ModelIOCache(2);
    const io = modelIO(sigmoid.model);
    cache.set('a', io);
    cache.set('b', io);
    assert.equal(cache.get('a'), io); // a is now the most recent
    cache.set('c', io);
    assert.deepEqual([cache.has('a'), cache.has('b'), cache.has('c'), cache.size], [true, false, true, 2]);
    assert.throws(() => new ModelIOCache(0), RangeError);
  });

  it('reads an artifact once per id and checks it against the id', async () => {
    const cache = new ModelIOCache(4);
    let chunkReads = 0;
    const counting = viewOf({
      blobChunk: (id: string, index: number) => {
        chunkReads++;
        return node.blobChunk(id, index);
      },
    });
    const [x, y] = await Promise.all([
      modelIOFor(counting, sigmoid.id, cache),
      modelIOFor(counting, sigmoid.id, cache),
    ]);
    assert.deepEqual(x, { io: modelIO(sigmoid.model) });
    assert.deepEqual(y, x);
    await modelIOFor(counting, sigmoid.id, cache);
    const chunks = (await node.blobStat(sigmoid.id))!.chunks;
    assert.equal(chunkReads, chunks);

    // A blob whose bytes do not hash to the id is not used: the chain's copy is read instead, and
    // without that copy the reason names both.
    const tampered = viewOf({
      blobChunk: async (id: string, index: number) => {
        const c = (await node.blobChunk(id, index)).slice();
        c[0]! ^= 1;
        return c;
      },
    });
    assert.deepEqual(await modelIOFor(tampered, sigmoid.id, new ModelIOCache()), {
      io: modelIO(sigmoid.model),
    });
    const neither = viewOf({
      blobChunk: tampered.blobChunk,
      getProof: async () => {
        throw new ChainError(ERR.NOT_FOUND, 'state pruned');
      },
    });
    assert.deepEqual(await modelIOFor(neither, sigmoid.id, new ModelIOCache()), {
      unavailable: `the artifact of model ${sigmoid.id} is not available on this node: the artifact bytes found do not hash to the model id; state pruned`,
    });
  });
});
