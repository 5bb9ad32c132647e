// The models module on the real MNIST MLP artifact: publish and chunked upload with every upload
// check, versions, ownership, reviews with exact reward arithmetic, curation score, the modelFault
// governance proposal, genesis models and the list query.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { t } from '@aivm/codec';
import { type Address, bytesToHex, keccak256 } from '@aivm/crypto';
import { encodeArtifact, estimateGas, importOnnx, modelId, type QuantModel, quantize } from '@aivm/runtime';
import { encodeVerificationKey, type VerificationKey } from '@aivm/zk';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import { DEC } from '../src/dec.ts';
import {
  checkInvariants,
  defineMsg,
  FEE_COLLECTOR,
  getBalance,
  getSupply,
  type Module,
  queryParamsFromJson,
  signTx,
  WEI_PER_CGPT,
} from '../src/index.ts';
import { spendCommunityPool } from '../src/modules/distribution/f1.ts';
import { createDistributionHooks } from '../src/modules/distribution/hooks.ts';
import { createDistributionModule } from '../src/modules/distribution/module.ts';
import { createGovModule } from '../src/modules/gov/module.ts';
import {
  clearModelCache,
  countQuery,
  creditReviewers,
  getVerificationKey,
  loadQuantModel,
  modelsKeeper,
  partReadGas,
} from '../src/modules/models/keeper.ts';
import { createModelsModule } from '../src/modules/models/module.ts';
import { CHUNK_BYTES, chunkKey, MODELS_ACCOUNT } from '../src/modules/models/store.ts';
import {
  createFakeStakingModule,
  createHarness,
  fakeStakingView,
  type Harness,
  runBlock,
  runOk,
  type TestAccount,
  tx,
} from './helpers/fake-staking.ts';

const CGPT = WEI_PER_CGPT;
const ZERO = '0x0000000000000000000000000000000000000000' as Address;
const ZERO32 = new Uint8Array(32);
const PERIOD_MS = 60_000n;
const UNBONDING = 5n;
/** Default storageDepositPerByteWei and zkSetupFeePerConstraintWei. */
const PER_BYTE = 10n ** 12n;
const PER_CONSTRAINT = 10n ** 12n;

// ---- fixtures ----

const mnist = (() => {
  const graph = importOnnx(
    new Uint8Array(readFileSync(new URL('../../runtime/models/mnist-mlp.onnx', import.meta.url))),
  );
  const { train } = loadMnistSplit();
  /** Calibrated on 50 digits from `start`: different starts give different scales, so different artifacts. */
  const model = (start: number) =>
    quantize(graph, [{ input: { dtype: 'float32', shape: [50, 784], data: imageBatch(train, start, 50) } }]);
  return { model };
})();

/** A syntactically valid Groth16 key (generator points) with n public signals. */
function fakeVk(nPublic: number): Uint8Array {
  const g1 = ['1', '2', '1'];
  const g2 = [
    [
      '10857046999023057135944570762232829481370756359578518086990519993285655852781',
      '11559732032986387107991004021392285783925812861821192530917403151452391805634',
    ],
    [
      '8495653923123431417604973247489272438418190587263600148770280649306958101930',
      '4082367875863433681332203403145435568316851327593401208105741076214120093531',
    ],
    ['1', '0'],
  ];
  const vk: VerificationKey = {
    protocol: 'groth16',
    curve: 'bn128',
    nPublic,
    vk_alpha_1: g1,
    vk_beta_2: g2,
    vk_gamma_2: g2,
    vk_delta_2: g2,
    IC: Array.from({ length: nPublic + 1 }, () => g1),
  };
  return encodeVerificationKey(vk);
}

/** A model id of arbitrary bytes (for models whose artifact is not on chain). */
const someId = (tag: string) => modelId(new TextEncoder().encode(tag));

type Json = Record<string, unknown>;

