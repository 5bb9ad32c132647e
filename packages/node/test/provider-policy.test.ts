// Issue 13, attack 3, replayed at test scale: zk models published one after another on a real
// node, and a provider that used to compile, set up and keep in memory the keys of every one of
// them. With a serving policy and an LRU of one loaded key: the models the policy refuses are never
// set up (no key file, the setup counter unchanged; refused on their chain record, or on a circuit
// compiled within the budget), the admitted ones are listed on chain only once their keys are on
// disk and are served with proofs the chain accepts, at most one circuit and key is in memory at a
// time, and a restarted provider serves from the keys on disk without a new setup.

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WEI_PER_CGPT } from '@aivm/chain';
import { bytesToHex, ed25519GenerateKey, privateKeyToAddress, sha256 } from '@aivm/crypto';
import { encodeArtifact, modelId, type QuantModel } from '@aivm/runtime';
import { AivmClient, publishModel, requestInference, TIERS, Wallet, waitForRequest } from '@aivm/sdk';
import * as Z from '@aivm/zk';
import { loadOrCreateKeys, releaseCurve } from '@aivm/zk/node';
import { tinyModel } from '../../zk/test/helpers/tiny.ts';
import { buildGenesis, DEFAULT_SELF_STAKE_WEI } from '../src/genesis-builder.ts';
import { createLogger } from '../src/logger.ts';
import { AivmNode } from '../src/node.ts';
import {
  admitsEveryModel,
  DEFAULT_SERVING_POLICY,
  inputShape,
  KeyLru,
  offerOf,
  outputShape,
  PolicyError,
  Provider,
  quantizeInput,
  refuseOffer,
  type ServingPolicy,
  servingPolicy,
} from '../src/provider/index.ts';

const CGPT = WEI_PER_CGPT;
const key = (name: string) => sha256(new TextEncoder().encode(`provider-policy ${name}`));
const PUBLISHER = key('publisher');
const STRANGER = key('stranger');
const REQUESTER = key('requester');
const PROVIDER = key('provider');

type Published = { id: string; model: QuantModel; constraints: number };

let home: string;
let node: AivmNode;
let client: AivmClient;
let provider: Provider | undefined;
/** The provider's key cache: every key it sets up is a file here. */
let providerKeys: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const zkeyFiles = async () => (await readdir(providerKeys)).filter((f) => f.endsWith('.zkey')).sort();

/**
 * Publishes a zk-only model with the SDK (publish, artifact blob, verification key on chain),
 * declaring its circuit's constraint count (or `declare`). `vk` defaults to the model's own (a
 * setup in the publisher's key cache); a model the provider must refuse before any setup may carry
 * another model's key.
 */
async function publish(
  owner: Uint8Array,
  model: QuantModel,
  opts: { priceWei: bigint; vk?: Uint8Array; declare?: number },
): Promise<Published> {
  const artifact = encodeArtifact(model);
  const constraints = Z.compile(model).r1cs.constraints.length;
  const vk = opts.vk ?? (await vkOf(model));
  const { id } = await publishModel(Wallet.fromPrivateKey(owner, client), {
    artifact,
    name: `tiny ${modelId(artifact).slice(-6)}`,
    inputSchema: `[${inputShape(model).join(',')}]`,
    outputSchema: `[${outputShape(model).join(',')}]`,
    priceWei: opts.priceWei,
    tiers: TIERS.zk,
    vk: { bytes: vk, hash: bytesToHex(Z.verificationKeyHash(vk)) },
    zkConstraints: BigInt(opts.declare ?? constraints),
    timeoutMs: 30_000,
  });
  return { id, model, constraints };
}

const publisherKeys = () => join(home, 'publisher-keys');

async function vkOf(model: QuantModel): Promise<Uint8Array> {
  const keys = await loadOrCreateKeys(publisherKeys(), Z.writeR1cs(Z.compile(model).r1cs), { kind: 'dev' });
  return Z.encodeVerificationKey(keys.vk as never);
}

function startProvider(policy: Partial<ServingPolicy>): Provider {
  const p = new Provider(node, {
    privateKey: PROVIDER,
    capacity: 1,
    tiers: TIERS.zk,
    policy,
    maxLoadedKeys: 1,
    zkCacheDir: providerKeys,
    watch: false,
  });
  return p;
}

/** A zk inference of `m` on a fixed input: resolves with the finished request. */
async function infer(m: Published) {
  const requester = Wallet.fromPrivateKey(REQUESTER, client);
  const input = quantizeInput(m.model, tinyModel().x);
  const { requestId } = await requestInference(requester, { modelId: m.id, tier: 'zk', input });
  return waitForRequest(client, requestId, { timeoutMs: 90_000, pollMs: 200 });
}

