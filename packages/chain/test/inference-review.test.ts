// Regression tests of the security review of the models and inference modules: a dispute the
// provider wins reopens a full challenge window (F1), stake stays slashable while a provider has
// open work (F2), price floor and inference/decline (F3), per-slot failure and disputes that run
// to their end (F4), end-block assignment budget and the per-requester cap (F10), one-step
// sizing of optimistic models (F7), reviewer releases held during a modelFault vote (F8) and the
// full int32 output range (F14).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bytesToHex } from '@aivm/crypto';
import {
  decodeArtifact,
  encodeArtifact,
  encodeOutput,
  encodeTensor,
  modelId,
  type QuantModel,
} from '@aivm/runtime';
import { outputTensor } from '../src/modules/inference/tensors.ts';
import { largestStepTensor } from '../src/modules/models/handlers.ts';
import {
  accountOf,
  advanceTo,
  artifact,
  BOND,
  balance,
  block,
  CGPT,
  challengeMsg,
  type DisputeJson,
  digit,
  eventsOf,
  type Fixture,
  fails,
  faultProposal,
  getReq,
  hex,
  honest,
  MIN_PRICE,
  MODEL_ID,
  model,
  newRequest,
  ok,
  optimisticChain,
  PRICE,
  perturbed,
  providerOf,
  query,
  replayOnSecondNode,
  requestIdOf,
  requestMsg,
  resultMsg,
  revealMsg,
  STAKE,
  setupChain,
  slotSplit,
  ZERO,
} from './inference-helpers.ts';

const FAULT_CUT = STAKE / 10n; // faultSlashBps 1000

describe('F1: a dispute the provider wins reopens a full challenge window', () => {
  let f: Fixture;
  before(async () => {
    f = await optimisticChain([2, 3, 4]);
  });
  after(() => f.tc.close());

  it("a sybil's deliberately lost challenge cannot run out the window: the honest challenge still lands", async () => {
    const x = digit(10);
    const { id, provider: cheat } = await newRequest(f, x.bytes);
    const lie = perturbed(x.bytes, 1, cheat);
    const truth = honest(x.bytes, cheat);
    const sybil = f.a[8]!;
    const honestChallenger = f.a[9]!;
    const cheatBal = await balance(f.tc, cheat.address);
    const sybilBal = await balance(f.tc, sybil.address);
    const honestBal = await balance(f.tc, honestChallenger.address);

    await ok(f.tc, cheat, 'inference/submitResult', resultMsg(id, lie));
    const computedAt = f.tc.head.height; // window: computedAt .. computedAt + 3
    await ok(f.tc, sybil, 'inference/challenge', challengeMsg(id, perturbed(x.bytes, 2, cheat)));
    // One dispute per slot at a time: the honest challenge is refused while the sybil's is open.
    await fails(
      f.tc,
      honestChallenger,
      'inference/challenge',
      challengeMsg(id, truth),
      new RegExp(`^slot 0 of request ${id} is challenged; only a computed result can be challenged$`),
    );
    // Nobody reveals: at the step deadline (= the old window end) the challenger loses.
    const d = (await getReq(f.tc, id)).slots[0]!.dispute as DisputeJson;
    assert.equal(BigInt(d.deadline), computedAt + 3n);
    const ev = await advanceTo(f.tc, BigInt(d.deadline));
    assert.deepEqual(eventsOf(ev, 'disputeResolved'), [
      { id: id.toString(), slot: '0', winner: cheat.address, loser: sybil.address },
    ]);
    assert.equal(eventsOf(ev, 'paid').length, 0);
    // A fresh window of challengeWindowBlocks from the resolution height.
    let q = await getReq(f.tc, id);
    assert.deepEqual([q.status, q.slots[0]!.computedAt], ['computed', d.deadline]);

    // The honest challenger now wins: the provider stalls and loses by timeout.
    await ok(f.tc, honestChallenger, 'inference/challenge', challengeMsg(id, truth));
    await ok(f.tc, honestChallenger, 'inference/reveal', revealMsg(id, truth, 1));
    const d2 = (await getReq(f.tc, id)).slots[0]!.dispute as DisputeJson;
    const ev2 = await advanceTo(f.tc, BigInt(d2.deadline));
    assert.deepEqual(eventsOf(ev2, 'disputeResolved'), [
      { id: id.toString(), slot: '0', winner: honestChallenger.address, loser: cheat.address },
    ]);
    assert.deepEqual(eventsOf(ev2, 'slashed'), [
      {
        provider: cheat.address,
        amountWei: FAULT_CUT.toString(),
        reason: `lost the dispute on request ${id} slot 0`,
      },
    ]);
    q = await getReq(f.tc, id);
    assert.equal(q.status, 'assigned'); // reassigned to another provider
    assert.equal(q.slots[0]!.attempts, 2);
    assert.notEqual(q.slots[0]!.provider.toLowerCase(), cheat.address.toLowerCase());
    assert.equal(q.fees.providerWei, '0');
    // Exact accounts: the sybil lost its bond (half to the cheat, half burned); the honest
    // challenger got its bond back and half the cut; the cheat lost FAULT_CUT of its stake.
    assert.equal(await balance(f.tc, sybil.address), sybilBal - BOND);
    assert.equal(await balance(f.tc, cheat.address), cheatBal + BOND / 2n);
    assert.equal(await balance(f.tc, honestChallenger.address), honestBal + FAULT_CUT / 2n);
    const pj = await providerOf(f, cheat.address);
    assert.deepEqual([pj.stakeWei, pj.openJobs, pj.openWork], [(STAKE - FAULT_CUT).toString(), 0, 0]);
  });
});

