// The zk tier on the real MNIST MLP circuit (public weights, public inputs; development keys made
// once and cached): a valid proof pays the slot with the exact fee split, the request finalizes
// with the refund of what was not paid; invalid proofs (garbage points, a real proof of another
// input, a wrong output) slash the provider exactly and reassign the slot; the transaction itself
// succeeds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Address } from '@aivm/crypto';
import { argmaxOf } from '@aivm/runtime';
import { FEE_COLLECTOR, getSupply, INFERENCE_ACCOUNT, inferenceParams } from '../src/index.ts';
import { MODELS_ACCOUNT } from '../src/modules/models/store.ts';
import {
  accountOf,
  balance,
  block,
  CGPT,
  digit,
  eventsOf,
  type Fixture,
  fails,
  getReq,
  hex,
  MODEL_ID,
  ok,
  PRICE,
  proveInput,
  query,
  registerTxs,
  releaseZk,
  replayOnSecondNode,
  requestIdOf,
  requestMsg,
  run,
  setupChain,
  slotSplit,
  zkKeys,
} from './inference-helpers.ts';

describe('inference: zk tier', () => {
  let f: Fixture;
  let proof0: { output: Uint8Array; proof: Uint8Array };
  let proof1: { output: Uint8Array; proof: Uint8Array };
  const x0 = digit(0);
  const x1 = digit(1);
  const account = (a: string) => accountOf(f, a);

  before(async () => {
    const zk = await zkKeys();
    f = await setupChain({ tiers: 7, vk: zk.vkBytes, zkConstraints: zk.constraints });
    await block(f.tc, [
      ...registerTxs(f, [2, 3, 4, 5], { tiers: 2, stakeWei: 2_000n * CGPT }),
      { from: f.a[7]!, type: 'models/review', msg: { id: MODEL_ID, stakeWei: 10n * CGPT, rating: 4 } },
    ]);
    proof0 = await proveInput(x0.bytes);
    proof1 = await proveInput(x1.bytes);
  });
  after(async () => {
    await f.tc.close();
    await releaseZk();
  });

  it('valid proofs pay each slot exactly, then the request is proven, finalized and the rest refunded', async () => {
    const reqBefore = await balance(f.tc, f.requester.address);
    const ownerBefore = await balance(f.tc, f.owner.address);
    const modelsBefore = await balance(f.tc, MODELS_ACCOUNT);
    const r = await ok(
      f.tc,
      f.requester,
      'inference/request',
      requestMsg(x0.bytes, { tier: 2, redundancy: 2, maxFeeWei: 3n * PRICE }),
    );
    const id = requestIdOf(r.events);
    assert.equal(await balance(f.tc, INFERENCE_ACCOUNT), 8_000n * CGPT + 3n * PRICE);
    const slots = eventsOf(r.events, 'assigned').map((e) => e.provider);
    assert.equal(slots.length, 2);
    const provBefore = await Promise.all(slots.map((a) => balance(f.tc, a as Address)));

    // The zk floor (14,498 constraints x 10^11 wei) goes to the provider; the rest is split.
    const floor = (await zkKeys()).constraints * 10n ** 11n;
    assert.equal(floor, 1_449_800_000_000_000n);
    const { owner, provider: prov, reviewers, protocol } = slotSplit(PRICE, floor);

    const first = await ok(f.tc, account(slots[0]!), 'inference/submitProof', { requestId: id, ...proof0 });
    assert.ok(first.receipts[0]!.gasUsed > inferenceParams.defaults.zkVerifyGas);
    assert.deepEqual(eventsOf(first.events, 'proven'), [
      { id: id.toString(), slot: '0', provider: slots[0] },
    ]);
    assert.deepEqual(eventsOf(first.events, 'paid'), [
      {
        id: id.toString(),
        slot: '0',
        ownerWei: owner.toString(),
        providerWei: prov.toString(),
        reviewersWei: reviewers.toString(),
        protocolWei: protocol.toString(),
      },
    ]);
    assert.equal(await balance(f.tc, FEE_COLLECTOR), protocol);
    let q = await getReq(f.tc, id);
    assert.equal(q.status, 'assigned'); // slot 1 is still open
    assert.equal(q.slots[0]!.status, 'proven');

    const second = await ok(f.tc, account(slots[1]!), 'inference/submitProof', { requestId: id, ...proof0 });
    assert.deepEqual(
      eventsOf(second.events, 'status').map((e) => e.status),
      ['proven', 'finalized'],
    );
    assert.deepEqual(eventsOf(second.events, 'refunded'), [
      { id: id.toString(), amountWei: PRICE.toString() },
    ]);
    q = await getReq(f.tc, id);
    assert.equal(q.status, 'finalized');
    assert.equal(q.output, hex(run(x0.bytes).bytes));
    assert.equal(q.class, argmaxOf(run(x0.bytes).output.data));
    assert.equal(q.class, x0.label);
    assert.deepEqual(q.fees, {
      ownerWei: (2n * owner).toString(),
      providerWei: (2n * prov).toString(),
      reviewersWei: (2n * reviewers).toString(),
      protocolWei: (2n * protocol).toString(),
      refundWei: PRICE.toString(),
    });
    assert.equal(await balance(f.tc, f.requester.address), reqBefore - 2n * PRICE);
    assert.equal(await balance(f.tc, f.owner.address), ownerBefore + 2n * owner);
    assert.equal(await balance(f.tc, MODELS_ACCOUNT), modelsBefore + 2n * reviewers);
    for (const [k, a] of slots.entries())
      assert.equal(await balance(f.tc, a as Address), provBefore[k]! + prov);
    assert.equal(await balance(f.tc, INFERENCE_ACCOUNT), 8_000n * CGPT);
    const pj = await query<{ served: string; openJobs: number }>(f.tc, 'inference/provider', {
      address: slots[0],
    });
    assert.deepEqual([pj.served, pj.openJobs], ['1', 0]);
  });

  it('only the assigned provider may submit, with an output of the right size', async () => {
    const r = await ok(f.tc, f.requester, 'inference/request', requestMsg(x0.bytes, { tier: 2 }));
    const id = requestIdOf(r.events);
    const assigned = eventsOf(r.events, 'assigned')[0]!.provider;
    const other = [2, 3, 4, 5]
      .map((i) => f.a[i]!)
      .find((a) => a.address.toLowerCase() !== assigned.toLowerCase())!;
    await fails(
      f.tc,
      other,
      'inference/submitProof',
      { requestId: id, ...proof0 },
      /holds no assigned slot of request/,
    );
    await fails(
      f.tc,
      account(assigned),
      'inference/submitProof',
      { requestId: id, output: proof0.output.subarray(4), proof: proof0.proof },
      /output is 36 bytes; the model's output \[1,10\] needs 40/,
    );
    await fails(
      f.tc,
      account(assigned),
      'inference/submitProof',
      { requestId: 999n, ...proof0 },
      /request 999 does not exist/,
    );
    await ok(f.tc, account(assigned), 'inference/submitProof', { requestId: id, ...proof0 });
    assert.equal((await getReq(f.tc, id)).status, 'finalized');
  });

  /** Submits a bad proof for a fresh request; checks the exact slash, the burn and the reassignment. */
  async function rejects(input: Uint8Array, bad: { output: Uint8Array; proof: Uint8Array }) {
    const r = await ok(f.tc, f.requester, 'inference/request', requestMsg(input, { tier: 2 }));
    const id = requestIdOf(r.events);
    const cheat = eventsOf(r.events, 'assigned')[0]!.provider as Address;
    const stake = BigInt(
      (await query<{ stakeWei: string }>(f.tc, 'inference/provider', { address: cheat })).stakeWei,
    );
    const supply = await getSupply(f.tc.state);
    const res = await ok(f.tc, account(cheat), 'inference/submitProof', { requestId: id, ...bad });
    const cut = (stake * 1000n) / 10_000n;
    assert.deepEqual(eventsOf(res.events, 'slashed'), [
      { provider: cheat, amountWei: cut.toString(), reason: `invalid proof for request ${id} slot 0` },
    ]);
    assert.equal(eventsOf(res.events, 'paid').length, 0);
    const next = eventsOf(res.events, 'assigned');
    assert.equal(next.length, 1);
    assert.notEqual(next[0]!.provider.toLowerCase(), cheat.toLowerCase());
    assert.equal(await getSupply(f.tc.state), supply - cut);
    const q = await getReq(f.tc, id);
    assert.equal(q.status, 'assigned');
    assert.equal(q.slots[0]!.attempts, 2);
    assert.equal(q.slots[0]!.provider.toLowerCase(), next[0]!.provider.toLowerCase());
    const pj = await query<{ stakeWei: string; openJobs: number; faults: string }>(
      f.tc,
      'inference/provider',
      { address: cheat },
    );
    assert.equal(BigInt(pj.stakeWei), stake - cut);
    assert.equal(pj.openJobs, 0);
    // The new provider proves honestly and the request completes.
    const honest = input === x0.bytes ? proof0 : proof1;
    await ok(f.tc, account(next[0]!.provider), 'inference/submitProof', { requestId: id, ...honest });
    assert.equal((await getReq(f.tc, id)).status, 'finalized');
    return cheat;
  }

  it('garbage proof points: slashed 10%, burned, reassigned; the transaction succeeds', async () => {
    const garbage = proof0.proof.slice();
    garbage[40] ^= 0xff; // A.y no longer on the curve
    await rejects(x0.bytes, { output: proof0.output, proof: garbage });
  });

  it('a real proof of another input with its output is rejected', async () => {
    await rejects(x0.bytes, proof1);
  });

  it('a real proof with a claimed output changed is rejected', async () => {
    const forged = proof1.output.slice();
    forged[0] ^= 1;
    await rejects(x1.bytes, { output: forged, proof: proof1.proof });
  });

  it('a second node replays every block (decoded-model cache cold) to the same roots', async () => {
    const zk = await zkKeys();
    await replayOnSecondNode(f.tc, { tiers: 7, vk: zk.vkBytes, zkConstraints: zk.constraints });
  });
});
