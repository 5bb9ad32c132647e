// bench/provider-keys.ts — memory of a provider process after it has set up K zk models (issue 13,
// attack 3), with every model's circuit and proving key kept in memory (maxLoadedKeys = K: what
// the provider did before, which kept them all) and with the bounded LRU (maxLoadedKeys = 1).
// Each mode runs in its own process (RSS is not given back within one): a real node in process, a
// provider, K MLP models (784-H-10, about 36,000 constraints at H = 512) published one after
// another, then one zk inference of each. Reports RSS, V8 heap and array buffers after a full GC.
//   BENCH_MODELS=4 BENCH_HIDDEN=512 npx node bench/provider-keys.ts   (BENCH_MODES=1: the LRU only)

import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WEI_PER_CGPT } from '@aivm/chain';
import { bytesToHex, ed25519GenerateKey, privateKeyToAddress, sha256 } from '@aivm/crypto';
import {
  AivmNode,
  buildGenesis,
  createLogger,
  DEFAULT_SELF_STAKE_WEI,
  inputShape,
  outputShape,
  Provider,
  quantizeInput,
} from '@aivm/node';
import { encodeArtifact, type QuantModel, quantize } from '@aivm/runtime';
import { AivmClient, publishModel, requestInference, TIERS, Wallet, waitForRequest } from '@aivm/sdk';
import * as Z from '@aivm/zk';
import { loadOrCreateKeys, releaseCurve } from '@aivm/zk/node';
import { buildGraph, randTensor, rng } from '../packages/runtime/test/quant-helpers.ts';

const K = Number(process.env.BENCH_MODELS ?? 4);
const H = Number(process.env.BENCH_HIDDEN ?? 512);
/** Publisher keys are kept between runs: only the provider's setups are part of a run. */
const PUBLISHER_KEYS = join(tmpdir(), 'aivm-bench-provider-keys-publisher');
const key = (name: string) => sha256(new TextEncoder().encode(`bench provider-keys ${name}`));

type Sample = { rssMb: number; heapMb: number; arrayBuffersMb: number };
type Result = {
  mode: string;
  maxLoadedKeys: number;
  constraints: number;
  setups: number;
  loaded: number;
  start: Sample;
  /** RSS after each model was ready (MB). */
  rssByModel: number[];
  prepared: Sample;
  served: Sample;
};

function sample(): Sample {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const mb = (b: number) => Math.round(b / 2 ** 20);
  return { rssMb: mb(m.rss), heapMb: mb(m.heapUsed), arrayBuffersMb: mb(m.arrayBuffers) };
}