describe('F2: stake stays slashable while the provider has open work', () => {
  let f: Fixture;
  before(async () => {
    f = await optimisticChain([2, 3, 4]);
  });
  after(() => f.tc.close());

  it('a provider that unbonds everything right after a wrong result is still slashed exactly', async () => {
    const x = digit(11);
    const { id, provider: cheat } = await newRequest(f, x.bytes);
    const challenger = f.a[9]!;
    const lie = perturbed(x.bytes, 1, cheat);
    const truth = honest(x.bytes, cheat);
    const startBal = await balance(f.tc, cheat.address);
    // Unbond the whole stake and answer wrongly in the same block.
    const b = await block(f.tc, [
      { from: cheat, type: 'inference/unbond', msg: { amountWei: STAKE } },
      { from: cheat, type: 'inference/submitResult', msg: resultMsg(id, lie) },
    ]);
    assert.ok(
      b.receipts.every((x) => x.code === 0),
      b.receipts.map((x) => x.error).join('; '),
    );
    const releaseAt = f.tc.head.height + 5n; // providerUnbondingBlocks
    await ok(f.tc, challenger, 'inference/challenge', challengeMsg(id, truth));
    // Each bisection step: the challenger reveals at once, the provider at the step deadline.
    for (;;) {
      const d = (await getReq(f.tc, id)).slots[0]!.dispute as DisputeJson;
      if (d.phase === 'oneStep') break;
      const mid = Math.floor((d.lo + d.hi) / 2);
      await ok(f.tc, challenger, 'inference/reveal', revealMsg(id, truth, mid));
      await advanceTo(f.tc, BigInt(d.deadline) - 1n);
      await ok(f.tc, cheat, 'inference/reveal', revealMsg(id, lie, mid));
    }
    // The unbonding matured during the dispute but is held: nothing paid, record kept.
    assert.ok(f.tc.head.height >= releaseAt);
    assert.equal(await balance(f.tc, cheat.address), startBal);
    let pj = await providerOf(f, cheat.address);
    assert.deepEqual([pj.stakeWei, pj.unbondingWei, pj.openJobs, pj.openWork], ['0', STAKE.toString(), 0, 1]);
    const chBefore = await balance(f.tc, challenger.address);
    const d = (await getReq(f.tc, id)).slots[0]!.dispute as DisputeJson;
    const res = await ok(f.tc, challenger, 'inference/oneStep', {
      requestId: id,
      slot: 0,
      tensor: encodeTensor(truth.tensors[d.lo]!),
    });
    assert.equal(eventsOf(res.events, 'disputeResolved')[0]?.winner, challenger.address);
    // 10% of bonded (0) + unbonding (STAKE), taken from the unbonding entry; then the work is
    // over and the rest is released in the same transaction; the empty record is removed.
    assert.deepEqual(eventsOf(res.events, 'slashed'), [
      {
        provider: cheat.address,
        amountWei: FAULT_CUT.toString(),
        reason: `lost the dispute on request ${id} slot 0`,
      },
    ]);
    assert.deepEqual(eventsOf(res.events, 'unbonded'), [
      { provider: cheat.address, amountWei: (STAKE - FAULT_CUT).toString() },
    ]);
    assert.equal(await balance(f.tc, cheat.address), startBal + STAKE - FAULT_CUT);
    assert.equal(await balance(f.tc, challenger.address), chBefore + BOND + FAULT_CUT / 2n);
    await assert.rejects(providerOf(f, cheat.address), /is not a registered provider/);
    pj = await providerOf(f, (await getReq(f.tc, id)).slots[0]!.provider);
    assert.deepEqual([pj.openJobs, pj.openWork], [1, 1]); // the new provider of the slot
  });

  it('a second node replays every block to the same roots', async () => {
    await replayOnSecondNode(f.tc, { tiers: 5 });
  });
});

