// The inference module on the real MNIST MLP: providers (stake, update, unbonding), the on-chain
// tier (result equal to runInt, gas, exact fee split and refund), request validation, the
// stake-weighted assignment (deterministic from the parent hash, filters), missed deadlines with
// slashing and reassignment until attempts run out, and pending requests without providers.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Address } from '@aivm/crypto';
import { bigintToBytes, utf8ToBytes } from '@aivm/crypto';
import { argmaxOf, decodeOutput, estimateGas } from '@aivm/runtime';
import {
  assignmentSeed,
  drawProvider,
  ERR,
  FEE_COLLECTOR,
  getSupply,
  headerHash,
  INFERENCE_ACCOUNT,
  inferenceParams,
} from '../src/index.ts';
import { balanceKey } from '../src/modules/bank/store.ts';
import { MODELS_ACCOUNT } from '../src/modules/models/store.ts';
import { withRawWrites } from '../src/testing/index.ts';
import {
  advanceTo,
  balance,
  block,
  CGPT,
  digit,
  eventsOf,
  type Fixture,
  fails,
  faultProposal,
  getReq,
  honest,
  INPUT_NAME,
  MODEL_ID,
  model,
  ok,
  PRICE,
  providerOf,
  query,
  registerMsg,
  registerTxs,
  replayOnSecondNode,
  requestIdOf,
  requestMsg,
  resultMsg,
  run,
  setupChain,
} from './inference-helpers.ts';