function mlp(seed: number): QuantModel {
  const r = rng(seed);
  const graph = buildGraph({
    inputs: { x: ['N', 784] },
    initializers: {
      w1: randTensor([784, H], r, -0.1, 0.1),
      b1: randTensor([H], r, -0.1, 0.1),
      w2: randTensor([H, 10], r, -0.1, 0.1),
      b2: randTensor([10], r, -0.1, 0.1),
    },
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'] },
      { op: 'Relu', inputs: ['h'], outputs: ['hr'] },
      { op: 'Gemm', inputs: ['hr', 'w2', 'b2'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  return quantize(graph, [{ x: randTensor([8, 784], r, 0, 1) }]);
}

async function runMode(maxLoadedKeys: number): Promise<Result> {
  const home = await mkdtemp(join(tmpdir(), 'aivm-bench-provider-keys-'));
  const publisher = key('publisher');
  const providerKey = key('provider');
  const validator = ed25519GenerateKey();
  const node = await AivmNode.start({
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
      balances: [publisher, providerKey].map((k) => ({
        address: privateKeyToAddress(k),
        amountWei: 1_000_000n * WEI_PER_CGPT,
      })),
    }),
    validatorKey: validator.secretKey,
    rpc: { host: '127.0.0.1', port: 0 },
    blockIntervalMs: 200,
    emptyBlocks: true,
    logger: createLogger((process.env.BENCH_LOG ?? 'warn') as 'warn'),
  });
  const client = new AivmClient(node.rpcUrl, { timeoutMs: 30_000 });
  const provider = new Provider(node, {
    privateKey: providerKey,
    capacity: 1,
    tiers: TIERS.zk,
    maxLoadedKeys,
    zkCacheDir: join(home, 'provider-keys'),
    watch: false,
  });
  try {
    await provider.start();
    const start = sample();
    const wallet = Wallet.fromPrivateKey(publisher, client);
    const models: { id: string; model: QuantModel }[] = [];
    const rssByModel: number[] = [];
    let constraints = 0;
    for (let i = 0; i < K; i++) {
      const model = mlp(1000 + i);
      const r1cs = Z.compile(model).r1cs;
      constraints = r1cs.constraints.length;
      const keys = await loadOrCreateKeys(PUBLISHER_KEYS, Z.writeR1cs(r1cs), { kind: 'dev' });
      const vk = Z.encodeVerificationKey(keys.vk as never);
      const { id } = await publishModel(wallet, {
        artifact: encodeArtifact(model),
        name: `bench mlp ${i}`,
        inputSchema: `[${inputShape(model).join(',')}]`,
        outputSchema: `[${outputShape(model).join(',')}]`,
        priceWei: WEI_PER_CGPT,
        tiers: TIERS.zk,
        vk: { bytes: vk, hash: bytesToHex(Z.verificationKeyHash(vk)) },
        zkConstraints: BigInt(constraints),
        timeoutMs: 120_000,
      });
      models.push({ id, model });
      while (provider.servedModels.length < models.length) await new Promise((r) => setTimeout(r, 100));
      rssByModel.push(sample().rssMb);
    }
    // Requests go out once the chain lists every model for the provider (it lists a model only
    // once its keys are ready).
    for (;;) {
      const rec = await client.query<{ models?: string[] }>('inference/provider', {
        address: provider.address,
      });
      if (rec?.models?.length === K) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const prepared = sample();
    for (const m of models) {
      const input = quantizeInput(m.model, new Float32Array(784).fill(0.5));
      const { requestId } = await requestInference(wallet, { modelId: m.id, tier: 'zk', input });
      const done = await waitForRequest(client, requestId, { timeoutMs: 300_000, pollMs: 200 });
      if (done.status !== 'finalized') throw new Error(`request ${requestId}: ${done.status} ${done.reason}`);
    }
    const served = sample();
    return {
      mode: maxLoadedKeys >= K ? 'every key kept (before)' : 'bounded LRU (after)',
      maxLoadedKeys,
      constraints,
      setups: provider.setups,
      loaded: provider.loadedKeys,
      start,
      rssByModel,
      prepared,
      served,
    };
  } finally {
    await provider.stop();
    client.close();
    await node.close();
    await releaseCurve();
    await rm(home, { recursive: true, force: true });
  }
}

const child = process.argv.indexOf('--max-loaded-keys');
if (child >= 0) {
  const res = await runMode(Number(process.argv[child + 1]));
  process.stdout.write(`${JSON.stringify(res)}\n`);
} else {
  await mkdir(PUBLISHER_KEYS, { recursive: true });
  const rows: Result[] = [];
  const modes = process.env.BENCH_MODES ? process.env.BENCH_MODES.split(',').map(Number) : [K, 1];
  for (const max of modes) {
    const out = spawnSync(
      process.execPath,
      ['--expose-gc', import.meta.filename, '--max-loaded-keys', String(max)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
    );
    if (out.status !== 0) throw new Error(`the run with maxLoadedKeys ${max} failed (${out.status})`);
    rows.push(JSON.parse(out.stdout.trim().split('\n').at(-1)!) as Result);
  }
  console.log(`provider memory after setting up ${K} zk models of ${rows[0]!.constraints} constraints, MB`);
  console.table(
    rows.map((r) => ({
      mode: r.mode,
      maxLoadedKeys: r.maxLoadedKeys,
      setups: r.setups,
      'loaded at end': r.loaded,
      'rss start': r.start.rssMb,
      'rss after each model': r.rssByModel.join(' '),
      'rss served': r.served.rssMb,
      'heap prepared': r.prepared.heapMb,
      'heap served': r.served.heapMb,
      'buffers served': r.served.arrayBuffersMb,
    })),
  );
}