describe('F3: price floor and inference/decline', () => {
  let f: Fixture;
  before(async () => {
    f = await optimisticChain([2, 3, 4]);
  });
  after(() => f.tc.close());

  it('declining gives the slot back without a slash; the slot is reassigned to someone else', async () => {
    const { id, provider: first } = await newRequest(f, digit(14).bytes);
    const firstBefore = await providerOf(f, first.address);
    const other = f.a.slice(2, 5).find((a) => a.address !== first.address)!;
    await fails(f.tc, other, 'inference/decline', { requestId: id }, /holds no assigned slot of request/);
    const d = await ok(f.tc, first, 'inference/decline', { requestId: id });
    assert.deepEqual(eventsOf(d.events, 'declined'), [
      { id: id.toString(), slot: '0', provider: first.address },
    ]);
    assert.equal(eventsOf(d.events, 'slashed').length, 0);
    const second = eventsOf(d.events, 'assigned')[0]!;
    assert.notEqual(second.provider!.toLowerCase(), first.address.toLowerCase());
    const q = await getReq(f.tc, id);
    assert.deepEqual([q.status, q.slots[0]!.attempts], ['assigned', 2]);
    const after = await providerOf(f, first.address);
    assert.equal(after.stakeWei, firstBefore.stakeWei);
    assert.deepEqual([after.openJobs, after.openWork], [firstBefore.openJobs - 1, firstBefore.openWork - 1]);
    // Declined providers are never drawn for the request again: after every provider declined,
    // the slot's attempts are used up and it fails alone (the request: failed, full refund).
    const before = await balance(f.tc, f.requester.address);
    const s = await ok(f.tc, accountOf(f, second.provider!), 'inference/decline', { requestId: id });
    const third = accountOf(f, eventsOf(s.events, 'assigned')[0]!.provider!);
    assert.equal(
      new Set([first.address, second.provider, third.address].map((a) => a!.toLowerCase())).size,
      3,
    );
    const t = await ok(f.tc, third, 'inference/decline', { requestId: id });
    assert.equal(eventsOf(t.events, 'slashed').length, 0);
    const done = await getReq(f.tc, id);
    assert.equal(done.status, 'failed');
    assert.equal(done.reason, 'slot 0: declined by the provider; 3 attempts exhausted');
    assert.equal(done.fees.refundWei, PRICE.toString());
    assert.equal(await balance(f.tc, f.requester.address), before + PRICE);
    await fails(f.tc, third, 'inference/decline', { requestId: id }, new RegExp(`request ${id} is failed`));
  });

  it('a decline after the deadline is refused (the missed deadline is slashed as before)', async () => {
    const { id, provider: p } = await newRequest(f, digit(15).bytes);
    const deadline = BigInt((await getReq(f.tc, id)).slots[0]!.deadline);
    const miss = await advanceTo(f.tc, deadline);
    assert.equal(eventsOf(miss, 'slashed')[0]!.provider, p.address);
    await fails(f.tc, p, 'inference/decline', { requestId: id }, /holds no assigned slot/);
  });
  it('a model offering the optimistic tier is priced at least minPriceWei (its gas floor is lower)', async () => {
    const params = await query<{ minPriceWei: string; maxPendingPerRequester: number }>(
      f.tc,
      'inference/params',
      {},
    );
    assert.deepEqual([params.minPriceWei, params.maxPendingPerRequester], [MIN_PRICE.toString(), 64]);
    // The MNIST MLP's gas floor (226,686 gas x 10^9 wei) is below minPriceWei, which decides.
    const m = await query<{ gasEstimate: string }>(f.tc, 'models/model', { id: MODEL_ID });
    assert.ok(BigInt(m.gasEstimate) * 10n ** 9n < MIN_PRICE);
    for (const priceWei of [0n, MIN_PRICE - 1n])
      await fails(
        f.tc,
        f.owner,
        'models/setPrice',
        { id: MODEL_ID, priceWei },
        new RegExp(
          `^price ${priceWei} wei of model ${MODEL_ID} is below the optimistic tier's floor of ${MIN_PRICE} wei \\(minPriceWei\\)$`,
        ),
      );
    await ok(f.tc, f.owner, 'models/setPrice', { id: MODEL_ID, priceWei: MIN_PRICE });
    const { id, provider: p } = await newRequest(f, digit(13).bytes, { maxFeeWei: MIN_PRICE });
    // Given back at once: no slash.
    const d = await ok(f.tc, p, 'inference/decline', { requestId: id });
    assert.equal(eventsOf(d.events, 'slashed').length, 0);
    await ok(f.tc, f.owner, 'models/setPrice', { id: MODEL_ID, priceWei: PRICE });
  });
});