describe('models', () => {
  let h: Harness;
  let a: TestAccount[];
  let owner: TestAccount;
  let artifact: Uint8Array;
  let artifactB: Uint8Array;
  let artifactC: Uint8Array;
  let M1: string; // MNIST, on-chain + optimistic, owner a0
  let V2: string; // a later version of M1
  let ZKP: string; // zk only, private weights, committed inputs

  const publishFields = (fields: Json): Json => ({
    id: '',
    name: 'MNIST MLP',
    task: 'image-classification',
    inputSchema: '[1,784]',
    outputSchema: '[1,10]',
    license: 'MIT',
    version: '1.0.0',
    description: 'Handwritten digits, 784 -> 128 -> 10',
    priceWei: CGPT / 100n,
    tiers: 5,
    artifactSize: artifact.length,
    vkHash: ZERO32,
    vkSize: 0,
    zkInputs: 0,
    zkWeights: 0,
    weightCommitment: 0n,
    zkConstraints: 0n,
    previous: '',
    ...fields,
  });

  const send = (from: TestAccount, msgType: string, msg: Json, gasLimit = 9_000_000n): Uint8Array => {
    const nonce = h.nonces.get(from.address) ?? 0n;
    h.nonces.set(from.address, nonce + 1n);
    const def = h.chain.registry.message(msgType)!;
    return signTx(
      { chainId: 99n, from: from.address, nonce, gasLimit, gasPrice: 0n, msgType, msg },
      from.privateKey,
      def.schema,
    );
  };

  /** Runs one transaction in its own block; returns its receipt. */
  async function run1(from: TestAccount, msgType: string, msg: Json, gasLimit?: bigint) {
    const result = await runBlock(h, [send(from, msgType, msg, gasLimit)]);
    return result.receipts[0]!;
  }
  async function ok(from: TestAccount, msgType: string, msg: Json, gasLimit?: bigint) {
    const r = await run1(from, msgType, msg, gasLimit);
    assert.equal(r.error, '', `${msgType} failed`);
    assert.equal(r.code, 0);
    return r;
  }
  async function refused(from: TestAccount, msgType: string, msg: Json, error: RegExp) {
    const r = await run1(from, msgType, msg);
    assert.notEqual(r.code, 0, `${msgType} should fail with ${error}`);
    assert.match(r.error, error);
    return r;
  }
  const query = (path: string, params: Json) =>
    h.chain.registry.query(path)!.handler(h.state, params as never);
  const model = async (id: string) => (await query('models/model', { id })) as Json;
  const review = async (id: string, reviewer: Address) =>
    (await query('models/review', { id, reviewer })) as {
      stakeWei: string;
      rating: number;
      pendingRewardWei: string;
      unbonding: { amountWei: string; releaseHeight: string }[];
    };
  const balance = (acc: TestAccount | Address) =>
    getBalance(h.state, typeof acc === 'string' ? acc : acc.address);
  const event = (
    r: { events: { module: string; type: string; attributes: { key: string; value: string }[] }[] },
    type: string,
  ) => {
    const e = r.events.find((x) => x.module === 'models' && x.type === type);
    return e ? Object.fromEntries(e.attributes.map((kv) => [kv.key, kv.value])) : undefined;
  };

  async function uploadAll(from: TestAccount, id: string, part: number, bytes: Uint8Array, piece: number) {
    let last: Awaited<ReturnType<typeof ok>> | undefined;
    for (let off = 0; off < bytes.length; off += piece)
      last = await ok(from, 'models/upload', {
        id,
        part,
        offset: off,
        data: bytes.subarray(off, off + piece),
      });
    return last!;
  }

  // A test module standing in for inference: calls the keeper inside real transactions.
  const probe: Module = {
    name: 'mtest',
    messages: {
      'mtest/credit': defineMsg({
        schema: t.struct('MtestCredit', { id: t.string(128), amountWei: t.uint256 }),
        description: 'test: creditReviewers paid by the sender',
        async handler(ctx, msg, sender) {
          const rest = await creditReviewers(ctx, msg.id, msg.amountWei, sender);
          ctx.emit('mtest', 'credited', { notCredited: rest.toString() });
        },
      }),
      'mtest/load': defineMsg({
        schema: t.struct('MtestLoad', { id: t.string(128), clear: t.bool }),
        description: 'test: loadQuantModel and report its gas',
        async handler(ctx, msg) {
          if (msg.clear) clearModelCache();
          const before = ctx.gas.used;
          const m = await loadQuantModel(ctx, msg.id);
          ctx.emit('mtest', 'loaded', {
            gas: (ctx.gas.used - before).toString(),
            nodes: `${m.nodes.length}`,
          });
        },
      }),
      'mtest/vk': defineMsg({
        schema: t.struct('MtestVk', { id: t.string(128), clear: t.bool }),
        description: 'test: getVerificationKey',
        async handler(ctx, msg) {
          if (msg.clear) clearModelCache();
          const before = ctx.gas.used;
          const vk = await getVerificationKey(ctx, msg.id);
          ctx.emit('mtest', 'vk', { gas: (ctx.gas.used - before).toString(), nPublic: `${vk.nPublic}` });
        },
      }),
      'mtest/count': defineMsg({
        schema: t.struct('MtestCount', { id: t.string(128) }),
        description: 'test: countQuery',
        handler: (ctx, msg) => countQuery(ctx, msg.id),
      }),
    },
    queries: {},
  };
  const probeEvent = (r: {
    events: { module: string; type: string; attributes: { key: string; value: string }[] }[];
  }) =>
    Object.fromEntries(
      r.events.find((e) => e.module === 'mtest')!.attributes.map((kv) => [kv.key, kv.value]),
    );

  before(async () => {
    artifact = encodeArtifact(mnist.model(0));
    artifactB = encodeArtifact(mnist.model(500));
    artifactC = encodeArtifact(mnist.model(1000));
    assert.notEqual(modelId(artifact), modelId(artifactB));
    assert.notEqual(modelId(artifactB), modelId(artifactC));
    M1 = modelId(artifact);
    V2 = modelId(artifactB);
    ZKP = someId('zk-private');
    const hooks = createDistributionHooks(fakeStakingView);
    h = await createHarness(
      (list) => {
        const all: Module[] = [
          ...list,
          createFakeStakingModule(hooks),
          createDistributionModule(fakeStakingView),
          createModelsModule(),
          probe,
        ];
        all.push(
          createGovModule({
            modules: () => all,
            staking: fakeStakingView,
            models: modelsKeeper,
            communityPool: { spend: spendCommunityPool },
          }),
        );
        return all;
      },
      {
        gasPrice: 0n,
        accounts: 6,
        app: {
          auth: { params: { minGasPriceWei: '0', maxTxGas: '10000000' } },
          distribution: { params: { emissionPerBlockWei: '0' } },
          gov: {
            params: {
              minDepositWei: (10n * CGPT).toString(),
              maxDepositPeriodMs: PERIOD_MS.toString(),
              votingPeriodMs: PERIOD_MS.toString(),
            },
          },
          models: { params: { reviewUnbondingBlocks: UNBONDING.toString() } },
        },
      },
    );
    a = h.accounts;
    owner = a[0]!;
    // a5 is the only validator (100 CGPT): its vote alone decides proposals.
    const create = send(a[5]!, 'fakestk/create', {
      consensusAddress: '0x00000000000000000000000000000000000000c1',
      commissionRate: 0n,
      amount: 100n * CGPT,
    });
    await runOk(h, [create]);
  });
  after(() => h?.close());

  it('publishes, uploads the MNIST artifact in chunks and activates it', async () => {
    const ownerBefore = await balance(owner);
    const accountBefore = await balance(MODELS_ACCOUNT);
    const pub = await ok(owner, 'models/publish', publishFields({ id: M1 }));
    const deposit = BigInt(artifact.length) * PER_BYTE;
    assert.deepEqual(event(pub, 'published'), {
      id: M1,
      owner: owner.address,
      tiers: '5',
      depositWei: deposit.toString(),
      setupFeeWei: '0',
    });
    // The storage deposit (0.1 CGPT for these 104 KB) moved from the owner to the models account.
    assert.equal(await balance(owner), ownerBefore - deposit);
    assert.equal(await balance(MODELS_ACCOUNT), accountBefore + deposit);
    let m = await model(M1);
    assert.equal(m.depositWei, deposit.toString());
    assert.equal(m.closedAt, '0');
    assert.equal(m.gasEstimate, '0');
    assert.equal(m.zkConstraints, '0');
    assert.equal(m.status, 'uploading');
    assert.equal(m.lineage, M1);
    assert.equal(m.owner, owner.address);
    assert.equal(m.artifactSize, artifact.length);
    assert.equal(m.publishedAt, h.height.toString());
    // Pieces of 40,000 bytes do not line up with the 48 KiB chunks: appends must fill chunks.
    const piece = 40_000;
    assert.ok(piece < CHUNK_BYTES && artifact.length > 2 * piece);
    for (let off = 0; off + piece < artifact.length; off += piece) {
      const r = await ok(owner, 'models/upload', {
        id: M1,
        part: 0,
        offset: off,
        data: artifact.subarray(off, off + piece),
      });
      assert.deepEqual(event(r, 'uploaded'), { id: M1, part: '0', bytes: `${off + piece}` });
      assert.equal(event(r, 'activated'), undefined);
      m = await model(M1);
      assert.equal(m.status, 'uploading');
      assert.equal(m.artifactUploaded, off + piece);
    }
    const done = Math.floor(artifact.length / piece) * piece;
    const last = await ok(owner, 'models/upload', {
      id: M1,
      part: 0,
      offset: done,
      data: artifact.subarray(done),
    });
    assert.deepEqual(event(last, 'activated'), { id: M1 });
    m = await model(M1);
    assert.equal(m.status, 'active');
    assert.equal(m.artifactUploaded, artifact.length);
    assert.equal(m.curationScore, '0');
    // The artifact check stored the runtime's batch-1 estimate (the optimistic tier's floor).
    const qm = mnist.model(0);
    assert.equal(m.gasEstimate, estimateGas(qm, { [qm.inputs[0]!]: [1, 784] }).gas.toString());
    // The stored chunks decode back to the model, and gas does not depend on the cache.
    const cold = probeEvent(await ok(a[4]!, 'mtest/load', { id: M1, clear: true }));
    const warm = probeEvent(await ok(a[4]!, 'mtest/load', { id: M1, clear: false }));
    assert.equal(cold.nodes, '3');
    assert.equal(cold.gas, warm.gas);
    // record read + chunk reads
    const recordBytes = (await h.state.get(new TextEncoder().encode(`models/m/${M1}`)))!.length;
    assert.equal(BigInt(cold.gas), 200n + BigInt(recordBytes) + partReadGas(artifact.length));
    assert.equal(partReadGas(artifact.length), 3n * 200n + BigInt(artifact.length));
  });

  it('refuses uploads out of order, past the size, after completion and from others', async () => {
    await refused(
      owner,
      'models/upload',
      { id: M1, part: 0, offset: 0, data: artifact.subarray(0, 10) },
      /not uploading/,
    );
    const id = modelId(artifactC);
    await ok(owner, 'models/publish', publishFields({ id, artifactSize: artifactC.length, name: 'C' }));
    await refused(
      owner,
      'models/upload',
      { id, part: 0, offset: 100, data: artifactC.subarray(100, 200) },
      /offset must be 0/,
    );
    await ok(owner, 'models/upload', { id, part: 0, offset: 0, data: artifactC.subarray(0, 1000) });
    await refused(
      owner,
      'models/upload',
      { id, part: 0, offset: 999, data: artifactC.subarray(999, 2000) },
      /offset must be 1000/,
    );
    await refused(
      owner,
      'models/upload',
      { id, part: 0, offset: 1000, data: new Uint8Array(0) },
      /must not be empty/,
    );
    await refused(owner, 'models/upload', { id, part: 1, offset: 0, data: new Uint8Array(5) }, /no zk tier/);
    await refused(
      owner,
      'models/upload',
      { id, part: 2, offset: 1000, data: new Uint8Array(5) },
      /part must be 0/,
    );
    await refused(
      a[1]!,
      'models/upload',
      { id, part: 0, offset: 1000, data: artifactC.subarray(1000, 2000) },
      /only the owner/,
    );
    const small = someId('small');
    await ok(owner, 'models/publish', publishFields({ id: small, artifactSize: 500, name: 'small' }));
    await refused(
      owner,
      'models/upload',
      { id: small, part: 0, offset: 0, data: new Uint8Array(600) },
      /goes past the part size 500/,
    );
    const m = await model(id);
    assert.equal(m.artifactUploaded, 1000);
    assert.equal(m.status, 'uploading');
  });

  it('rejects bytes that do not hash to the id, and bytes that do not decode', async () => {
    // Declared id of other bytes: the last upload fails and nothing of it stays.
    const wrongId = someId('not these bytes');
    await ok(owner, 'models/publish', publishFields({ id: wrongId, name: 'wrong' }));
    for (let off = 0; off < artifact.length; off += 40_000) {
      const end = Math.min(off + 40_000, artifact.length);
      const msg = { id: wrongId, part: 0, offset: off, data: artifact.subarray(off, end) };
      if (end < artifact.length) await ok(owner, 'models/upload', msg);
      else await refused(owner, 'models/upload', msg, new RegExp(`do not hash to model id ${wrongId}`));
    }
    const m = await model(wrongId);
    assert.equal(m.status, 'uploading');
    assert.ok((m.artifactUploaded as number) < artifact.length);

    // Right hash, broken content (magic changed): refused by the decoder.
    const broken = artifact.slice();
    const at = broken.indexOf('a'.charCodeAt(0));
    broken[at] = 'b'.charCodeAt(0);
    const brokenId = modelId(broken);
    await ok(owner, 'models/publish', publishFields({ id: brokenId, name: 'broken' }));
    await ok(owner, 'models/upload', {
      id: brokenId,
      part: 0,
      offset: 0,
      data: broken.subarray(0, 48 * 1024),
    });
    await ok(owner, 'models/upload', {
      id: brokenId,
      part: 0,
      offset: 48 * 1024,
      data: broken.subarray(48 * 1024, 96 * 1024),
    });
    await refused(
      owner,
      'models/upload',
      { id: brokenId, part: 0, offset: 96 * 1024, data: broken.subarray(96 * 1024) },
      /^artifact does not decode: invalid model artifact: not an AIVM model artifact/,
    );
  });

  it('checks the schemas against the artifact and chain shape for the optimistic tier', async () => {
    const q: QuantModel = mnist.model(1500);
    // fc2 reads fc1's output instead of relu's: a valid model, but not chain-shaped.
    const rewired: QuantModel = {
      ...q,
      nodes: q.nodes.map((n, i) => (i === 2 ? { ...n, inputs: ['fc1_out'] } : n)),
    };
    const bytes = encodeArtifact(rewired);
    const id = modelId(bytes);
    await ok(owner, 'models/publish', publishFields({ id, artifactSize: bytes.length, name: 'rewired' }));
    await ok(owner, 'models/upload', { id, part: 0, offset: 0, data: bytes.subarray(0, 48 * 1024) });
    await ok(owner, 'models/upload', {
      id,
      part: 0,
      offset: 48 * 1024,
      data: bytes.subarray(48 * 1024, 96 * 1024),
    });
    await refused(
      owner,
      'models/upload',
      { id, part: 0, offset: 96 * 1024, data: bytes.subarray(96 * 1024) },
      /^the optimistic tier needs a chain-shaped model: /,
    );
    // Wrong declared output shape.
    const d = encodeArtifact(mnist.model(2000));
    const did = modelId(d);
    await ok(
      owner,
      'models/publish',
      publishFields({ id: did, artifactSize: d.length, tiers: 1, outputSchema: '[1,11]' }),
    );
    await ok(owner, 'models/upload', { id: did, part: 0, offset: 0, data: d.subarray(0, 48 * 1024) });
    await ok(owner, 'models/upload', {
      id: did,
      part: 0,
      offset: 48 * 1024,
      data: d.subarray(48 * 1024, 96 * 1024),
    });
    await refused(
      owner,
      'models/upload',
      { id: did, part: 0, offset: 96 * 1024, data: d.subarray(96 * 1024) },
      /^outputSchema \[1,11\] does not match the artifact output \[1,10\]$/,
    );
  });

  it('enforces the publish rules', async () => {
    const id = someId('rules');
    const cases: [Json, RegExp][] = [
      [{ id: 'not-a-cid' }, /id must be a model id/],
      [{ id: M1 }, /already published/],
      [{ id, tiers: 0 }, /tiers must be a non-empty mask/],
      [{ id, tiers: 8 }, /tiers must be a non-empty mask/],
      [{ id, name: '  ' }, /name must not be empty/],
      [{ id, inputSchema: 'image' }, /inputSchema must be the input shape/],
      [{ id, outputSchema: '[0,10]' }, /outputSchema must be the output shape/],
      [{ id, artifactSize: 0 }, /artifactSize must be within 1\.\.1048576/],
      [{ id, artifactSize: 1024 * 1024 + 1 }, /artifactSize must be within 1\.\.1048576/],
      [{ id, tiers: 2 }, /the zk tier needs a vkHash/],
      [{ id, tiers: 2, vkHash: keccak256(new Uint8Array(1)), vkSize: 0 }, /vkSize must be within/],
      [{ id, tiers: 1, vkSize: 10 }, /for the zk tier only/],
      [{ id, tiers: 1, zkInputs: 1 }, /for the zk tier only/],
      [{ id, tiers: 1, zkConstraints: 1000n }, /zkConstraints are for the zk tier only/],
      [
        { id, tiers: 2, vkHash: keccak256(new Uint8Array(1)), vkSize: 100 },
        /the zk tier needs zkConstraints \(the circuit's constraint count\) within 1\.\.4194304/,
      ],
      [
        { id, tiers: 2, vkHash: keccak256(new Uint8Array(1)), vkSize: 100, zkConstraints: 2n ** 22n + 1n },
        /needs zkConstraints .* within 1\.\.4194304/,
      ],
      // The zk floor follows the declared circuit: 10^6 constraints x 10^11 wei = 0.1 CGPT > 0.01.
      [
        { id, tiers: 2, vkHash: keccak256(new Uint8Array(1)), vkSize: 100, zkConstraints: 1_000_000n },
        /^price 10000000000000000 wei of model \S+ is below the zk tier's floor of 100000000000000000 wei \(zkPricePerConstraintWei 100000000000 x 1000000 constraints\)$/,
      ],
      [
        { id, priceWei: 10n ** 15n - 1n },
        /is below the optimistic tier's floor of 1000000000000000 wei \(minPriceWei\)/,
      ],
      [
        { id, tiers: 2, vkHash: keccak256(new Uint8Array(1)), vkSize: 100, zkConstraints: 9n, zkInputs: 2 },
        /zkInputs must be 0/,
      ],
      [
        {
          id,
          tiers: 3,
          vkHash: keccak256(new Uint8Array(1)),
          vkSize: 100,
          zkConstraints: 1000n,
          zkWeights: 1,
          weightCommitment: 5n,
        },
        /private weights are incompatible with the on-chain and optimistic tiers/,
      ],
      [
        {
          id,
          tiers: 6,
          vkHash: keccak256(new Uint8Array(1)),
          vkSize: 100,
          zkConstraints: 1000n,
          zkWeights: 1,
          weightCommitment: 5n,
        },
        /private weights are incompatible/,
      ],
      [
        {
          id,
          tiers: 2,
          vkHash: keccak256(new Uint8Array(1)),
          vkSize: 100,
          zkConstraints: 1000n,
          zkWeights: 1,
          weightCommitment: 0n,
        },
        /private weights need a non-zero weightCommitment/,
      ],
      [{ id, tiers: 1, weightCommitment: 7n }, /weightCommitment is for private weights only/],
      [{ id, previous: someId('nothing') }, /previous model .* does not exist/],
    ];
    for (const [fields, error] of cases) await refused(owner, 'models/publish', publishFields(fields), error);
    assert.equal(
      (
        (await query('models/list', {
          owner: '',
          task: '',
          text: 'rules',
          includeInactive: true,
          after: '',
          limit: 0,
        })) as { models: unknown[] }
      ).models.length,
      0,
    );
  });

  it('zk tier with private weights: verification key checked against the layout', async () => {
    // zkInputs committed + private weights: 10 outputs + 1 input commitment + 1 weight commitment.
    const vk = fakeVk(12);
    const wrongVk = fakeVk(11);
    const ownerBefore = await balance(owner);
    const pub = await ok(
      owner,
      'models/publish',
      publishFields({
        id: ZKP,
        name: 'Private MNIST',
        tiers: 2,
        artifactSize: 0,
        vkHash: keccak256(vk),
        vkSize: vk.length,
        zkInputs: 1,
        zkWeights: 1,
        weightCommitment: 123456789n,
        zkConstraints: 491_328n,
        // Above the zk floor: 491,328 constraints x 10^11 wei = 0.049 CGPT.
        priceWei: 5n * 10n ** 16n,
      }),
    );
    // The setup fee (491,328 constraints x 10^12 wei = 0.49 CGPT) is paid to the fee collector
    // (which distribution empties at the next block's start); artifactSize 0 locks no deposit.
    const setupFee = 491_328n * PER_CONSTRAINT;
    assert.equal(event(pub, 'published')?.setupFeeWei, setupFee.toString());
    assert.equal(event(pub, 'published')?.depositWei, '0');
    assert.equal(await balance(owner), ownerBefore - setupFee);
    assert.equal(await balance(FEE_COLLECTOR), setupFee);
    assert.equal((await model(ZKP)).zkConstraints, '491328');
    assert.equal((await model(ZKP)).status, 'uploading');
    await refused(
      owner,
      'models/upload',
      { id: ZKP, part: 0, offset: 0, data: new Uint8Array(10) },
      /does not store its artifact on chain/,
    );
    // Bytes of the right size but another key: refused by the hash.
    assert.equal(wrongVk.length, vk.length - 64);
    const other = fakeVk(12);
    other[other.length - 1] ^= 1;
    await refused(
      owner,
      'models/upload',
      { id: ZKP, part: 1, offset: 0, data: other },
      /do not hash to vkHash/,
    );
    const r = await ok(owner, 'models/upload', { id: ZKP, part: 1, offset: 0, data: vk });
    assert.deepEqual(event(r, 'activated'), { id: ZKP });
    const m = await model(ZKP);
    assert.equal(m.status, 'active');
    assert.equal(m.vkUploaded, vk.length);
    assert.equal(m.weightCommitment, '123456789');
    const e1 = probeEvent(await ok(a[4]!, 'mtest/vk', { id: ZKP, clear: true }));
    const e2 = probeEvent(await ok(a[4]!, 'mtest/vk', { id: ZKP, clear: false }));
    assert.equal(e1.nPublic, '12');
    assert.equal(e1.gas, e2.gas);

    // Public inputs and weights: 10 + 784 public signals; a key for 11 is refused.
    const pubId = someId('zk-public');
    await ok(
      owner,
      'models/publish',
      publishFields({
        id: pubId,
        name: 'zk public',
        tiers: 2,
        artifactSize: 0,
        vkHash: keccak256(wrongVk),
        vkSize: wrongVk.length,
        zkConstraints: 14_498n,
      }),
    );
    await refused(
      owner,
      'models/upload',
      { id: pubId, part: 1, offset: 0, data: wrongVk },
      /^verification key has 11 public signals, the model needs 794$/,
    );
  });

  it('versions: previous, lineage, supersededBy; only the owner of previous', async () => {
    await refused(
      a[1]!,
      'models/publish',
      publishFields({ id: V2, artifactSize: artifactB.length, previous: M1 }),
      /only the owner of/,
    );
    await ok(
      owner,
      'models/publish',
      publishFields({ id: V2, artifactSize: artifactB.length, previous: M1, version: '2.0.0' }),
    );
    const v2 = await model(V2);
    assert.equal(v2.previous, M1);
    assert.equal(v2.lineage, M1);
    assert.equal((await model(M1)).supersededBy, V2);
    await uploadAll(owner, V2, 0, artifactB, 48 * 1024);
    assert.equal((await model(V2)).status, 'active');
    // M1 already has a successor.
    await refused(
      owner,
      'models/publish',
      publishFields({ id: someId('v2b'), previous: M1 }),
      /already superseded by/,
    );
    // A third version keeps the lineage of the first.
    const v3 = someId('v3');
    await ok(owner, 'models/publish', publishFields({ id: v3, previous: V2, name: 'third' }));
    assert.equal((await model(v3)).lineage, M1);
    assert.equal((await model(V2)).supersededBy, v3);
  });

  it('transfer and setPrice are owner only', async () => {
    await refused(a[1]!, 'models/transfer', { id: V2, newOwner: a[1]!.address }, /only the owner/);
    await refused(owner, 'models/transfer', { id: V2, newOwner: ZERO }, /newOwner must be set/);
    const r = await ok(owner, 'models/transfer', { id: V2, newOwner: a[1]!.address });
    assert.deepEqual(event(r, 'transferred'), { id: V2, from: owner.address, to: a[1]!.address });
    assert.equal((await model(V2)).owner, a[1]!.address);
    await refused(owner, 'models/setPrice', { id: V2, priceWei: 1n }, /only the owner/);
    // V2 offers the optimistic tier: its price may not go below that tier's floor.
    await refused(
      a[1]!,
      'models/setPrice',
      { id: V2, priceWei: 12_345n },
      /^price 12345 wei of model \S+ is below the optimistic tier's floor of 1000000000000000 wei \(minPriceWei\)$/,
    );
    await ok(a[1]!, 'models/setPrice', { id: V2, priceWei: 2n * 10n ** 15n });
    assert.equal((await model(V2)).priceWei, '2000000000000000');
    await ok(a[1]!, 'models/transfer', { id: V2, newOwner: owner.address });
    assert.equal((await model(V2)).owner, owner.address);
  });

  it('deprecate: owner only, once; a deprecated model takes no reviews', async () => {
    await refused(a[1]!, 'models/deprecate', { id: V2 }, /only the owner/);
    // The owner gets the storage deposit back (V2 was published by owner, and went back to it).
    const deposit = BigInt(artifactB.length) * PER_BYTE;
    assert.equal((await model(V2)).depositWei, deposit.toString());
    const before = await balance(owner);
    const r = await ok(owner, 'models/deprecate', { id: V2 });
    assert.deepEqual(event(r, 'deprecated'), { id: V2, refundedWei: deposit.toString() });
    assert.equal(await balance(owner), before + deposit);
    assert.equal((await model(V2)).status, 'deprecated');
    assert.equal((await model(V2)).depositWei, '0');
    assert.equal((await model(V2)).closedAt, h.height.toString());
    await refused(owner, 'models/deprecate', { id: V2 }, /cannot be deprecated \(deprecated\)/);
    await refused(
      a[1]!,
      'models/review',
      { id: V2, stakeWei: CGPT, rating: 3 },
      /is not active \(deprecated\)/,
    );
  });

  it('reviews: stake, ratings, curation score and reviewer fees to the wei', async () => {
    const [, r1, r2, r3, payer] = a as [TestAccount, TestAccount, TestAccount, TestAccount, TestAccount];
    await refused(owner, 'models/review', { id: M1, stakeWei: CGPT, rating: 5 }, /owner may not review/);
    await refused(r1, 'models/review', { id: M1, stakeWei: CGPT, rating: 6 }, /rating must be within 1\.\.5/);
    await refused(r1, 'models/review', { id: M1, stakeWei: CGPT, rating: 0 }, /rating must be within 1\.\.5/);
    await refused(
      r1,
      'models/review',
      { id: M1, stakeWei: CGPT - 1n, rating: 3 },
      /at least 1000000000000000000 wei/,
    );
    await refused(r1, 'models/review', { id: M1, stakeWei: 0n, rating: 3 }, /at least/);

    // Nobody staked: the whole amount comes back.
    const payerStart = await balance(payer);
    assert.equal(
      probeEvent(await ok(payer, 'mtest/credit', { id: M1, amountWei: CGPT })).notCredited,
      `${CGPT}`,
    );
    assert.equal(await balance(payer), payerStart);

    const r1Start = await balance(r1);
    const r2Start = await balance(r2);
    const poolStart = await balance(MODELS_ACCOUNT);
    await ok(r1, 'models/review', { id: M1, stakeWei: 10n * CGPT, rating: 5 });
    await ok(r2, 'models/review', { id: M1, stakeWei: 30n * CGPT, rating: 2 });
    assert.equal(await balance(r1), r1Start - 10n * CGPT);
    assert.equal(await balance(MODELS_ACCOUNT), poolStart + 40n * CGPT);
    let m = await model(M1);
    assert.equal(m.totalStakeWei, `${40n * CGPT}`);
    assert.equal(m.ratingStakeSum, `${110n * CGPT}`);
    assert.equal(m.curationScore, '275'); // (10*5 + 30*2) * 100 / 40

    // 1 CGPT + 3 wei among 40 CGPT: 0.025 CGPT per CGPT staked, 3 wei of dust stay in the pool.
    const amount = CGPT + 3n;
    assert.equal(probeEvent(await ok(payer, 'mtest/credit', { id: M1, amountWei: amount })).notCredited, '0');
    assert.equal(await balance(payer), payerStart - amount);
    m = await model(M1);
    assert.equal(m.accRewardPerStake, `${(amount * DEC) / (40n * CGPT)}`);
    assert.equal(m.accRewardPerStake, '25000000000000000');
    assert.equal((await review(M1, r1.address)).pendingRewardWei, '250000000000000000');
    assert.equal((await review(M1, r2.address)).pendingRewardWei, '750000000000000000');

    const claim = await ok(r1, 'models/claimRewards', { id: M1 });
    assert.deepEqual(event(claim, 'rewardsPaid'), {
      id: M1,
      reviewer: r1.address,
      amount: '250000000000000000',
    });
    assert.equal(await balance(r1), r1Start - 10n * CGPT + 250_000_000_000_000_000n);
    await ok(r1, 'models/claimRewards', { id: M1 }); // nothing more
    assert.equal(await balance(r1), r1Start - 10n * CGPT + 250_000_000_000_000_000n);
    assert.equal((await review(M1, r1.address)).pendingRewardWei, '0');

    // r2 adds 10 CGPT and changes its rating to 4: its 0.75 CGPT is paid first.
    await ok(r2, 'models/review', { id: M1, stakeWei: 10n * CGPT, rating: 4 });
    assert.equal(await balance(r2), r2Start - 40n * CGPT + 750_000_000_000_000_000n);
    m = await model(M1);
    assert.equal(m.totalStakeWei, `${50n * CGPT}`);
    assert.equal(m.curationScore, '420'); // (10*5 + 40*4) * 100 / 50
    // Rating only: stake 0.
    await ok(r1, 'models/review', { id: M1, stakeWei: 0n, rating: 1 });
    assert.equal((await model(M1)).curationScore, '340'); // (10*1 + 40*4) * 100 / 50
    assert.equal((await review(M1, r1.address)).rating, 1);

    // 5 CGPT among 50: 1 to r1, 4 to r2.
    await ok(payer, 'mtest/credit', { id: M1, amountWei: 5n * CGPT });
    assert.equal((await review(M1, r1.address)).pendingRewardWei, `${CGPT}`);
    assert.equal((await review(M1, r2.address)).pendingRewardWei, `${4n * CGPT}`);
    // Pool: stakes + unpaid rewards + dust.
    assert.equal(await balance(MODELS_ACCOUNT), poolStart + 50n * CGPT + 5n * CGPT + 3n);

    // r3 stakes 2 CGPT with rating 3 after the credit: it earns nothing of it.
    await ok(r3, 'models/review', { id: M1, stakeWei: 2n * CGPT, rating: 3 });
    assert.equal((await review(M1, r3.address)).pendingRewardWei, '0');
    assert.equal((await model(M1)).curationScore, '338'); // (10*1 + 40*4 + 2*3) * 100 / 52, rounded down
  });

  it('list: active by default, ordered by id, filtered and paged', async () => {
    type Page = { models: Json[]; next: string };
    const list = async (p: Json) =>
      (await query('models/list', {
        owner: '',
        task: '',
        text: '',
        includeInactive: false,
        after: '',
        limit: 0,
        ...p,
      })) as Page;
    const ids = (page: Page) => page.models.map((m) => m.id as string);
    assert.deepEqual(ids(await list({})), [M1, ZKP].sort());
    assert.deepEqual(ids(await list({ text: 'PRIVATE' })), [ZKP]);
    assert.deepEqual(ids(await list({ text: 'mlp' })), [M1]);
    assert.deepEqual(ids(await list({ text: 'handwritten' })), [M1, ZKP].sort());
    assert.deepEqual(ids(await list({ owner: a[1]!.address })), []);
    assert.deepEqual(
      ids(await list({ owner: owner.address.toUpperCase().replace('0X', '0x') })),
      [M1, ZKP].sort(),
    );
    assert.deepEqual(ids(await list({ task: 'speech' })), []);
    const all = await list({ includeInactive: true });
    assert.equal(all.models.length, 11);
    assert.deepEqual(ids(all), [...ids(all)].sort());
    assert.equal(all.next, '');
    assert.ok(ids(all).includes(V2));
    const statuses = Object.fromEntries(all.models.map((m) => [m.id, m.status]));
    assert.equal(statuses[V2], 'deprecated');
    assert.equal(statuses[M1], 'active');
    // Pages of 3 walk the same list.
    const walked: string[] = [];
    let after = '';
    for (;;) {
      const page = await list({ includeInactive: true, limit: 3, after });
      walked.push(...ids(page));
      assert.ok(page.models.length <= 3);
      if (page.next === '') break;
      after = page.next;
    }
    assert.deepEqual(walked, ids(all));
    // Params as a client sends them (JSON): every field is optional and omitted ones do not filter.
    const def = h.chain.registry.query('models/list')!;
    const listJson = async (json: Json) =>
      (await def.handler(h.state, queryParamsFromJson(def, json) as never)) as Page;
    assert.deepEqual(ids(await listJson({})), ids(await list({})));
    assert.deepEqual(ids(await listJson({ text: 'PRIVATE' })), [ZKP]);
    assert.deepEqual(ids(await listJson({ includeInactive: true })), ids(all));
    const page = await listJson({ includeInactive: true, limit: 3 });
    assert.deepEqual(ids(page), ids(all).slice(0, 3));
    assert.deepEqual(ids(await listJson({ includeInactive: true, after: page.next })), ids(all).slice(3));
    // Full objects still work; unknown fields and bad values are still refused.
    assert.deepEqual(
      ids(
        await listJson({ owner: '', task: '', text: 'mlp', includeInactive: false, after: '', limit: 100 }),
      ),
      [M1],
    );
    assert.throws(() => queryParamsFromJson(def, { txt: 'mlp' }), /unknown field txt/);
    assert.throws(() => queryParamsFromJson(def, { limit: -1 }), /uint32/);
    assert.throws(() => queryParamsFromJson(def, { includeInactive: 'yes' }));
  });

  it('countQuery counts served requests', async () => {
    await ok(a[4]!, 'mtest/count', { id: M1 });
    await ok(a[4]!, 'mtest/count', { id: M1 });
    assert.equal((await model(M1)).queries, '2');
  });

  it('unreview: bounds, unbonding, release after reviewUnbondingBlocks', async () => {
    const r3 = a[3]!;
    await refused(r3, 'models/unreview', { id: M1, amountWei: 3n * CGPT }, /exceeds the bonded stake/);
    await refused(
      r3,
      'models/unreview',
      { id: M1, amountWei: (3n * CGPT) / 2n },
      /remaining stake must be 0 or at least/,
    );
    await refused(r3, 'models/unreview', { id: M1, amountWei: 0n }, /must be positive/);
    const start = await balance(r3);
    const r = await ok(r3, 'models/unreview', { id: M1, amountWei: 2n * CGPT });
    const release = h.height + UNBONDING;
    assert.deepEqual(event(r, 'unreviewed'), {
      id: M1,
      reviewer: r3.address,
      amountWei: `${2n * CGPT}`,
      releaseHeight: `${release}`,
    });
    const rv = await review(M1, r3.address);
    assert.equal(rv.stakeWei, '0');
    assert.deepEqual(rv.unbonding, [{ amountWei: `${2n * CGPT}`, releaseHeight: `${release}` }]);
    assert.equal((await model(M1)).totalStakeWei, `${50n * CGPT}`);
    while (h.height < release - 1n) await runOk(h, []);
    assert.equal(await balance(r3), start);
    const done = await runOk(h, []);
    assert.equal(h.height, release);
    assert.equal(await balance(r3), start + 2n * CGPT);
    const ev = done.blockEvents.find((e) => e.module === 'models' && e.type === 'unbonded');
    assert.deepEqual(ev?.attributes, { id: M1, reviewer: r3.address, amountWei: `${2n * CGPT}` });
    assert.deepEqual(await review(M1, r3.address), {
      id: M1,
      reviewer: r3.address,
      stakeWei: '0',
      rating: 0,
      pendingRewardWei: '0',
      unbonding: [],
    });
    await refused(r3, 'models/claimRewards', { id: M1 }, /has no review/);
  });

  it('modelFault proposal: status faulty, reviewers slashed by reviewerSlashBps, cut burned', async () => {
    const [, r1, r2, , proposer, validator] = a as TestAccount[];
    const submit = (fields: Json) =>
      send(proposer!, 'gov/submitProposal', {
        kind: 'modelFault',
        title: 'M1 is faulty',
        description: 'wrong outputs',
        paramModule: '',
        paramsJson: '',
        recipient: ZERO,
        amountWei: 0n,
        modelId: M1,
        initialDepositWei: 10n * CGPT,
        ...fields,
      });
    const bad = await runBlock(h, [
      submit({ modelId: '' }),
      submit({ modelId: someId('nobody') }),
      submit({ kind: 'text', modelId: M1 }),
    ]);
    assert.deepEqual(
      bad.receipts.map((r) => r.error),
      ['modelId must be set', `model ${someId('nobody')} does not exist`, 'a text proposal takes no modelId'],
    );

    // r1 withdraws 4 of its 10 CGPT (its 1 CGPT reward is paid); the fault lands before release.
    const r1Start = await balance(r1!);
    await ok(r1!, 'models/unreview', { id: M1, amountWei: 4n * CGPT });
    const release = h.height + UNBONDING;
    assert.equal(await balance(r1!), r1Start + CGPT);
    await runOk(h, [submit({})]);
    // The deposit answers for the fault: no deprecation (and refund) while the proposal is open.
    await refused(
      owner,
      'models/deprecate',
      { id: M1 },
      /is named by 1 open modelFault proposal\(s\); it can be deprecated once they end/,
    );
    await runOk(h, [send(validator!, 'gov/vote', { proposalId: 1n, option: 'yes' })]);
    const r2Before = await balance(r2!);
    const supplyBefore = await getSupply(h.state);
    const poolBefore = await balance(MODELS_ACCOUNT);
    const tally = await runOk(h, [], { timeStepMs: PERIOD_MS });
    assert.ok(h.height < release);
    const proposal = (await query('gov/proposal', { id: 1n })) as Json;
    assert.equal(proposal.status, 'passed');
    assert.equal(proposal.modelId, M1);
    const faulty = tally.blockEvents.find((e) => e.module === 'models' && e.type === 'faulty');
    // 10% of r1's 6 bonded + 4 unbonding and of r2's 40: 0.6 + 0.4 + 4 = 5 CGPT.
    // The owner's storage deposit is forfeited to the fee collector (the validators).
    const deposit = BigInt(artifact.length) * PER_BYTE;
    assert.deepEqual(faulty?.attributes, {
      id: M1,
      burnedWei: `${5n * CGPT}`,
      forfeitedWei: deposit.toString(),
    });
    assert.equal(await getSupply(h.state), supplyBefore - 5n * CGPT);
    // r2's pending 4 CGPT was paid before the cut.
    assert.equal(await balance(r2!), r2Before + 4n * CGPT);
    assert.equal(await balance(MODELS_ACCOUNT), poolBefore - 5n * CGPT - 4n * CGPT - deposit);
    const m = await model(M1);
    assert.equal(m.status, 'faulty');
    assert.equal(m.depositWei, '0');
    assert.equal(m.closedAt, h.height.toString());
    assert.equal(m.totalStakeWei, `${(54n * CGPT) / 10n + 36n * CGPT}`);
    assert.equal(m.ratingStakeSum, `${(54n * CGPT) / 10n + 36n * CGPT * 4n}`);
    const rv1 = await review(M1, r1!.address);
    assert.equal(rv1.stakeWei, `${(54n * CGPT) / 10n}`);
    assert.deepEqual(rv1.unbonding, [{ amountWei: `${(36n * CGPT) / 10n}`, releaseHeight: `${release}` }]);
    assert.equal((await review(M1, r2!.address)).stakeWei, `${36n * CGPT}`);

    // No new reviews, no second fault; withdrawals still work and pay the cut amount.
    const r1Mid = await balance(r1!);
    await refused(r1!, 'models/review', { id: M1, stakeWei: CGPT, rating: 5 }, /is not active \(faulty\)/);
    await refused(proposer!, 'gov/submitProposal', { ...submitFields(), modelId: M1 }, /already faulty/);
    while (h.height < release) await runOk(h, []);
    assert.equal(await balance(r1!), r1Mid + (36n * CGPT) / 10n);
    await ok(r2!, 'models/unreview', { id: M1, amountWei: 36n * CGPT });
    assert.equal((await model(M1)).totalStakeWei, `${(54n * CGPT) / 10n}`);
  });
});

function submitFields(): Json {
  return {
    kind: 'modelFault',
    title: 'again',
    description: '',
    paramModule: '',
    paramsJson: '',
    recipient: ZERO,
    amountWei: 0n,
    modelId: '',
    initialDepositWei: 10n * CGPT,
  };
}

describe('models genesis', () => {
  const artifact = encodeArtifact(mnist.model(0));
  const modules = (list: Module[]) => [...list, createModelsModule()];
  const entry = (extra: Json = {}) => ({
    owner: '0x00000000000000000000000000000000000000aa',
    name: 'MNIST MLP',
    task: 'image-classification',
    inputSchema: '[1,784]',
    outputSchema: '[1,10]',
    tiers: 5,
    priceWei: '1000',
    artifact: bytesToHex(artifact),
    ...extra,
  });

  it('ships models active, with their data checked like uploads', async () => {
    const vk = fakeVk(12);
    const zkId = someId('genesis-zk');
    const h = await createHarness(modules, {
      app: {
        models: {
          models: [
            entry(),
            {
              id: zkId,
              owner: '0x00000000000000000000000000000000000000bb',
              name: 'private',
              inputSchema: '[1,784]',
              outputSchema: '[1,10]',
              tiers: 2,
              zkInputs: 1,
              zkWeights: 1,
              weightCommitment: '42',
              zkConstraints: '491328',
              vk: bytesToHex(vk),
            },
          ],
        },
      },
    });
    try {
      const q = h.chain.registry.query('models/model')!;
      const m = (await q.handler(h.state, { id: modelId(artifact) } as never)) as Json;
      assert.equal(m.status, 'active');
      assert.equal(m.artifactUploaded, artifact.length);
      assert.equal(m.priceWei, '1000');
      assert.equal(m.publishedAt, '0');
      // Genesis models lock no deposit; the artifact check still records the gas estimate.
      assert.equal(m.depositWei, '0');
      assert.notEqual(m.gasEstimate, '0');
      const z = (await q.handler(h.state, { id: zkId } as never)) as Json;
      assert.equal(z.status, 'active');
      assert.equal(z.vkHash, bytesToHex(keccak256(vk)));
      assert.equal(z.vkSize, vk.length);
    } finally {
      await h.close();
    }
  });

  it('refuses a genesis model over maxOnchainGas or without its data', async () => {
    await assert.rejects(
      createHarness(modules, { app: { models: { params: { maxOnchainGas: '100000' }, models: [entry()] } } }),
      /on-chain cost \d+ at batch 1 exceeds maxOnchainGas 100000/,
    );
    await assert.rejects(
      createHarness(modules, {
        app: {
          models: {
            models: [entry({ artifact: undefined, id: modelId(artifact), artifactSize: artifact.length })],
          },
        },
      }),
      /genesis models must include all on-chain data/,
    );
  });
});

describe('storage deposit and activation window (issue 13, attack 2)', () => {
  const WINDOW = 5n;
  const PER_BYTE = 10n ** 12n;
  /** The reported attack: a zk-only publish naming a 16 MiB blob that every node fetches. */
  const JUNK_BYTES = 16 * 1024 * 1024;
  let h: Harness;
  let a: TestAccount[];

  before(async () => {
    h = await createHarness((list) => [...list, createModelsModule()], {
      gasPrice: 0n,
      accounts: 3,
      fundCgpt: 100n,
      app: {
        auth: { params: { minGasPriceWei: '0' } },
        models: { params: { activationWindowBlocks: WINDOW.toString() } },
      },
    });
    a = h.accounts;
  });
  after(() => h?.close());

  const publish = (id: string, extra: Json = {}): Json => ({
    id,
    name: 'junk',
    task: 'image-classification',
    inputSchema: '[1,784]',
    outputSchema: '[1,10]',
    license: '',
    version: '',
    description: '',
    priceWei: CGPT / 100n,
    tiers: 2,
    artifactSize: JUNK_BYTES,
    vkHash: keccak256(fakeVk(794)),
    vkSize: fakeVk(794).length,
    zkInputs: 0,
    zkWeights: 0,
    weightCommitment: 0n,
    zkConstraints: 14_498n,
    previous: '',
    ...extra,
  });
  async function run(from: TestAccount, msgType: string, msg: Json) {
    const r = await runBlock(h, [tx(h, from, msgType, msg)]);
    return { receipt: r.receipts[0]!, blockEvents: r.blockEvents };
  }
  const model = async (id: string) =>
    (await h.chain.registry.query('models/model')!.handler(h.state, { id } as never)) as Json;
  const balance = (addr: Address) => getBalance(h.state, addr);

  it('a 16 MiB zk-only publish locks 16.8 CGPT, and never activating forfeits it and frees its data', async () => {
    const [attacker] = a as [TestAccount];
    const id = someId('junk-16mib');
    const deposit = BigInt(JUNK_BYTES) * PER_BYTE;
    assert.equal(deposit, 16_777_216_000_000_000_000n); // 16.78 CGPT (the attack paid ~0.00003)
    const before = await balance(attacker.address);
    const collector = await balance(FEE_COLLECTOR);
    const setupFee = 14_498n * 10n ** 12n;
    const pub = await run(attacker, 'models/publish', publish(id));
    assert.equal(pub.receipt.error, '');
    assert.equal(await balance(attacker.address), before - deposit - setupFee);
    assert.equal(await balance(MODELS_ACCOUNT), deposit);
    const publishedAt = h.height;
    // Part of the key goes on chain (so there is on-chain data to free), the rest never comes.
    const vk = fakeVk(794);
    const up = await run(attacker, 'models/upload', { id, part: 1, offset: 0, data: vk.subarray(0, 1000) });
    assert.equal(up.receipt.error, '');
    assert.ok(await h.state.get(chunkKey(id, 1, 0)));

    // Open until the last block of the window; expired in that block's end block.
    while (h.height < publishedAt + WINDOW - 1n) await runOk(h, []);
    assert.equal((await model(id)).status, 'uploading');
    const end = await runOk(h, []);
    assert.equal(h.height, publishedAt + WINDOW);
    const expired = end.blockEvents.find((e) => e.module === 'models' && e.type === 'expired');
    assert.deepEqual(expired?.attributes, { id, forfeitedWei: deposit.toString() });
    const m = await model(id);
    assert.equal(m.status, 'expired');
    assert.equal(m.closedAt, h.height.toString());
    assert.equal(m.depositWei, '0');
    assert.equal(m.vkUploaded, 0);
    // The deposit went to the validators (fee collector), the key's chunk is gone from state.
    assert.equal(await balance(MODELS_ACCOUNT), 0n);
    assert.equal(await balance(FEE_COLLECTOR), collector + setupFee + deposit);
    assert.equal(await h.state.get(chunkKey(id, 1, 0)), undefined);
    assert.deepEqual(await checkInvariants(h.state, h.chain.registry), []);
    // An expired model takes no uploads; its id (a content hash) may be published afresh, with a
    // new deposit and window, keeping its one entry in the list.
    const late = await run(attacker, 'models/upload', { id, part: 1, offset: 0, data: vk.subarray(0, 10) });
    assert.match(late.receipt.error, /is not uploading \(expired\)/);
    const again = await run(attacker, 'models/publish', publish(id));
    assert.equal(again.receipt.error, '');
    assert.equal((await model(id)).status, 'uploading');
    assert.equal((await model(id)).depositWei, deposit.toString());
    const list = (await h.chain.registry.query('models/list')!.handler(h.state, {
      owner: '',
      task: '',
      text: '',
      includeInactive: true,
      after: '',
      limit: 0,
    } as never)) as {
      models: Json[];
    };
    assert.equal(list.models.filter((x) => x.id === id).length, 1);
  });

  it('refuses a publish whose owner cannot lock the deposit', async () => {
    const [, poor] = a as [TestAccount, TestAccount];
    // 100 CGPT cannot lock 64 MiB x 10^12 wei = 67.1 CGPT twice.
    const first = await run(
      poor,
      'models/publish',
      publish(someId('big-1'), { artifactSize: 64 * 1024 * 1024 }),
    );
    assert.equal(first.receipt.error, '');
    const second = await run(
      poor,
      'models/publish',
      publish(someId('big-2'), { artifactSize: 64 * 1024 * 1024 }),
    );
    assert.match(second.receipt.error, /insufficient/i);
    assert.equal(
      await h.chain.registry
        .query('models/model')!
        .handler(h.state, { id: someId('big-2') } as never)
        .catch(() => undefined),
      undefined,
    );
  });

  it('a model active in time keeps its deposit until deprecated; an expired version frees its predecessor', async () => {
    const [, , owner] = a as [TestAccount, TestAccount, TestAccount];
    const vk = fakeVk(794);
    const first = someId('kept');
    assert.equal(
      (await run(owner, 'models/publish', publish(first, { artifactSize: 1000 }))).receipt.error,
      '',
    );
    const publishedAt = h.height;
    for (let off = 0; off < vk.length; off += 40_000)
      assert.equal(
        (
          await run(owner, 'models/upload', {
            id: first,
            part: 1,
            offset: off,
            data: vk.subarray(off, off + 40_000),
          })
        ).receipt.error,
        '',
      );
    assert.equal((await model(first)).status, 'active');
    // A second version that never activates: when it expires, `first` may be superseded again.
    const second = someId('kept-v2');
    assert.equal(
      (await run(owner, 'models/publish', publish(second, { artifactSize: 1000, previous: first }))).receipt
        .error,
      '',
    );
    assert.equal((await model(first)).supersededBy, second);
    const secondAt = h.height;
    while (h.height < secondAt + WINDOW) await runOk(h, []);
    assert.ok(h.height > publishedAt + WINDOW);
    assert.equal((await model(first)).status, 'active');
    assert.equal((await model(first)).depositWei, (1000n * PER_BYTE).toString());
    assert.equal((await model(second)).status, 'expired');
    assert.equal((await model(first)).supersededBy, '');
    const onExpired = await run(
      owner,
      'models/publish',
      publish(someId('kept-v3'), { artifactSize: 1000, previous: second }),
    );
    assert.match(onExpired.receipt.error, /model \S+ expired; it cannot have a new version/);
    const before = await balance(owner.address);
    const dep = await run(owner, 'models/deprecate', { id: first });
    assert.equal(dep.receipt.error, '');
    assert.equal(await balance(owner.address), before + 1000n * PER_BYTE);
    assert.equal((await model(first)).closedAt, h.height.toString());
    assert.deepEqual(await checkInvariants(h.state, h.chain.registry), []);
  });
});