describe('inference: on-chain tier and request validation', () => {
  let f: Fixture;
  before(async () => {
    f = await setupChain({ tiers: 5 });
  });
  after(() => f.tc.close());

  it('executes in the request transaction: output and class equal runInt, gas charged, fee split exact', async () => {
    const x = digit(0);
    const expected = run(x.bytes);
    const ownerBefore = await balance(f.tc, f.owner.address);
    const reqBefore = await balance(f.tc, f.requester.address);
    const gas = estimateGas(model, { [INPUT_NAME]: [1, 784] }).gas;
    const r = await ok(
      f.tc,
      f.requester,
      'inference/request',
      requestMsg(x.bytes, { tier: 1, maxFeeWei: 3n * PRICE }),
    );
    const id = requestIdOf(r.events);
    const q = await getReq(f.tc, id);
    assert.equal(q.status, 'finalized');
    assert.equal(q.output, `0x${Buffer.from(expected.bytes).toString('hex')}`);
    assert.deepEqual(q.outputValues, Array.from(decodeOutput(expected.bytes)));
    assert.equal(q.class, argmaxOf(expected.output.data));
    assert.equal(q.class, x.label);
    assert.equal(q.computeGas, gas.toString());
    assert.ok(r.receipts[0]!.gasUsed > gas, 'the runtime estimate is part of the gas used');
    assert.deepEqual(
      eventsOf(r.events, 'status').map((e) => e.status),
      ['pending', 'computed', 'finalized'],
    );
    // 60% owner, provider share (25%) + reviewers without stake (10%) + 5% to the protocol.
    const owner = (PRICE * 6000n) / 10_000n;
    const protocol = PRICE - owner;
    assert.deepEqual(q.fees, {
      ownerWei: owner.toString(),
      providerWei: '0',
      reviewersWei: '0',
      protocolWei: protocol.toString(),
      refundWei: (2n * PRICE).toString(),
    });
    assert.deepEqual(eventsOf(r.events, 'paid'), [
      {
        id: id.toString(),
        slot: '0',
        ownerWei: owner.toString(),
        providerWei: '0',
        reviewersWei: '0',
        protocolWei: protocol.toString(),
      },
    ]);
    assert.equal(await balance(f.tc, f.owner.address), ownerBefore + owner);
    assert.equal(await balance(f.tc, f.requester.address), reqBefore - PRICE);
    assert.equal(await balance(f.tc, FEE_COLLECTOR), protocol);
    assert.equal(await balance(f.tc, INFERENCE_ACCOUNT), 0n);
    const m = await query<{ queries: string }>(f.tc, 'models/model', { id: MODEL_ID });
    assert.equal(m.queries, '1');
  });

  it('reviewers with stake get their share through creditReviewers', async () => {
    const reviewer = f.a[7]!;
    await ok(f.tc, reviewer, 'models/review', { id: MODEL_ID, stakeWei: 10n * CGPT, rating: 5 });
    const before = await balance(f.tc, MODELS_ACCOUNT);
    const r = await ok(f.tc, f.requester, 'inference/request', requestMsg(digit(1).bytes, { tier: 1 }));
    const q = await getReq(f.tc, requestIdOf(r.events));
    const reviewers = (PRICE * 1000n) / 10_000n;
    assert.equal(q.fees.reviewersWei, reviewers.toString());
    assert.equal(q.fees.protocolWei, (PRICE - (PRICE * 6000n) / 10_000n - reviewers).toString());
    assert.equal(await balance(f.tc, MODELS_ACCOUNT), before + reviewers);
  });

  it('refuses bad requests with clear errors', async () => {
    const x = digit(2).bytes;
    const send = (fields: Record<string, unknown>, re: RegExp, input = x) =>
      fails(f.tc, f.requester, 'inference/request', requestMsg(input, fields), re);
    await send({}, /input is 783 bytes; the model's input \[1,784\] needs 784 int8 values/, x.subarray(1));
    const bad = x.slice();
    bad[5] = 0x80;
    await send({}, /input holds -128 at 5: quantized values lie in \[-127, 127\]/, bad);
    await send({ modelId: 'bafkreiunknown' }, /model bafkreiunknown does not exist/);
    await send({ tier: 3 }, /tier must be one of 1 \(on-chain\), 2 \(zk\), 4 \(optimistic\)/);
    await send({ tier: 2 }, /does not offer the zk tier/);
    await send({ tier: 1, redundancy: 2 }, /redundancy must be 1 for the on-chain tier/);
    await send({ redundancy: 0 }, /redundancy must be within 1\.\.5/);
    await send({ redundancy: 6, maxFeeWei: 6n * PRICE }, /redundancy must be within 1\.\.5/);
    await send(
      { maxFeeWei: PRICE - 1n },
      /maxFeeWei 9999999999999999 is below the fee 10000000000000000 wei/,
    );
    await send(
      { redundancy: 2, maxFeeWei: PRICE },
      /is below the fee 20000000000000000 wei \(price 10000000000000000 x redundancy 2\)/,
    );
    await send({ maxFeeWei: 10n ** 30n }, /insufficient funds/);
    // Nothing was escrowed by the failed attempts.
    assert.equal(await balance(f.tc, INFERENCE_ACCOUNT), 0n);
  });

  it('a deprecated model takes no requests', async () => {
    await ok(f.tc, f.owner, 'models/deprecate', { id: MODEL_ID });
    await fails(
      f.tc,
      f.requester,
      'inference/request',
      requestMsg(digit(0).bytes, { tier: 1 }),
      /is deprecated; it takes no requests/,
    );
  });
});

describe('inference: providers and assignment', () => {
  let f: Fixture;
  let p: Address[];
  const stakes = [1_000n * CGPT, 2_000n * CGPT, 3_000n * CGPT];
  before(async () => {
    f = await setupChain({ tiers: 5 });
    p = [f.a[2]!.address, f.a[3]!.address, f.a[4]!.address];
    await block(
      f.tc,
      [2, 3, 4].map((i, k) => ({
        from: f.a[i]!,
        type: 'inference/registerProvider',
        msg: registerMsg({ stakeWei: stakes[k] }),
      })),
    );
  });
  after(() => f.tc.close());

  it('registers providers with their stake escrowed, refuses bad registrations', async () => {
    assert.equal(await balance(f.tc, INFERENCE_ACCOUNT), 6_000n * CGPT);
    const list = await query<{ address: string; stakeWei: string; eligible: boolean }[]>(
      f.tc,
      'inference/providers',
      {},
    );
    assert.equal(list.length, 3);
    const sorted = [...p].sort((x, y) => (x.toLowerCase() < y.toLowerCase() ? -1 : 1));
    assert.deepEqual(
      list.map((x) => x.address.toLowerCase()),
      sorted.map((x) => x.toLowerCase()),
    );
    assert.ok(list.every((x) => x.eligible));
    const a5 = f.a[5]!;
    await fails(
      f.tc,
      a5,
      'inference/registerProvider',
      registerMsg({ stakeWei: 999n * CGPT }),
      /stake must be at least 1000000000000000000000 wei/,
    );
    await fails(
      f.tc,
      a5,
      'inference/registerProvider',
      registerMsg({ tiers: 1 }),
      /tiers must be a non-empty mask of 2 \(zk\) and 4/,
    );
    await fails(
      f.tc,
      a5,
      'inference/registerProvider',
      registerMsg({ capacity: 0 }),
      /capacity must be at least 1/,
    );
    await fails(
      f.tc,
      f.a[2]!,
      'inference/registerProvider',
      registerMsg(),
      /is already a registered provider/,
    );
    await fails(f.tc, a5, 'inference/addStake', { amountWei: 1n }, /is not a registered provider/);
  });

  it('draws providers by stake from the parent hash, deterministically, without replacement', async () => {
    const parent = headerHash(f.tc.head);
    const r = await ok(
      f.tc,
      f.requester,
      'inference/request',
      requestMsg(digit(0).bytes, { redundancy: 3, maxFeeWei: 3n * PRICE }),
    );
    const id = requestIdOf(r.events);
    const assigned = eventsOf(r.events, 'assigned');
    assert.equal(assigned.length, 3);
    // Recompute every draw: candidates in address order, minus those already drawn.
    const candidates = [...p]
      .map((address, k) => ({ address, stakeWei: stakes[k]! }))
      .sort((x, y) => (x.address.toLowerCase() < y.address.toLowerCase() ? -1 : 1));
    const drawn: string[] = [];
    for (let slot = 0; slot < 3; slot++) {
      const left = candidates.filter((c) => !drawn.includes(c.address));
      const who = drawProvider(left, assignmentSeed(parent, id, slot, 0))!;
      drawn.push(who);
      assert.equal(assigned[slot]!.provider.toLowerCase(), who.toLowerCase());
      assert.equal(assigned[slot]!.deadline, (f.tc.head.height + 4n).toString());
    }
    assert.equal(new Set(drawn).size, 3);
    const q = await getReq(f.tc, id);
    assert.equal(q.status, 'assigned');
    for (const a of p) assert.equal((await providerOf(f, a)).openJobs, 1);
  });

  it('the draw follows stake: r = seed mod total picks the cumulative interval', () => {
    const c = [
      { address: '0x01' as Address, stakeWei: 1n },
      { address: '0x02' as Address, stakeWei: 2n },
      { address: '0x03' as Address, stakeWei: 3n },
    ];
    const seed = (r: number) => Uint8Array.of(r); // a one-byte big-endian seed is r itself
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 11].map((r) => drawProvider(c, seed(r))),
      ['0x01', '0x02', '0x02', '0x03', '0x03', '0x03', '0x01', '0x03'],
    );
    assert.equal(drawProvider([], seed(1)), undefined);
    // Counting many seeds: shares follow the 1:2:3 stakes.
    const counts = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const w = drawProvider(c, assignmentSeed(new Uint8Array(32), BigInt(i), 0, 0))!;
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    assert.ok(counts.get('0x01')! < counts.get('0x02')! && counts.get('0x02')! < counts.get('0x03')!);
  });

  it('respects capacity, tier, model and requester filters', async () => {
    // a2 serves only zk, a3 only another model, a4 has capacity 1 and one open job: nobody left.
    await block(f.tc, [
      {
        from: f.a[2]!,
        type: 'inference/updateProvider',
        msg: { capacity: 4, tiers: 2, models: [], endpoint: '' },
      },
      {
        from: f.a[3]!,
        type: 'inference/updateProvider',
        msg: { capacity: 4, tiers: 6, models: ['bafkother'], endpoint: '' },
      },
      {
        from: f.a[4]!,
        type: 'inference/updateProvider',
        msg: { capacity: 1, tiers: 6, models: [], endpoint: '' },
      },
    ]);
    // Nobody eligible: the request is accepted (escrowed) and its slot waits for a provider.
    const before = await balance(f.tc, f.requester.address);
    const waiting = await block(f.tc, [
      { from: f.requester, type: 'inference/request', msg: requestMsg(digit(1).bytes) },
    ]);
    assert.equal(waiting.receipts[0]!.code, 0);
    const waitingId = requestIdOf(waiting.events);
    assert.deepEqual(eventsOf(waiting.events, 'assigned'), []);
    assert.equal(await balance(f.tc, f.requester.address), before - PRICE);
    assert.deepEqual(
      [(await getReq(f.tc, waitingId)).status, (await getReq(f.tc, waitingId)).slots[0]!.status],
      ['pending', 'pending'],
    );
    // a4 makes room and serves the model: the waiting slot gets it in that block's end block.
    const room = await block(f.tc, [
      {
        from: f.a[4]!,
        type: 'inference/updateProvider',
        msg: { capacity: 5, tiers: 6, models: [MODEL_ID], endpoint: '' },
      },
    ]);
    assert.deepEqual(
      eventsOf(room.events, 'assigned').map((e) => [e.id, e.provider!.toLowerCase()]),
      [[waitingId.toString(), p[2]!.toLowerCase()]],
    );
    // a4 as requester is never its own provider, even with capacity: its slot waits.
    const own = await block(f.tc, [
      { from: f.a[4]!, type: 'inference/request', msg: requestMsg(digit(2).bytes) },
    ]);
    assert.equal(own.receipts[0]!.code, 0);
    assert.deepEqual(eventsOf(own.events, 'assigned'), []);
    // Anybody else's request gets a4.
    const r = await ok(f.tc, f.requester, 'inference/request', requestMsg(digit(1).bytes));
    assert.deepEqual(
      eventsOf(r.events, 'assigned').map((e) => e.provider!.toLowerCase()),
      [p[2]!.toLowerCase()],
    );
  });
});