describe('F4: slots fail alone, disputes run to their end, paid slots finalize the request', () => {
  let f: Fixture;
  before(async () => {
    f = await optimisticChain([2, 3, 4], { inference: { maxAttempts: 1 } });
  });
  after(() => f.tc.close());

  it("a failed slot neither voids the other slots' disputes nor their pay", async () => {
    const x = digit(21);
    const sybil = f.a[9]!;
    const reqBal = await balance(f.tc, f.requester.address);
    const sybBal = await balance(f.tc, sybil.address);
    const r = await ok(
      f.tc,
      f.requester,
      'inference/request',
      requestMsg(x.bytes, { redundancy: 3, maxFeeWei: 3n * PRICE }),
    );
    const id = requestIdOf(r.events);
    const h = f.tc.head.height;
    const assigned = eventsOf(r.events, 'assigned');
    const [p0, p1, idle] = assigned.map((e) => accountOf(f, e.provider!));
    const balances = await Promise.all([p0!, p1!].map((p) => balance(f.tc, p.address)));
    // Each slot's leaves are salted with its own provider's address.
    const [l0, l1] = [honest(x.bytes, p0!), honest(x.bytes, p1!)];
    // Slots 0 and 1 answer honestly; slot 2's provider never answers.
    await block(f.tc, [
      { from: p0!, type: 'inference/submitResult', msg: resultMsg(id, l0) },
      { from: p1!, type: 'inference/submitResult', msg: resultMsg(id, l1) },
    ]);
    // The requester's sybil challenges both honest results and then goes silent.
    await block(f.tc, [
      {
        from: sybil,
        type: 'inference/challenge',
        msg: challengeMsg(id, perturbed(x.bytes, 1, p0!), { slot: 0 }),
      },
      {
        from: sybil,
        type: 'inference/challenge',
        msg: challengeMsg(id, perturbed(x.bytes, 1, p1!), { slot: 1 }),
      },
    ]);
    // Height h + 4: slot 2's deadline (maxAttempts 1: it fails alone) and both dispute timeouts.
    const ev = await advanceTo(f.tc, h + 4n);
    assert.deepEqual(eventsOf(ev, 'slotFailed'), [
      { id: id.toString(), slot: '2', reason: 'slot 2: deadline missed; 1 attempts exhausted' },
    ]);
    assert.equal(eventsOf(ev, 'slashed')[0]!.provider, idle!.address);
    assert.deepEqual(
      eventsOf(ev, 'disputeResolved').map((e) => [e.slot, e.winner]),
      [
        ['0', p0!.address],
        ['1', p1!.address],
      ],
    );
    assert.equal(eventsOf(ev, 'refunded').length, 0); // nothing refunded early
    let q = await getReq(f.tc, id);
    assert.equal(q.status, 'computed');
    assert.deepEqual(
      q.slots.map((s) => [s.status, s.computedAt]),
      [
        ['computed', (h + 4n).toString()],
        ['computed', (h + 4n).toString()],
        ['failed', '0'],
      ],
    );
    // The fresh windows close: both slots paid, the request finalized with slot 2's share refunded.
    const end = await advanceTo(f.tc, h + 7n);
    assert.equal(eventsOf(end, 'paid').length, 2);
    assert.deepEqual(eventsOf(end, 'refunded'), [{ id: id.toString(), amountWei: PRICE.toString() }]);
    q = await getReq(f.tc, id);
    assert.equal(q.status, 'finalized');
    assert.equal(q.reason, '2 of 3 slots paid');
    assert.equal(q.output, hex(l0.output));
    // Each paid slot's provider gets the floor (minPriceWei) and its share of the rest.
    const providerShare = slotSplit(PRICE, MIN_PRICE).provider;
    assert.equal(q.fees.providerWei, (2n * providerShare).toString());
    assert.equal(q.fees.refundWei, PRICE.toString());
    assert.equal(await balance(f.tc, f.requester.address), reqBal - 2n * PRICE);
    assert.equal(await balance(f.tc, sybil.address), sybBal - 2n * BOND);
    for (const [i, p] of [p0!, p1!].entries())
      assert.equal(await balance(f.tc, p.address), balances[i]! + BOND / 2n + providerShare);
  });
});

