// Issue 13, attack 8 replayed at the chain level: the devnet's only provider tied up by zk requests
// on a heavy model priced at the minimum, the publisher getting 60% of each fee back, and a user's
// request failing with "0 providers eligible". Now the zk price follows the declared circuit size
// (checked at setPrice and again at request time), the floor of a paid slot goes wholly to its
// provider, and a request without a provider waits, or is refunded in full.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bytesToHex, keccak256, mnemonicToPrivateKeys, privateKeyToAddress } from '@aivm/crypto';
import { modelId } from '@aivm/runtime';
import { getOpenSlots } from '../src/modules/inference/store.ts';
import { TEST_MNEMONIC } from '../src/testing/index.ts';
import {
  advanceTo,
  balance,
  block,
  CGPT,
  digit,
  eventsOf,
  type Fixture,
  fails,
  getReq,
  MIN_PRICE,
  MODEL_ID,
  ok,
  PRICE,
  proveInput,
  registerMsg,
  releaseZk,
  requestIdOf,
  requestMsg,
  setupChain,
  slotSplit,
  zkKeys,
} from './inference-helpers.ts';

/** The reported heavy model: 90,000 declared constraints, published at minPriceWei. */
const HEAVY = modelId(new TextEncoder().encode('issue 13 attack 8: heavy zk model'));
const HEAVY_CONSTRAINTS = 90_000n;
const PER_CONSTRAINT = 10n ** 11n; // default zkPricePerConstraintWei
const QUEUE_TIMEOUT = 4n; // TEST_PARAMS.queueTimeoutBlocks