describe('inference: deadlines, reassignment and failure', () => {
  let f: Fixture;
  let p: Address[];
  before(async () => {
    f = await setupChain({ tiers: 5 });
    p = [2, 3, 4].map((i) => f.a[i]!.address);
    await block(f.tc, registerTxs(f, [2, 3, 4]));
  });
  after(() => f.tc.close());

  it('a missed deadline slashes 1% and reassigns; after maxAttempts the request fails with a full refund', async () => {
    const supply = await getSupply(f.tc.state);
    const reqBefore = await balance(f.tc, f.requester.address);
    const r = await ok(
      f.tc,
      f.requester,
      'inference/request',
      requestMsg(digit(3).bytes, { maxFeeWei: 2n * PRICE }),
    );
    const id = requestIdOf(r.events);
    const start = f.tc.head.height;
    const first = eventsOf(r.events, 'assigned')[0]!.provider;
    const events = await advanceTo(f.tc, start + 4n);
    const slashed = eventsOf(events, 'slashed');
    const cut = (1_000n * CGPT * 100n) / 10_000n;
    assert.deepEqual(slashed, [
      { provider: first, amountWei: cut.toString(), reason: `missed the deadline of request ${id} slot 0` },
    ]);
    const second = eventsOf(events, 'assigned')[0]!;
    assert.notEqual(second.provider.toLowerCase(), first.toLowerCase());
    assert.equal(second.deadline, (start + 8n).toString());
    let q = await getReq(f.tc, id);
    assert.equal(q.slots[0]!.attempts, 2);
    assert.equal(q.status, 'assigned');
    const pj = await providerOf(f, first as Address);
    assert.equal(pj.stakeWei, (1_000n * CGPT - cut).toString());
    assert.equal(pj.openJobs, 0);
    assert.equal(pj.faults, '1');
    // Two more misses: the third provider, then failure.
    const more = await advanceTo(f.tc, start + 12n);
    assert.equal(eventsOf(more, 'slashed').length, 2);
    assert.equal(eventsOf(more, 'assigned').length, 1);
    q = await getReq(f.tc, id);
    assert.equal(q.status, 'failed');
    assert.match(q.reason, /slot 0: deadline missed; 3 attempts exhausted/);
    assert.equal(q.fees.refundWei, (2n * PRICE).toString());
    assert.deepEqual(eventsOf(more, 'refunded'), [{ id: id.toString(), amountWei: (2n * PRICE).toString() }]);
    assert.equal(await balance(f.tc, f.requester.address), reqBefore);
    assert.equal(new Set(q.tried.map((x) => x.toLowerCase())).size, 3);
    assert.equal(await getSupply(f.tc.state), supply - 3n * cut);
    assert.equal(await balance(f.tc, INFERENCE_ACCOUNT), 3n * (1_000n * CGPT - cut));
    for (const a of p) assert.equal((await providerOf(f, a)).openJobs, 0);
  });

  it('a slot left without a provider waits, is picked up when one appears, else fails alone', async () => {
    // Every provider was slashed below the minimum above; a2 tops up and is the only one eligible.
    await ok(f.tc, f.a[2]!, 'inference/addStake', { amountWei: 10n * CGPT });
    const before = await balance(f.tc, f.requester.address);
    const r = await block(f.tc, [
      { from: f.requester, type: 'inference/request', msg: requestMsg(digit(4).bytes) },
      { from: f.requester, type: 'inference/request', msg: requestMsg(digit(5).bytes) },
    ]);
    const [waiting, expiring] = eventsOf(r.events, 'status')
      .filter((e) => e.status === 'pending')
      .map((e) => BigInt(e.id!));
    assert.deepEqual(
      eventsOf(r.events, 'assigned').map((e) => e.provider!.toLowerCase()),
      [p[0]!.toLowerCase(), p[0]!.toLowerCase()],
    );
    const h = f.tc.head.height;
    // a2 misses both deadlines: slashed twice (1% of 1000, then 1% of 990), nobody else is
    // eligible, so both slots wait in the pending queue.
    const miss = await advanceTo(f.tc, h + 4n);
    assert.deepEqual(
      eventsOf(miss, 'slashed').map((e) => e.amountWei),
      [(10n * CGPT).toString(), ((990n * CGPT) / 100n).toString()],
    );
    for (const id of [waiting!, expiring!]) {
      const q = await getReq(f.tc, id);
      assert.deepEqual([q.status, q.slots[0]!.status, q.slots[0]!.attempts], ['pending', 'pending', 1]);
    }
    // a3 tops up with room for one job: the older slot gets it in that block's end block; the
    // other finds no candidate (the block's assignment budget is not spent on it) and waits.
    const back = await block(f.tc, [
      { from: f.a[3]!, type: 'inference/addStake', msg: { amountWei: 10n * CGPT } },
      {
        from: f.a[3]!,
        type: 'inference/updateProvider',
        msg: { capacity: 1, tiers: 6, models: [], endpoint: '' },
      },
    ]);
    assert.ok(back.receipts.every((x) => x.code === 0));
    assert.deepEqual(
      eventsOf(back.events, 'assigned').map((e) => [e.id, e.provider!.toLowerCase()]),
      [[waiting!.toString(), p[1]!.toLowerCase()]],
    );
    assert.equal((await getReq(f.tc, waiting!)).status, 'assigned');
    // The other slot found no provider within queueTimeoutBlocks: it fails alone, and as the
    // request's only slot it ends the request (nothing paid: failed, full refund).
    const events = await advanceTo(f.tc, h + 8n);
    const reason = 'no provider took slot 0 within 4 blocks (queueTimeoutBlocks)';
    assert.deepEqual(eventsOf(events, 'slotFailed'), [{ id: expiring!.toString(), slot: '0', reason }]);
    const q = await getReq(f.tc, expiring!);
    assert.equal(q.status, 'failed');
    assert.equal(q.reason, reason);
    assert.deepEqual(eventsOf(events, 'refunded'), [
      { id: expiring!.toString(), amountWei: PRICE.toString() },
    ]);
    assert.equal(await balance(f.tc, f.requester.address), before - PRICE);
    // a2's work on both slots ended with the slash: nothing open is left on it.
    const a2 = await query<{ openJobs: number; openWork: number }>(f.tc, 'inference/provider', {
      address: p[0]!,
    });
    assert.deepEqual([a2.openJobs, a2.openWork], [0, 0]);
  });

  it('unbonding leaves the stake slashable and releases it after providerUnbondingBlocks', async () => {
    const a = f.a[4]!; // no open work (a3 holds a job from the test above)
    const before = await providerOf(f, a.address);
    const bal = await balance(f.tc, a.address);
    await fails(
      f.tc,
      a,
      'inference/unbond',
      { amountWei: BigInt(before.stakeWei) + 1n },
      /exceeds the bonded stake/,
    );
    await ok(f.tc, a, 'inference/unbond', { amountWei: 100n * CGPT });
    const at = f.tc.head.height;
    let pj = await providerOf(f, a.address);
    assert.equal(BigInt(pj.stakeWei), BigInt(before.stakeWei) - 100n * CGPT);
    assert.equal(pj.unbondingWei, (100n * CGPT).toString());
    await advanceTo(f.tc, at + 4n);
    assert.equal(await balance(f.tc, a.address), bal);
    const ev = await advanceTo(f.tc, at + 5n);
    assert.deepEqual(eventsOf(ev, 'unbonded'), [
      { provider: a.address, amountWei: (100n * CGPT).toString() },
    ]);
    assert.equal(await balance(f.tc, a.address), bal + 100n * CGPT);
    pj = await providerOf(f, a.address);
    assert.equal(pj.unbondingWei, '0');
    // Below the minimum: no new jobs.
    assert.equal(
      (await query<{ eligible: boolean }>(f.tc, 'inference/provider', { address: a.address })).eligible,
      false,
    );
  });

  it('a second node replays every block to the same roots', async () => {
    await replayOnSecondNode(f.tc, { tiers: 5 });
  });
});

