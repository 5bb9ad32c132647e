// The provider's execution helpers: request input bytes, outputs and layer commitments exactly as
// the inference module defines them, and the faulty provider's perturbed run (one wrong step, every
// later layer consistent with it), on the devnet's MNIST model. The provider end to end (jobs,
// proofs, disputes, slashing) is tested with real processes in packages/cli/test/inference.test.ts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  decodeTx,
  defaultModules,
  merkleRoot,
  Registry,
  type SignedTx,
  verifyMerkleProof,
} from '@aivm/chain';
import { addressToBytes, privateKeyToAddress } from '@aivm/crypto';
import { decodeArtifact, decodeOutput, layerLeaves, runIntNode } from '@aivm/runtime';
import type { NodeEvents } from '../src/api.ts';
import { createLogger } from '../src/logger.ts';
import {
  endProofs,
  execute,
  inputTensor,
  layerRun,
  leafSalt,
  Provider,
  type ProviderHost,
  parseRequest,
  quantizeInput,
} from '../src/provider/index.ts';

const P1 = '0x1111111111111111111111111111111111111111';
const P2 = '0x2222222222222222222222222222222222222222';

const ASSETS = join(import.meta.dirname, '..', '..', 'cli', 'assets');
const model = decodeArtifact(new Uint8Array(readFileSync(join(ASSETS, 'mnist-mlp.aivm'))));
const digit = (JSON.parse(readFileSync(join(ASSETS, 'mnist-digit-7.json'), 'utf8')) as number[][])[0]!;

describe('provider execution', () => {
  it('quantizes an input to int8 bytes and runs it to the int32 output and class', () => {
    const input = quantizeInput(model, digit);
    assert.equal(input.length, 784);
    assert.ok(!new Int8Array(input.buffer).includes(-128));
    const run = execute(model, input);
    assert.equal(run.cls, 7);
    assert.equal(run.output.length, 40);
    assert.deepEqual(Array.from(decodeOutput(run.output)), Array.from(run.values));
    assert.throws(() => inputTensor(model, input.subarray(1)), /784/);
  });

  it('commits to the layers like layerLeaves over a traced run, salted with the provider, with proofs of both ends', () => {
    const input = quantizeInput(model, digit);
    const run = layerRun(model, input, P1);
    const traced = execute(model, input);
    assert.deepEqual(run.leaves, layerLeaves(model, traced.trace, addressToBytes(P1)));
    assert.deepEqual(run.leaves, layerLeaves(model, traced.trace, leafSalt(P1)));
    // Another provider's leaves (and root) differ for the same tensors: a result cannot be copied.
    const other = layerRun(model, input, P2);
    assert.deepEqual(other.output, run.output);
    assert.notDeepEqual(other.root, run.root);
    for (const [i, leaf] of other.leaves.entries()) assert.notDeepEqual(leaf, run.leaves[i]);
    assert.notDeepEqual(run.leaves[0], layerLeaves(model, traced.trace)[0]);
    assert.deepEqual(run.root, merkleRoot(run.leaves));
    assert.deepEqual(run.output, traced.output);
    const n = run.leaves.length - 1;
    assert.equal(n, model.nodes.length);
    const { inputProof, outputProof } = endProofs(run);
    assert.ok(verifyMerkleProof(run.root, 0, n + 1, run.leaves[0]!, inputProof));
    assert.ok(verifyMerkleProof(run.root, n, n + 1, run.leaves[n]!, outputProof));
  });

  it('a perturbed run differs at one step only: the one-step check finds it', () => {
    const input = quantizeInput(model, digit);
    const good = layerRun(model, input, P1);
    const last = model.nodes.length - 1;
    const bad = layerRun(model, input, P1, last);
    assert.notEqual(bad.cls, good.cls);
    assert.deepEqual(bad.leaves.slice(0, -1), good.leaves.slice(0, -1));
    assert.notDeepEqual(bad.leaves.at(-1), good.leaves.at(-1));
    // Re-running the disputed node on the agreed tensor gives the honest leaf, not the faulty one.
    const prevName = last === 0 ? model.inputs[0]! : model.nodes[last - 1]!.outputs[0]!;
    const rerun = runIntNode(model, last, { [prevName]: bad.tensors[last]! });
    assert.deepEqual(Array.from(rerun.data), Array.from(good.tensors[last + 1]!.data));
  });

  it('parses request records in the JSON form of the inference/request query', () => {
    const r = parseRequest({
      id: '5',
      modelId: 'bafk',
      tier: 4,
      status: 'assigned',
      slots: [
        {
          status: 'computed',
          provider: '0xab',
          output: '0x01000000',
          layerRoot: `0x${'00'.repeat(32)}`,
          deadline: '9',
          computedAt: '7',
        },
      ],
    });
    assert.equal(r.id, 5n);
    assert.equal(r.tier, 4);
    assert.deepEqual(Array.from(r.slots[0]!.output), [1, 0, 0, 0]);
    assert.equal(r.slots[0]!.deadline, 9n);
    assert.equal(r.slots[0]!.computedAt, 7n);
  });
});