describe('inference prices follow cost; no provider means wait or refund (issue 13, attack 8)', () => {
  let f: Fixture;
  let mnistFloor: bigint;
  before(async () => {
    const zk = await zkKeys();
    mnistFloor = zk.constraints * PER_CONSTRAINT;
    f = await setupChain({
      tiers: 3, // on-chain (the artifact comes with genesis) and zk
      vk: zk.vkBytes,
      zkConstraints: zk.constraints,
      // Genesis skips the publish-time floor (inference params are read after models' genesis),
      // so the heavy model exists at minPriceWei as on the devnet of the report.
      extraModels: [
        {
          id: HEAVY,
          owner: privateKeyToAddress(mnemonicToPrivateKeys(TEST_MNEMONIC, 1, 1)[0]!), // a1
          name: 'heavy',
          inputSchema: '[1,784]',
          outputSchema: '[1,10]',
          tiers: 2,
          priceWei: MIN_PRICE.toString(),
          zkConstraints: HEAVY_CONSTRAINTS.toString(),
          vk: bytesToHex(zk.vkBytes),
        },
      ],
    });
  });
  after(async () => {
    await f.tc.close();
    await releaseZk();
  });

  it('a heavy zk model priced at minPriceWei is refused at request time, setPrice and publish', async () => {
    const attacker = f.a[1]!;
    const floor = HEAVY_CONSTRAINTS * PER_CONSTRAINT; // 0.009 CGPT, 9x minPriceWei
    const text = `floor of ${floor} wei \\(zkPricePerConstraintWei ${PER_CONSTRAINT} x ${HEAVY_CONSTRAINTS} constraints\\)`;
    await fails(
      f.tc,
      f.a[3]!,
      'inference/request',
      requestMsg(digit(0).bytes, { modelId: HEAVY, tier: 2, maxFeeWei: CGPT }),
      new RegExp(`^model ${HEAVY} is priced ${MIN_PRICE} wei, below the zk tier's ${text}$`),
    );
    await fails(
      f.tc,
      attacker,
      'models/setPrice',
      { id: HEAVY, priceWei: floor - 1n },
      new RegExp(`^price ${floor - 1n} wei of model ${HEAVY} is below the zk tier's ${text}$`),
    );
    await ok(f.tc, attacker, 'models/setPrice', { id: HEAVY, priceWei: floor });
    // A new publish of such a model at minPriceWei is refused too.
    const zk = await zkKeys();
    await fails(
      f.tc,
      attacker,
      'models/publish',
      {
        id: modelId(new TextEncoder().encode('another heavy model')),
        name: 'heavy 2',
        task: '',
        inputSchema: '[1,784]',
        outputSchema: '[1,10]',
        license: '',
        version: '',
        description: '',
        priceWei: MIN_PRICE,
        tiers: 2,
        artifactSize: 1000,
        vkHash: keccak256(zk.vkBytes),
        vkSize: zk.vkBytes.length,
        zkInputs: 0,
        zkWeights: 0,
        weightCommitment: 0n,
        zkConstraints: HEAVY_CONSTRAINTS,
        previous: '',
      },
      new RegExp(`is below the zk tier's ${text}$`),
    );
  });

  it("the only provider tied up: the user's request waits and is served when the provider frees up", async () => {
    const [attacker, user, provider] = [f.a[1]!, f.a[2]!, f.a[3]!];
    await ok(f.tc, provider, 'inference/registerProvider', registerMsg({ capacity: 1, tiers: 2 }));
    // The attacker (the heavy model's owner) takes the only provider's one job.
    const heavyPrice = HEAVY_CONSTRAINTS * PER_CONSTRAINT;
    const h = await ok(
      f.tc,
      attacker,
      'inference/request',
      requestMsg(digit(1).bytes, { modelId: HEAVY, tier: 2, maxFeeWei: heavyPrice }),
    );
    const heavyId = requestIdOf(h.events);
    assert.deepEqual(
      eventsOf(h.events, 'assigned').map((e) => e.provider),
      [provider.address],
    );
    // The user's MNIST request no longer fails with "0 providers eligible": it is accepted,
    // escrowed, and waits.
    const userBefore = await balance(f.tc, user.address);
    const u = await block(f.tc, [
      {
        from: user,
        type: 'inference/request',
        msg: requestMsg(digit(2).bytes, { tier: 2, maxFeeWei: PRICE }),
      },
    ]);
    assert.equal(u.receipts[0]!.error, '');
    const userId = requestIdOf(u.events);
    assert.deepEqual(eventsOf(u.events, 'assigned'), []);
    assert.equal((await getReq(f.tc, userId)).status, 'pending');
    assert.equal(await balance(f.tc, user.address), userBefore - PRICE);
    // The provider gives the heavy job back (it cannot prove a circuit that size in time): the
    // waiting user slot gets it in the same block's end block.
    const d = await block(f.tc, [{ from: provider, type: 'inference/decline', msg: { requestId: heavyId } }]);
    assert.deepEqual(
      eventsOf(d.events, 'assigned').map((e) => [e.id, e.provider]),
      [[userId.toString(), provider.address]],
    );
    const proof = await proveInput(digit(2).bytes);
    const paid = await ok(f.tc, provider, 'inference/submitProof', { requestId: userId, ...proof });
    const split = slotSplit(PRICE, mnistFloor);
    assert.deepEqual(eventsOf(paid.events, 'paid'), [
      {
        id: userId.toString(),
        slot: '0',
        ownerWei: split.owner.toString(),
        providerWei: split.provider.toString(),
        reviewersWei: '0',
        protocolWei: (split.protocol + split.reviewers).toString(),
      },
    ]);
    assert.equal((await getReq(f.tc, userId)).status, 'finalized');
    // The heavy request found no other provider within queueTimeoutBlocks: failed, escrow back
    // in full (only gas paid, 0 here), and the attacker's open slots are released.
    const attackerBefore = await balance(f.tc, attacker.address);
    const declinedAt = f.tc.head.height - 1n;
    const end = await advanceTo(f.tc, declinedAt + QUEUE_TIMEOUT);
    const q = await getReq(f.tc, heavyId);
    assert.equal(q.status, 'failed');
    assert.equal(q.reason, `no provider took slot 0 within ${QUEUE_TIMEOUT} blocks (queueTimeoutBlocks)`);
    assert.deepEqual(eventsOf(end, 'refunded'), [
      { id: heavyId.toString(), amountWei: heavyPrice.toString() },
    ]);
    assert.equal(await balance(f.tc, attacker.address), attackerBefore + heavyPrice);
    assert.equal(await getOpenSlots(f.tc.state, attacker.address), 0n);
  });

  it('an owner requesting its own model pays the floor to the provider (before, 60% came back)', async () => {
    const [owner, provider] = [f.a[0]!, f.a[3]!];
    // MNIST priced at its zk floor (14,498 constraints x 10^11 = 0.00145 CGPT): all of it is floor.
    await ok(f.tc, owner, 'models/setPrice', { id: MODEL_ID, priceWei: mnistFloor });
    const ownerBefore = await balance(f.tc, owner.address);
    const providerBefore = await balance(f.tc, provider.address);
    const r = await ok(
      f.tc,
      owner,
      'inference/request',
      requestMsg(digit(3).bytes, { tier: 2, maxFeeWei: mnistFloor }),
    );
    const id = requestIdOf(r.events);
    assert.equal((await getReq(f.tc, id)).slots[0]!.provider, provider.address);
    const proof = await proveInput(digit(3).bytes);
    const paid = await ok(f.tc, provider, 'inference/submitProof', { requestId: id, ...proof });
    assert.deepEqual(eventsOf(paid.events, 'paid'), [
      {
        id: id.toString(),
        slot: '0',
        ownerWei: '0',
        providerWei: mnistFloor.toString(),
        reviewersWei: '0',
        protocolWei: '0',
      },
    ]);
    // The owner lost the whole price to the provider that did the work.
    assert.equal(await balance(f.tc, owner.address), ownerBefore - mnistFloor);
    assert.equal(await balance(f.tc, provider.address), providerBefore + mnistFloor);
  });

  it('slots waiting for a provider count as open (maxPendingPerRequester) until they fail', async () => {
    const requester = f.a[4]!;
    // The only provider is busy with one job (capacity 1) from here on.
    await ok(f.tc, f.a[5]!, 'inference/request', requestMsg(digit(4).bytes, { tier: 2, maxFeeWei: PRICE }));
    await ok(f.tc, f.a[0]!, 'models/setPrice', { id: MODEL_ID, priceWei: PRICE });
    const before = await balance(f.tc, requester.address);
    const r = await ok(
      f.tc,
      requester,
      'inference/request',
      requestMsg(digit(5).bytes, { tier: 2, redundancy: 3, maxFeeWei: 3n * PRICE }),
    );
    assert.deepEqual(eventsOf(r.events, 'assigned'), []);
    assert.equal(await getOpenSlots(f.tc.state, requester.address), 3n);
    const id = requestIdOf(r.events);
    const end = await advanceTo(f.tc, f.tc.head.height + QUEUE_TIMEOUT);
    assert.equal(eventsOf(end, 'slotFailed').filter((e) => e.id === id.toString()).length, 3);
    assert.equal((await getReq(f.tc, id)).status, 'failed');
    assert.equal(await getOpenSlots(f.tc.state, requester.address), 0n);
    assert.equal(await balance(f.tc, requester.address), before);
  });

  it('with no provider serving, a request waits and is assigned when a provider registers', async () => {
    const [busy, requester, newcomer] = [f.a[3]!, f.a[7]!, f.a[6]!];
    // The only provider pauses (capacity 0): nobody is eligible.
    await ok(f.tc, busy, 'inference/updateProvider', { capacity: 0, tiers: 2, models: [], endpoint: '' });
    const r = await ok(
      f.tc,
      requester,
      'inference/request',
      requestMsg(digit(6).bytes, { tier: 2, maxFeeWei: PRICE }),
    );
    const id = requestIdOf(r.events);
    assert.deepEqual(eventsOf(r.events, 'assigned'), []);
    assert.equal((await getReq(f.tc, id)).slots[0]!.status, 'pending');
    const reg = await block(f.tc, [
      { from: newcomer, type: 'inference/registerProvider', msg: registerMsg({ tiers: 2 }) },
    ]);
    assert.equal(reg.receipts[0]!.error, '');
    assert.deepEqual(
      eventsOf(reg.events, 'assigned').map((e) => [e.id, e.provider]),
      [[id.toString(), newcomer.address]],
    );
    assert.equal((await getReq(f.tc, id)).status, 'assigned');
  });
});