describe('inference: end-block items fail alone', () => {
  let f: Fixture;
  before(async () => {
    f = await setupChain({ tiers: 5 });
    withRawWrites(f.tc);
    f.tc.checkInvariants = false;
    await block(f.tc, registerTxs(f, [2, 3, 4]));
  });
  after(() => f.tc.close());

  it('a typed failure in one due item is undone and reported; the other items of the block go on', async () => {
    const r = await block(f.tc, [
      { from: f.requester, type: 'inference/request', msg: requestMsg(digit(3).bytes) },
      { from: f.requester, type: 'inference/request', msg: requestMsg(digit(4).bytes) },
    ]);
    const [first, second] = eventsOf(r.events, 'assigned');
    const ids = [BigInt(first!.id!), BigInt(second!.id!)];
    const deadline = BigInt(first!.deadline!);
    assert.equal(second!.deadline, first!.deadline);
    // The inference account can pay for one missed-deadline burn, not two.
    const cut = (1_000n * CGPT * 100n) / 10_000n;
    const held = await balance(f.tc, INFERENCE_ACCOUNT);
    await advanceTo(f.tc, deadline - 2n);
    const supply = await getSupply(f.tc.state);
    const corrupt = await block(f.tc, [
      {
        from: f.owner,
        type: 'raw/write',
        msg: { key: balanceKey(INFERENCE_ACCOUNT), value: bigintToBytes(2n * cut - 1n) },
      },
      {
        from: f.owner,
        type: 'raw/write',
        msg: { key: utf8ToBytes('bank/supply'), value: bigintToBytes(supply - held + 2n * cut - 1n) },
      },
    ]);
    assert.deepEqual(
      corrupt.receipts.map((x) => x.code),
      [0, 0],
    );
    assert.equal(f.tc.head.height, deadline - 1n);
    const events = await advanceTo(f.tc, deadline);
    // The first deadline was processed: its provider slashed and burned, the slot reassigned.
    assert.equal(eventsOf(events, 'slashed').length, 1);
    assert.equal((await getReq(f.tc, ids[0]!)).slots[0]!.attempts, 2);
    // The second could not burn: undone on its own, with the code of the failure.
    assert.deepEqual(eventsOf(events, 'itemFailed'), [
      { kind: '1', id: ids[1]!.toString(), slot: '0', code: String(ERR.INSUFFICIENT_FUNDS) },
    ]);
    const q = await getReq(f.tc, ids[1]!);
    assert.equal(q.slots[0]!.attempts, 1);
    assert.equal(q.status, 'assigned');
    assert.equal(await balance(f.tc, INFERENCE_ACCOUNT), cut - 1n);
    assert.deepEqual(
      events.filter((e) => e.module === 'chain'),
      [],
      'no hook failed as a whole',
    );
  });
});