describe('F10: end-block assignment budget and the per-requester cap', () => {
  let f: Fixture;
  before(async () => {
    f = await optimisticChain(
      [2, 3, 4],
      { inference: { maxAssignPerBlock: 1, maxPendingPerRequester: 3 } },
      { capacity: 1 },
    );
  });
  after(() => f.tc.close());

  it('a slot without candidates does not use the block budget; a requester holds at most maxPendingPerRequester open slots', async () => {
    const r = await block(f.tc, [
      {
        from: f.requester,
        type: 'inference/request',
        msg: requestMsg(digit(30).bytes, { redundancy: 2, maxFeeWei: 2n * PRICE }),
      },
      { from: f.requester, type: 'inference/request', msg: requestMsg(digit(31).bytes) },
    ]);
    assert.ok(r.receipts.every((x) => x.code === 0));
    const [id1, id2] = eventsOf(r.events, 'status')
      .filter((e) => e.status === 'pending')
      .map((e) => BigInt(e.id!));
    const h = f.tc.head.height;
    // 3 open slots: the cap.
    await fails(
      f.tc,
      f.requester,
      'inference/request',
      requestMsg(digit(32).bytes),
      /already has 3 open slots; at most 3 \(maxPendingPerRequester\)$/,
    );
    // Everybody misses at h + 4. Request 1's slots find nobody (both other providers tried, the
    // third still busy with request 2) and must not use the budget of 1, which request 2's slot,
    // handled after them, needs.
    const ev = await advanceTo(f.tc, h + 4n);
    assert.equal(eventsOf(ev, 'slashed').length, 3);
    assert.deepEqual(
      eventsOf(ev, 'assigned').map((e) => e.id),
      [id2!.toString()],
    );
    assert.deepEqual(
      (await getReq(f.tc, id1!)).slots.map((s) => s.status),
      ['pending', 'pending'],
    );
    // Next block: one assignment per block, oldest first.
    const next = await block(f.tc);
    assert.deepEqual(
      eventsOf(next.events, 'assigned').map((e) => [e.id, e.slot]),
      [[id1!.toString(), '0']],
    );
  });
});