/** A node stand-in: answers the provider's queries from `answers`, records what it sends. */
function fakeHost(answers: Record<string, unknown>) {
  const registry = new Registry(defaultModules());
  const sent: SignedTx[] = [];
  const listeners = new Map<string, Set<(...args: never[]) => void>>();
  const host: ProviderHost = {
    chainId: 1n,
    registry,
    logger: createLogger('silent'),
    store: { state: { get: async () => undefined } },
    status: () => ({ height: 10n, timeMs: BigInt(Date.now()) }),
    query: async (path) => {
      if (!(path in answers)) throw new Error(`no answer for ${path}`);
      return answers[path];
    },
    getAccount: async (address) => ({
      address,
      nonce: 0n,
      pendingNonce: BigInt(sent.length),
      balanceWei: 0n,
    }),
    sendRawTx: async (raw) => {
      const tx = decodeTx(raw, (t) => registry.message(t)?.schema);
      sent.push(tx);
      return tx.hash;
    },
    estimateGas: async () => 100_000n,
    fetchBlob: async (id) => {
      throw new Error(`blob ${id} not found`);
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as never);
    },
    off(event, listener) {
      listeners.get(event)?.delete(listener as never);
    },
  };
  const emit = (module: string, type: string, attributes: Record<string, string>) => {
    for (const l of listeners.get('moduleEvent') ?? [])
      (l as NodeEvents['moduleEvent'])({ module, type, attributes, height: 10n, txHash: null });
  };
  return { host, sent, emit };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('provider jobs it cannot serve', () => {
  const key = new Uint8Array(32).fill(7);
  const address = privateKeyToAddress(key);
  const answers = (tier: number) => ({
    'models/list': { models: [] },
    'inference/provider': { address, stakeWei: '1000', registered: true },
    'inference/requests': [],
    'inference/params': { challengeWindowBlocks: '10', challengeBondWei: '1' },
    'models/model': { id: 'bafkmissing', tiers: tier, artifactSize: '0', artifactUploaded: '0' },
    'inference/request': {
      id: '5',
      modelId: 'bafkmissing',
      tier,
      status: 'assigned',
      input: '0x00',
      slots: [{ status: 'assigned', provider: address, deadline: '40', computedAt: '0' }],
    },
  });

  for (const [what, tier, tiers] of [
    ['a model whose artifact is unavailable', 4, 4 | 2],
    ['a tier it does not serve', 4, 2],
  ] as const)
    it(`declines a job for ${what} instead of letting the deadline pass`, async () => {
      const { host, sent, emit } = fakeHost(answers(tier));
      const p = new Provider(host, { privateKey: key, tiers, zkCacheDir: '/nonexistent', watch: false });
      await p.start();
      try {
        emit('inference', 'assigned', { id: '5', slot: '0', provider: address, deadline: '40' });
        await until('the decline', () => sent.length > 0);
        assert.equal(sent.length, 1);
        assert.equal(sent[0]!.msgType, 'inference/decline');
        assert.deepEqual(sent[0]!.msg, { requestId: 5n });
        assert.equal(p.served, 0);
      } finally {
        await p.stop();
      }
    });
});