describe('inference: slashing reaches unbonding stake', () => {
  let f: Fixture;
  before(async () => {
    f = await setupChain({ tiers: 5, inference: { missedDeadlineSlashBps: 7500 } });
  });
  after(() => f.tc.close());

  it('a cut larger than the bonded stake takes from unbonding entries; an empty provider is removed', async () => {
    const a = f.a[2]!;
    await ok(f.tc, a, 'inference/registerProvider', registerMsg({ stakeWei: 2_000n * CGPT }));
    const bal = await balance(f.tc, a.address);
    const r = await ok(f.tc, f.requester, 'inference/request', requestMsg(digit(0).bytes));
    const id = requestIdOf(r.events);
    const h = f.tc.head.height;
    await ok(f.tc, a, 'inference/unbond', { amountWei: 1_000n * CGPT }); // released at h + 6
    const miss = await advanceTo(f.tc, h + 4n);
    // 75% of bonded (1000) + unbonding (1000): all the bonded stake and 500 of the unbonding.
    assert.equal(eventsOf(miss, 'slashed')[0]!.amountWei, (1_500n * CGPT).toString());
    const pj = await providerOf(f, a.address);
    assert.deepEqual([pj.stakeWei, pj.unbondingWei], ['0', (500n * CGPT).toString()]);
    assert.equal((await getReq(f.tc, id)).status, 'pending'); // nobody else to take it
    const rel = await advanceTo(f.tc, h + 6n);
    assert.deepEqual(eventsOf(rel, 'unbonded'), [
      { provider: a.address, amountWei: (500n * CGPT).toString() },
    ]);
    assert.equal(await balance(f.tc, a.address), bal + 500n * CGPT);
    assert.deepEqual(await query(f.tc, 'inference/providers', {}), []);
    await advanceTo(f.tc, h + 8n);
    const q = await getReq(f.tc, id);
    assert.equal(q.status, 'failed');
    assert.equal(await balance(f.tc, INFERENCE_ACCOUNT), 0n);
  });
});