async function providerRecord(): Promise<{ models: string[]; capacity: number }> {
  const rec = await client.query<{ models: string[]; capacity: number | string }>('inference/provider', {
    address: privateKeyToAddress(PROVIDER),
  });
  return { models: rec.models, capacity: Number(rec.capacity) };
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'aivm-provider-policy-'));
  providerKeys = join(home, 'provider-keys');
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
      balances: [PUBLISHER, STRANGER, REQUESTER, PROVIDER].map((k) => ({
        address: privateKeyToAddress(k),
        amountWei: 1_000_000n * CGPT,
      })),
    }),
    validatorKey: validator.secretKey,
    rpc: { host: '127.0.0.1', port: 0 },
    blockIntervalMs: 200,
    emptyBlocks: true,
    logger: createLogger('silent'),
  });
  client = new AivmClient(node.rpcUrl, { timeoutMs: 10_000 });
});

after(async () => {
  await provider?.stop();
  client.close();
  await node.close();
  await releaseCurve();
  await rm(home, { recursive: true, force: true });
});

describe('provider serving policy and bounded proving keys (issue 13, attack 3)', {
  timeout: 600_000,
}, () => {
  const served: Published[] = [];
  const refused: Record<string, Published> = {};

  it('refuses what its policy excludes without a setup, sets up and lists only what it admits', async () => {
    // Before any model: nothing to list, so it does not register (an empty list is every model).
    provider = startProvider({
      maxConstraints: 700,
      minPricePerConstraintWei: 10n ** 15n,
      allowOwners: [privateKeyToAddress(PUBLISHER)],
      denyModels: [modelId(encodeArtifact(tinyModel({ seed: 5 }).model))],
    });
    await provider.start();
    assert.deepEqual(provider.servedModels, []);
    await assert.rejects(providerRecord());

    // Three models the policy admits (406-413 constraints, 1 CGPT >= 10^15 wei x constraints)...
    for (const seed of [1, 2, 3])
      served.push(await publish(PUBLISHER, tinyModel({ seed }).model, { priceWei: CGPT }));
    // ...and, published in between, what it refuses: a circuit past maxConstraints (925), a denied
    // model, a stranger's model, a price below 10^15 wei a constraint. Those of the first model's
    // architecture borrow its verification key (the chain checks only its public signal count):
    // the provider must refuse them before it would ever compare keys.
    const borrowed = await vkOf(served[0]!.model);
    const large = tinyModel({ inputs: 64, seed: 4 }).model;
    refused.large = await publish(PUBLISHER, large, { priceWei: CGPT, vk: await vkOf(large) });
    refused.denied = await publish(PUBLISHER, tinyModel({ seed: 5 }).model, { priceWei: CGPT, vk: borrowed });
    refused.stranger = await publish(STRANGER, tinyModel({ seed: 6 }).model, {
      priceWei: CGPT,
      vk: borrowed,
    });
    refused.cheap = await publish(PUBLISHER, tinyModel({ seed: 7 }).model, {
      priceWei: 10n ** 16n,
      vk: borrowed,
    });
    // Declares fewer constraints than its circuit has: refused while compiling, before a setup.
    refused.underDeclared = await publish(PUBLISHER, tinyModel({ seed: 8 }).model, {
      priceWei: CGPT,
      vk: borrowed,
      declare: 100,
    });

    const p = provider;
    await until(
      'every model judged',
      () => p.servedModels.length + p.refusedModels.size === 3 + Object.keys(refused).length,
    );
    assert.deepEqual(
      p.servedModels,
      served.map((m) => m.id),
    );
    const reasons = Object.fromEntries(
      Object.entries(refused).map(([k, m]) => [k, p.refusedModels.get(m.id)]),
    );
    assert.match(reasons.large!, /more than maxConstraints 700/);
    assert.match(reasons.denied!, /denyModels/);
    assert.match(reasons.stranger!, /not in allowOwners/);
    assert.match(reasons.cheap!, /below minPricePerConstraintWei/);
    assert.match(reasons.underDeclared!, /more constraints than the 100 its publisher declared/);
    // One setup per admitted model, and nothing else: three key files in its cache.
    assert.equal(p.setups, 3);
    assert.equal((await zkeyFiles()).length, 3);
    // The refusals on declared counts cost no compilation at all; the under-declared model is
    // compiled up to its declaration only.
    assert.equal(p.compiles, 3 + 1);
    // On chain it lists exactly the models whose keys are ready.
    await until(
      'the registered list',
      async () => (await providerRecord().catch(() => undefined))?.models.length === 3,
    );
    assert.deepEqual(await providerRecord(), { models: served.map((m) => m.id), capacity: 1 });
    assert.ok(p.loadedKeys <= 1 && p.peakLoadedKeys <= 1, `${p.peakLoadedKeys} keys loaded at once`);
  });

  it('serves the admitted models with proofs the chain accepts, one loaded key at a time', async () => {
    const p = provider!;
    const compiles = p.compiles;
    for (const m of [served[0]!, served[1]!, served[2]!, served[0]!]) {
      const r = await infer(m);
      assert.equal(r.status, 'finalized', `${m.id}: ${r.reason}`);
      assert.equal(r.slots[0]!.status, 'proven');
      assert.ok(p.loadedKeys <= 1, `${p.loadedKeys} keys loaded`);
    }
    assert.equal(p.served, 4);
    assert.equal(p.peakLoadedKeys, 1);
    // Evicted keys were read back from disk (compiled again), never set up again.
    assert.ok(p.compiles >= compiles + 3, `${p.compiles - compiles} reloads`);
    assert.equal(p.setups, 3);
    assert.equal((await zkeyFiles()).length, 3);
  });

  it('after a restart serves from the keys on disk without a new setup', async () => {
    const files = await zkeyFiles();
    await provider!.stop();
    provider = startProvider({
      maxConstraints: 700,
      minPricePerConstraintWei: 10n ** 15n,
      allowOwners: [privateKeyToAddress(PUBLISHER)],
      denyModels: [refused.denied!.id],
    });
    await provider.start();
    assert.deepEqual(
      provider.servedModels,
      served.map((m) => m.id),
    );
    assert.equal(provider.setups, 0);
    assert.deepEqual(await zkeyFiles(), files);
    const r = await infer(served[1]!);
    assert.equal(r.status, 'finalized', r.reason);
    assert.equal(r.slots[0]!.status, 'proven');
    assert.equal(provider.setups, 0);
  });

  it('drops a model whose price falls below its policy, and unlists it on chain', async () => {
    const m = served[2]!;
    const owner = Wallet.fromPrivateKey(PUBLISHER, client);
    const rec = await client.waitForTx(
      await owner.send('models/setPrice', { id: m.id, priceWei: 10n ** 16n }),
      {
        timeoutMs: 30_000,
      },
    );
    assert.ok(rec.receipt.success, rec.receipt.error);
    await until('the model dropped', () => !provider!.servedModels.includes(m.id));
    assert.match(provider!.refusedModels.get(m.id)!, /below minPricePerConstraintWei/);
    await until('the model unlisted', async () => (await providerRecord()).models.length === 2);
    assert.deepEqual((await providerRecord()).models, [served[0]!.id, served[1]!.id]);
  });
});