describe('F7: optimistic models must fit a one-step in one transaction', () => {
  it('sizes the largest one-step tensor from the artifact (leaves 0..n-1 at batch 1)', () => {
    // The MLP's largest node input is its [1,784] int8 input.
    assert.deepEqual(largestStepTensor(model, 61_440), {
      bytes: encodeTensor({ dtype: 'int8', shape: [1, 784], data: new Int8Array(784) }).length,
      value: 'input',
    });
    assert.equal(largestStepTensor(model, 61_440).bytes, 800);
    // The output of the last node is never sent (it is the output leaf).
    const wide: QuantModel = {
      ...model,
      values: model.values.map((v) => (v.name === 'fc1_out' ? { ...v, shape: ['N', 70_000] } : v)),
    };
    assert.deepEqual(largestStepTensor(wide, 61_440), { bytes: 70_000, value: 'fc1_out' });
    const wideOut: QuantModel = {
      ...model,
      values: model.values.map((v) => (v.name === 'logits' ? { ...v, shape: ['N', 70_000] } : v)),
    };
    assert.equal(largestStepTensor(wideOut, 61_440).bytes, 800);
  });

  it('refuses an optimistic model whose one-step tensor exceeds 60 KiB', async () => {
    const wide = encodeArtifact({
      ...model,
      values: model.values.map((v) => (v.name === 'relu1_out' ? { ...v, shape: ['N', 70_000] } : v)),
    });
    // The artifact still decodes (value shapes are declarations); the bound refuses it.
    assert.equal(decodeArtifact(wide).values.find((v) => v.name === 'relu1_out')!.shape[1], 70_000);
    const entry = (tiers: number) => ({
      id: modelId(wide),
      owner: ZERO.replace(/0$/, '1'),
      name: 'wide',
      inputSchema: '[1,784]',
      outputSchema: '[1,10]',
      priceWei: PRICE.toString(),
      tiers,
      artifact: bytesToHex(wide),
    });
    await assert.rejects(
      setupChain({ extraModels: [entry(4)] }),
      /the optimistic tier needs every one-step tensor within 61440 bytes; "relu1_out" takes 70000/,
    );
  });

  it('refuses an optimistic model whose one-step gas exceeds auth maxTxGas (estimate + artifact read + margin)', async () => {
    // MLP: estimate 226,686 + artifact read 104,521 + margin 1,000,000 = 1,331,207.
    assert.equal(artifact.length, 103_921);
    await assert.rejects(
      setupChain({ auth: { maxTxGas: '1331206' } }),
      /the optimistic tier's one-step needs up to 1331207 gas \(estimate 226686 \+ artifact read \+ 1000000\), above auth maxTxGas 1331206/,
    );
    const ok1 = await setupChain({ auth: { maxTxGas: '1331207' } });
    await ok1.tc.close();
    // The on-chain tier alone is not bound by it.
    const onchain = await setupChain({ tiers: 1, auth: { maxTxGas: '1331206' } });
    await onchain.tc.close();
  });
});