describe('inference: a model shown faulty stops its requests', () => {
  let f: Fixture;
  before(async () => {
    f = await setupChain({
      tiers: 5,
      inference: { resultDeadlineBlocks: '50', challengeWindowBlocks: '50' },
      app: { gov: { params: { votingPeriodMs: '60000', maxDepositPeriodMs: '60000' } } },
    });
  });
  after(() => f.tc.close());

  it('computed and assigned slots are not paid; the requests fail with a full refund', async () => {
    const a = f.a[2]!;
    await ok(f.tc, a, 'inference/registerProvider', registerMsg({ tiers: 4 }));
    const before = await balance(f.tc, f.requester.address);
    const r = await block(f.tc, [
      { from: f.requester, type: 'inference/request', msg: requestMsg(digit(0).bytes) },
      { from: f.requester, type: 'inference/request', msg: requestMsg(digit(1).bytes) },
    ]);
    const [id1, id2] = eventsOf(r.events, 'status')
      .filter((e) => e.status === 'pending')
      .map((e) => BigInt(e.id!));
    // An honest result for request 1.
    await ok(f.tc, a, 'inference/submitResult', resultMsg(id1, honest(digit(0).bytes, a)));
    await ok(f.tc, f.requester, 'gov/submitProposal', faultProposal('wrong digits'));
    await ok(f.tc, f.tc.validators[0]!.operator, 'gov/vote', { proposalId: 1n, option: 'yes' });
    await block(f.tc, [], { timeStepMs: 61_000n });
    const m = await query<{ status: string }>(f.tc, 'models/model', { id: MODEL_ID });
    assert.equal(m.status, 'faulty');
    // The assigned provider answers: the transaction succeeds, the request fails.
    const res = await ok(f.tc, a, 'inference/submitResult', {
      requestId: id2,
      output: run(digit(1).bytes).bytes,
      layerRoot: new Uint8Array(32),
      inputProof: [],
      outputProof: [],
    });
    assert.deepEqual(
      eventsOf(res.events, 'status').map((e) => [e.status, e.reason]),
      [['failed', `model ${MODEL_ID} is faulty`]],
    );
    // The computed slot's window closes: failed, not paid.
    const events = await advanceTo(f.tc, BigInt((await getReq(f.tc, id1)).slots[0]!.computedAt) + 50n);
    assert.equal(eventsOf(events, 'paid').length, 0);
    assert.equal((await getReq(f.tc, id1)).status, 'failed');
    assert.equal(await balance(f.tc, f.requester.address), before);
    assert.equal(await balance(f.tc, INFERENCE_ACCOUNT), 1_000n * CGPT);
    assert.equal((await providerOf(f, a.address)).openJobs, 0);
  });
});

describe('inference: params', () => {
  it('validates bounds and the fee shares summing to 10000', () => {
    const d = inferenceParams.defaults;
    inferenceParams.validate(d);
    assert.throws(() => inferenceParams.validate({ ...d, ownerShareBps: 5000 }), /must be 10000/);
    assert.throws(
      () => inferenceParams.validate({ ...d, maxRedundancy: 17 }),
      /maxRedundancy must be within 1\.\.16/,
    );
    assert.throws(
      () => inferenceParams.validate({ ...d, maxAttempts: 0 }),
      /maxAttempts must be within 1\.\.10/,
    );
    assert.throws(
      () => inferenceParams.validate({ ...d, resultDeadlineBlocks: 0n }),
      /resultDeadlineBlocks must be within 1/,
    );
    assert.throws(
      () => inferenceParams.validate({ ...d, faultSlashBps: 10_001 }),
      /faultSlashBps must be within 0\.\.10000/,
    );
  });
});