describe('serving policy and key LRU (units)', () => {
  it('checks policy options with typed errors, and refuses a declared circuit before compiling', () => {
    assert.throws(() => servingPolicy({ maxConstraints: -1 }), PolicyError);
    assert.throws(() => servingPolicy({ maxConstraints: 2 ** 28 + 1 }), PolicyError);
    assert.throws(() => servingPolicy({ minPricePerConstraintWei: -1n }), PolicyError);
    assert.throws(() => servingPolicy({ allowOwners: ['0x12'] }), /allowOwners/);
    assert.throws(() => servingPolicy({ denyModels: ['Not An Id'] }), /denyModels/);
    assert.throws(
      () => servingPolicy({ allowModels: Array.from({ length: 65 }, (_, i) => `bafk${i}`) }),
      /64/,
    );
    // The default admits any owner at any price, but no circuit past 2^16 constraints: the
    // reported 90,000-constraint models are refused on their declaration, before any work.
    const p = servingPolicy();
    assert.equal(p.maxConstraints, DEFAULT_SERVING_POLICY.maxConstraints);
    assert.equal(p.maxConstraints, 65_536);
    assert.ok(admitsEveryModel(p));
    const offer = offerOf(
      { id: 'bafkx', owner: '0xAB', status: 'active', priceWei: '1000', zkConstraints: '90000' },
      TIERS.zk,
    );
    assert.equal(offer.owner, '0xab');
    assert.match(refuseOffer(p, offer, true)!, /90000 constraints, more than maxConstraints 65536/);
    assert.equal(refuseOffer(p, offer, false), undefined, 'no zk preparation: no circuit limit');
    assert.equal(refuseOffer(p, { ...offer, zkConstraints: 14_498 }, true), undefined);
    assert.equal(offerOf({ id: 'bafkx', status: 'active' }, TIERS.zk).zkConstraints, undefined);
    assert.equal(offerOf({ id: 'bafkx', zkConstraints: '0' }, TIERS.zk).zkConstraints, undefined);
    assert.match(refuseOffer(p, { ...offer, status: 'deprecated' }, true)!, /deprecated/);
    assert.ok(!admitsEveryModel(servingPolicy({ denyModels: ['bafkx'] })));
  });

  it('keeps at most max entries, evicting the least recently used', async () => {
    const lru = new KeyLru<string>(2);
    const load = (v: string) => async () => v;
    await lru.get('a', load('A'));
    await lru.get('b', load('B'));
    await lru.get('a', load('never'));
    await lru.get('c', load('C'));
    assert.equal(lru.size, 2);
    assert.ok(lru.has('a') && lru.has('c') && !lru.has('b'));
    assert.equal(await lru.get('b', load('B2')), 'B2');
    assert.equal(lru.loads, 4);
    assert.equal(lru.peak, 2);
    // A failed load is not kept; max 0 keeps nothing.
    await assert.rejects(lru.get('x', () => Promise.reject(new Error('gone'))));
    assert.ok(!lru.has('x'));
    const none = new KeyLru<string>(0);
    await none.get('a', load('A'));
    assert.equal(none.size, 0);
    assert.throws(() => new KeyLru(-1), RangeError);
  });
});