describe('F8: reviewers cannot escape a modelFault slash by unreviewing during the vote', () => {
  let f: Fixture;
  const reviewer = () => f.a[5]!;
  before(async () => {
    f = await setupChain({
      tiers: 5,
      models: { reviewUnbondingBlocks: '2' },
      app: { gov: { params: { votingPeriodMs: '60000', maxDepositPeriodMs: '60000' } } },
    });
  });
  after(() => f.tc.close());

  const proposal = faultProposal('wrong digits');
  const modelQ = () =>
    query<{ status: string; faultProposalsOpen: number }>(f.tc, 'models/model', { id: MODEL_ID });
  const reviewQ = () =>
    query<{ stakeWei: string; unbonding: { amountWei: string }[] }>(f.tc, 'models/review', {
      id: MODEL_ID,
      reviewer: reviewer().address,
    });

  it('the release is postponed while the proposal is open and the unbonding stake is slashed', async () => {
    await ok(f.tc, reviewer(), 'models/review', { id: MODEL_ID, stakeWei: 100n * CGPT, rating: 5 });
    await ok(f.tc, f.requester, 'gov/submitProposal', proposal);
    assert.equal((await modelQ()).faultProposalsOpen, 1);
    const bal = await balance(f.tc, reviewer().address);
    await ok(f.tc, reviewer(), 'models/unreview', { id: MODEL_ID, amountWei: 100n * CGPT });
    const release = f.tc.head.height + 2n;
    await advanceTo(f.tc, release + 2n);
    // Matured, but held: nothing paid, the entry is still there (and slashable).
    assert.equal(await balance(f.tc, reviewer().address), bal);
    assert.deepEqual(
      (await reviewQ()).unbonding.map((u) => u.amountWei),
      [(100n * CGPT).toString()],
    );
    await ok(f.tc, f.tc.validators[0]!.operator, 'gov/vote', { proposalId: 1n, option: 'yes' });
    const end = await block(f.tc, [], { timeStepMs: 61_000n });
    assert.equal((await modelQ()).status, 'faulty');
    assert.equal((await modelQ()).faultProposalsOpen, 0);
    // 10% burned by the fault; the remaining 90 released right after, in the same end block.
    const faulty = end.events.find((e) => e.module === 'models' && e.type === 'faulty');
    // A genesis model holds no storage deposit: nothing is forfeited.
    assert.deepEqual(faulty?.attributes, {
      id: MODEL_ID,
      burnedWei: (10n * CGPT).toString(),
      forfeitedWei: '0',
    });
    const unbonded = end.events.filter((e) => e.module === 'models' && e.type === 'unbonded');
    assert.deepEqual(
      unbonded.map((e) => e.attributes),
      [{ id: MODEL_ID, reviewer: reviewer().address, amountWei: (90n * CGPT).toString() }],
    );
    assert.equal(await balance(f.tc, reviewer().address), bal + 90n * CGPT);
    assert.deepEqual((await reviewQ()).unbonding, []);
  });
});

describe('F8: a fault proposal that does not pass releases in full when it ends', () => {
  let f: Fixture;
  before(async () => {
    f = await setupChain({
      tiers: 5,
      models: { reviewUnbondingBlocks: '2' },
      app: { gov: { params: { votingPeriodMs: '60000', maxDepositPeriodMs: '60000' } } },
    });
  });
  after(() => f.tc.close());

  it('rejected (no votes): counter back to 0, the held stake paid whole', async () => {
    const r = f.a[6]!;
    await ok(f.tc, r, 'models/review', { id: MODEL_ID, stakeWei: 50n * CGPT, rating: 2 });
    await ok(f.tc, f.requester, 'gov/submitProposal', faultProposal('maybe'));
    const bal = await balance(f.tc, r.address);
    await ok(f.tc, r, 'models/unreview', { id: MODEL_ID, amountWei: 50n * CGPT });
    await advanceTo(f.tc, f.tc.head.height + 3n);
    assert.equal(await balance(f.tc, r.address), bal);
    await block(f.tc, [], { timeStepMs: 61_000n });
    const m = await query<{ status: string; faultProposalsOpen: number }>(f.tc, 'models/model', {
      id: MODEL_ID,
    });
    assert.deepEqual([m.status, m.faultProposalsOpen], ['active', 0]);
    assert.equal(await balance(f.tc, r.address), bal + 50n * CGPT);
  });
});

describe('F14: outputs cover the runtime range of their dtype', () => {
  const withOutput = (dtype: 'int8' | 'int32'): QuantModel => ({
    ...model,
    values: model.values.map((v) =>
      v.name === model.outputs[0]
        ? { ...v, dtype, kind: dtype === 'int32' ? 'index' : 'quant', scale: 1 }
        : v,
    ),
  });
  const bytes = (...v: number[]) => encodeOutput({ data: Int32Array.from(v) });

  it('int32 (index) outputs accept the full int32 range, -2^31 included', () => {
    const values = [-2147483648, 2147483647, 0, -1, 5, 6, 7, 8, 9, 10];
    const t = outputTensor(withOutput('int32'), bytes(...values));
    assert.deepEqual(Array.from(t.data), values);
  });

  it('int8 outputs stay within the symmetric quantized range [-127, 127]', () => {
    const m = withOutput('int8');
    assert.deepEqual(
      Array.from(outputTensor(m, bytes(-127, 127, 0, 0, 0, 0, 0, 0, 0, 0)).data).slice(0, 2),
      [-127, 127],
    );
    assert.throws(
      () => outputTensor(m, bytes(-128, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
      /output value -128 at 0 is outside the int8 range/,
    );
  });
});
