// The optimistic tier on the real MNIST MLP (3 nodes, 4 layer leaves): an honest result finalizes
// after the challenge window and is paid; a wrong result (one layer perturbed, later layers
// recomputed consistently) is challenged, bisected, settled by one-step re-execution, the provider
// slashed and the challenger rewarded exactly, the slot reassigned; a false challenge costs the
// challenger its bond; each timeout rule; the challenge and result checks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Address } from '@aivm/crypto';
import { encodeTensor } from '@aivm/runtime';
import {
  FEE_COLLECTOR,
  getSupply,
  INFERENCE_ACCOUNT,
  merkleProof,
  merkleRoot,
  queryParamsFromJson,
} from '../src/index.ts';
import {
  accountOf,
  advanceTo,
  BOND,
  balance,
  block,
  challengeMsg,
  type DisputeJson,
  digit,
  eventsOf,
  type Fixture,
  fails,
  getReq,
  honest,
  type Layers,
  MIN_PRICE,
  model,
  newRequest,
  ok,
  optimisticChain,
  PRICE,
  perturbed,
  query,
  replayOnSecondNode,
  requestIdOf,
  requestMsg,
  resultMsg,
  revealMsg,
  STAKE,
  slotSplit,
} from './inference-helpers.ts';

const WINDOW = 3n;
const n = model.nodes.length;

describe('inference: optimistic tier', () => {
  let f: Fixture;
  const account = (a: string) => accountOf(f, a);
  let challenger: Fixture['a'][number];

  before(async () => {
    f = await optimisticChain([2, 3, 4, 5, 6, 7]);
    challenger = f.a[8]!;
  });
  after(() => f.tc.close());

  const dispute = async (id: bigint) => (await getReq(f.tc, id)).slots[0]!.dispute as DisputeJson | null;

  /** Plays the bisection with both parties revealing; returns the dispute at the one-step phase. */
  async function bisect(
    id: bigint,
    provider: Fixture['a'][number],
    pl: Layers,
    cl: Layers,
  ): Promise<DisputeJson> {
    for (;;) {
      const d = (await dispute(id))!;
      if (d.phase === 'oneStep') return d;
      const mid = Math.floor((d.lo + d.hi) / 2);
      const r = await block(f.tc, [
        { from: provider, type: 'inference/reveal', msg: revealMsg(id, pl, mid) },
        { from: challenger, type: 'inference/reveal', msg: revealMsg(id, cl, mid) },
      ]);
      assert.ok(
        r.receipts.every((x) => x.code === 0),
        r.receipts.map((x) => x.error).join('; '),
      );
    }
  }

  it('an honest result finalizes when the challenge window closes and is paid exactly', async () => {
    const x = digit(0);
    const { id, provider } = await newRequest(f, x.bytes);
    const l = honest(x.bytes, provider);
    const provBefore = await balance(f.tc, provider.address);
    const r = await ok(f.tc, provider, 'inference/submitResult', resultMsg(id, l));
    const at = f.tc.head.height;
    assert.deepEqual(eventsOf(r.events, 'computed'), [
      { id: id.toString(), slot: '0', provider: provider.address },
    ]);
    let q = await getReq(f.tc, id);
    assert.equal(q.status, 'computed');
    assert.equal(q.slots[0]!.class, x.label);
    await advanceTo(f.tc, at + WINDOW - 1n);
    assert.equal((await getReq(f.tc, id)).status, 'computed');
    const { events } = await block(f.tc);
    // The floor (minPriceWei, 0.001 CGPT) to the provider, the other 0.009 CGPT split 60/25/10/5
    // (the reviewers' share to the protocol: nobody reviews): owner 0.0054, provider 0.001 +
    // 0.00225, protocol 0.00135.
    const { owner, provider: prov } = slotSplit(PRICE, MIN_PRICE);
    assert.equal(owner, 5_400_000_000_000_000n);
    assert.equal(prov, 3_250_000_000_000_000n);
    assert.deepEqual(eventsOf(events, 'paid'), [
      {
        id: id.toString(),
        slot: '0',
        ownerWei: owner.toString(),
        providerWei: prov.toString(),
        reviewersWei: '0',
        protocolWei: (PRICE - owner - prov).toString(),
      },
    ]);
    assert.equal(await balance(f.tc, FEE_COLLECTOR), PRICE - owner - prov);
    q = await getReq(f.tc, id);
    assert.equal(q.status, 'finalized');
    assert.equal(q.output, `0x${Buffer.from(l.output).toString('hex')}`);
    assert.equal(q.class, x.label);
    assert.equal(await balance(f.tc, provider.address), provBefore + prov);
  });

  it('refuses results whose Merkle proofs do not hold', async () => {
    const x = digit(1);
    const { id, provider } = await newRequest(f, x.bytes);
    const l = honest(x.bytes, provider);
    const other = honest(digit(2).bytes, provider);
    await fails(
      f.tc,
      provider,
      'inference/submitResult',
      {
        ...resultMsg(id, l),
        inputProof: merkleProof(other.leaves, 0),
        layerRoot: other.root,
        outputProof: merkleProof(other.leaves, n),
      },
      /inputProof does not show the request input as leaf 0/,
    );
    await fails(
      f.tc,
      provider,
      'inference/submitResult',
      { ...resultMsg(id, l), output: other.output },
      /outputProof does not show the output as leaf 3/,
    );
    await ok(f.tc, provider, 'inference/submitResult', resultMsg(id, l));
    // Challenge checks.
    await fails(
      f.tc,
      challenger,
      'inference/challenge',
      challengeMsg(id, l),
      /the challenger's output equals the provider's/,
    );
    const bad = perturbed(x.bytes, 2, provider);
    await fails(
      f.tc,
      challenger,
      'inference/challenge',
      challengeMsg(id, bad, { bondWei: BOND - 1n }),
      /bondWei must be at least 10000000000000000000 wei/,
    );
    await fails(
      f.tc,
      provider,
      'inference/challenge',
      challengeMsg(id, bad),
      /a provider cannot challenge its own result/,
    );
    await advanceTo(f.tc, f.tc.head.height + WINDOW);
    await fails(f.tc, challenger, 'inference/challenge', challengeMsg(id, bad), /request \d+ is finalized/);
  });

  it('a wrong result is bisected and re-executed: provider slashed, challenger rewarded exactly, slot reassigned', async () => {
    const x = digit(3);
    const { id, provider } = await newRequest(f, x.bytes);
    const lie = perturbed(x.bytes, 1, provider); // the ReLU output is wrong: leaves 2 and 3 differ
    const truth = honest(x.bytes, provider);
    assert.notDeepEqual(lie.output, truth.output);
    await ok(f.tc, provider, 'inference/submitResult', resultMsg(id, lie));
    const chBefore = await balance(f.tc, challenger.address);
    // A challenger's root is built with the provider's salt, not its own.
    await fails(
      f.tc,
      challenger,
      'inference/challenge',
      challengeMsg(id, honest(x.bytes, challenger)),
      /inputProof does not show the request input as leaf 0 of layerRoot/,
    );
    const supply = await getSupply(f.tc.state);
    const c = await ok(f.tc, challenger, 'inference/challenge', challengeMsg(id, truth));
    assert.deepEqual(eventsOf(c.events, 'challenged'), [
      { id: id.toString(), slot: '0', provider: provider.address, challenger: challenger.address },
    ]);
    assert.deepEqual(eventsOf(c.events, 'disputeStep'), [{ id: id.toString(), slot: '0', lo: '0', hi: '3' }]);
    assert.equal((await getReq(f.tc, id)).status, 'challenged');
    assert.equal(await balance(f.tc, challenger.address), chBefore - BOND);
    const d = await bisect(id, provider, lie, truth);
    assert.deepEqual([d.lo, d.hi], [1, 2]);
    // The agreed tensor at leaf 1; anyone of the two may send it.
    const res = await ok(f.tc, challenger, 'inference/oneStep', {
      requestId: id,
      slot: 0,
      tensor: encodeTensor(truth.tensors[1]!),
    });
    const cut = (STAKE * 1000n) / 10_000n;
    const reward = (cut * 5000n) / 10_000n;
    assert.deepEqual(eventsOf(res.events, 'disputeResolved'), [
      { id: id.toString(), slot: '0', winner: challenger.address, loser: provider.address },
    ]);
    assert.deepEqual(eventsOf(res.events, 'slashed'), [
      {
        provider: provider.address,
        amountWei: cut.toString(),
        reason: `lost the dispute on request ${id} slot 0`,
      },
    ]);
    assert.equal(await balance(f.tc, challenger.address), chBefore + reward);
    assert.equal(await getSupply(f.tc.state), supply - (cut - reward));
    const next = eventsOf(res.events, 'assigned');
    assert.equal(next.length, 1);
    assert.notEqual(next[0]!.provider.toLowerCase(), provider.address.toLowerCase());
    let q = await getReq(f.tc, id);
    assert.equal(q.status, 'assigned');
    assert.equal(q.slots[0]!.attempts, 2);
    assert.equal(q.slots[0]!.dispute, null);
    // The new provider answers honestly (its leaves salted with its own address); the request completes.
    const second = account(next[0]!.provider);
    await ok(f.tc, second, 'inference/submitResult', resultMsg(id, honest(x.bytes, second)));
    await advanceTo(f.tc, f.tc.head.height + WINDOW);
    q = await getReq(f.tc, id);
    assert.equal(q.status, 'finalized');
    assert.equal(q.class, x.label);
  });

  it('a false challenge costs the challenger its bond: half to the provider, half burned', async () => {
    const x = digit(4);
    const { id, provider } = await newRequest(f, x.bytes);
    const truth = honest(x.bytes, provider);
    const lie = perturbed(x.bytes, 2, provider); // only the last layer differs: bisection walks to [2, 3]
    await ok(f.tc, provider, 'inference/submitResult', resultMsg(id, truth));
    const provBefore = await balance(f.tc, provider.address);
    const chBefore = await balance(f.tc, challenger.address);
    const supply = await getSupply(f.tc.state);
    await ok(f.tc, challenger, 'inference/challenge', challengeMsg(id, lie));
    const d = await bisect(id, provider, truth, lie);
    assert.deepEqual([d.lo, d.hi], [2, 3]);
    const res = await ok(f.tc, provider, 'inference/oneStep', {
      requestId: id,
      slot: 0,
      tensor: encodeTensor(truth.tensors[2]!),
    });
    assert.deepEqual(eventsOf(res.events, 'disputeResolved'), [
      { id: id.toString(), slot: '0', winner: provider.address, loser: challenger.address },
    ]);
    assert.equal(eventsOf(res.events, 'slashed').length, 0);
    assert.equal(await balance(f.tc, challenger.address), chBefore - BOND);
    // The provider won: the slot is computed again with a fresh challenge window from the
    // resolution height (others may still challenge), then paid when that window closes.
    const resolvedAt = f.tc.head.height;
    assert.equal(eventsOf(res.events, 'paid').length, 0);
    const q = await getReq(f.tc, id);
    assert.deepEqual([q.status, q.slots[0]!.computedAt], ['computed', resolvedAt.toString()]);
    assert.equal(await balance(f.tc, provider.address), provBefore + BOND / 2n);
    assert.equal((await advanceTo(f.tc, resolvedAt + 2n)).filter((e) => e.type === 'paid').length, 0);
    const paid = eventsOf(await advanceTo(f.tc, resolvedAt + 3n), 'paid');
    assert.equal(paid.length, 1);
    const prov = slotSplit(PRICE, MIN_PRICE).provider;
    assert.equal(await balance(f.tc, provider.address), provBefore + BOND / 2n + prov);
    assert.equal(await getSupply(f.tc.state), supply - BOND / 2n);
    assert.equal((await getReq(f.tc, id)).status, 'finalized');
  });

  it('a one-step tensor must match the agreed leaf', async () => {
    const x = digit(5);
    const { id, provider } = await newRequest(f, x.bytes);
    const truth = honest(x.bytes, provider);
    const lie = perturbed(x.bytes, 0, provider);
    await ok(f.tc, provider, 'inference/submitResult', resultMsg(id, lie));
    await ok(f.tc, challenger, 'inference/challenge', challengeMsg(id, truth));
    await fails(
      f.tc,
      challenger,
      'inference/oneStep',
      { requestId: id, slot: 0, tensor: encodeTensor(truth.tensors[0]!) },
      /still bisecting/,
    );
    const d = await bisect(id, provider, lie, truth);
    assert.deepEqual([d.lo, d.hi], [0, 1]);
    // All within the step's deadline: one block.
    const tensor0 = encodeTensor(truth.tensors[0]!);
    const r = await block(f.tc, [
      { from: challenger, type: 'inference/reveal', msg: revealMsg(id, truth, 0) },
      {
        from: challenger,
        type: 'inference/oneStep',
        msg: { requestId: id, slot: 0, tensor: encodeTensor(truth.tensors[1]!) },
      },
      { from: f.a[9]!, type: 'inference/oneStep', msg: { requestId: id, slot: 0, tensor: tensor0 } },
      { from: provider, type: 'inference/oneStep', msg: { requestId: id, slot: 0, tensor: tensor0 } },
    ]);
    assert.deepEqual(
      r.receipts.map((x) => x.error),
      [
        'the dispute of slot 0 awaits the one-step execution',
        'the tensor does not match the agreed leaf 0',
        'only the provider and the challenger take part in the dispute',
        '',
      ],
    );
    const res = r;
    // Even sent by the cheating provider, the re-execution shows its leaf 1 wrong.
    assert.equal(eventsOf(res.events, 'disputeResolved')[0]!.winner, challenger.address);
  });

  it("a slot's result cannot be copied by another slot's provider: leaves are salted with the provider", async () => {
    const x = digit(10);
    const r = await ok(
      f.tc,
      f.requester,
      'inference/request',
      requestMsg(x.bytes, { redundancy: 2, maxFeeWei: 2n * PRICE }),
    );
    const id = requestIdOf(r.events);
    const assigned = eventsOf(r.events, 'assigned').sort((a, b) => Number(a.slot) - Number(b.slot));
    assert.equal(assigned.length, 2);
    const p0 = account(assigned[0]!.provider);
    const p1 = account(assigned[1]!.provider);
    const l0 = honest(x.bytes, p0);
    await ok(f.tc, p0, 'inference/submitResult', resultMsg(id, l0));
    // Slot 1's provider sends slot 0's output, layer root and proofs as they are on chain.
    await fails(
      f.tc,
      p1,
      'inference/submitResult',
      resultMsg(id, l0),
      /inputProof does not show the request input as leaf 0 of layerRoot/,
    );
    // Even with a leaf 0 it can salt itself, slot 0's output leaf (salted with p0) does not verify.
    const own = honest(x.bytes, p1);
    const mixed = [own.leaves[0]!, ...l0.leaves.slice(1)];
    await fails(
      f.tc,
      p1,
      'inference/submitResult',
      {
        requestId: id,
        output: l0.output,
        layerRoot: merkleRoot(mixed),
        inputProof: merkleProof(mixed, 0),
        outputProof: merkleProof(mixed, n),
      },
      /outputProof does not show the output as leaf 3 of layerRoot/,
    );
    assert.notDeepEqual(own.root, l0.root);
    // Its own computation, salted with its own address, is accepted; both slots are paid.
    await ok(f.tc, p1, 'inference/submitResult', resultMsg(id, own));
    await advanceTo(f.tc, f.tc.head.height + WINDOW);
    const q = await getReq(f.tc, id);
    assert.equal(q.status, 'finalized');
    assert.equal(q.class, x.label);
  });

  describe('timeouts', () => {
    /** A request with a submitted result (honest or not) and an open challenge. */
    async function challenged(i: number, providerLies: boolean) {
      const x = digit(i);
      const { id, provider } = await newRequest(f, x.bytes);
      const truth = honest(x.bytes, provider);
      const lie = perturbed(x.bytes, 1, provider);
      const [pl, cl] = providerLies ? [lie, truth] : [truth, lie];
      await ok(f.tc, provider, 'inference/submitResult', resultMsg(id, pl));
      await ok(f.tc, challenger, 'inference/challenge', challengeMsg(id, cl));
      return { id, provider, pl, cl };
    }

    it('the challenger does not reveal: it loses its bond', async () => {
      const { id, provider, pl } = await challenged(6, false);
      const chBefore = await balance(f.tc, challenger.address);
      await ok(f.tc, provider, 'inference/reveal', revealMsg(id, pl, 1));
      const d = (await dispute(id))!;
      const events = await advanceTo(f.tc, BigInt(d.deadline));
      assert.equal(eventsOf(events, 'disputeResolved')[0]!.winner, provider.address);
      assert.equal(await balance(f.tc, challenger.address), chBefore);
      // A fresh challenge window from the resolution height, then paid.
      assert.equal((await getReq(f.tc, id)).slots[0]!.computedAt, d.deadline);
      assert.equal((await getReq(f.tc, id)).status, 'computed');
      await advanceTo(f.tc, BigInt(d.deadline) + 3n);
      assert.equal((await getReq(f.tc, id)).status, 'finalized');
    });

    it('the provider does not reveal: it is slashed and the slot reassigned', async () => {
      const { id, provider, cl } = await challenged(7, true);
      const chBefore = await balance(f.tc, challenger.address);
      await ok(f.tc, challenger, 'inference/reveal', revealMsg(id, cl, 1));
      const d = (await dispute(id))!;
      const events = await advanceTo(f.tc, BigInt(d.deadline));
      assert.equal(eventsOf(events, 'disputeResolved')[0]!.winner, challenger.address);
      const slashed = eventsOf(events, 'slashed')[0]!;
      assert.equal(slashed.provider, provider.address);
      const cut = BigInt(slashed.amountWei);
      assert.ok(cut > 0n);
      assert.equal(await balance(f.tc, challenger.address), chBefore + BOND + (cut * 5000n) / 10_000n);
      assert.equal((await getReq(f.tc, id)).status, 'assigned');
    });

    it('nobody reveals: the challenger loses', async () => {
      const { id, provider } = await challenged(8, true);
      const d = (await dispute(id))!;
      const events = await advanceTo(f.tc, BigInt(d.deadline));
      assert.equal(eventsOf(events, 'disputeResolved')[0]!.winner, provider.address);
    });

    it('no one-step in time: the provider loses', async () => {
      const { id, provider, pl, cl } = await challenged(9, false);
      const d = await bisect(id, provider, pl, cl);
      assert.equal(d.phase, 'oneStep');
      const events = await advanceTo(f.tc, BigInt(d.deadline));
      assert.equal(eventsOf(events, 'disputeResolved')[0]!.winner, challenger.address);
      assert.equal(eventsOf(events, 'slashed')[0]!.provider, provider.address);
    });
  });

  it('escrow and stake stay accounted: the module account holds exactly stakes, open escrow and bonds', async () => {
    const providers = await query<{ stakeWei: string; unbondingWei: string }[]>(
      f.tc,
      'inference/providers',
      {},
    );
    let staked = 0n;
    for (const p of providers) staked += BigInt(p.stakeWei) + BigInt(p.unbondingWei);
    let escrow = 0n;
    const all = await query<{ status: string; maxFeeWei: string; fees: Record<string, string> }[]>(
      f.tc,
      'inference/requests',
      {
        requester: '0x0000000000000000000000000000000000000000',
        status: '',
        after: 0n,
        limit: 100,
      },
    );
    for (const r of all) {
      if (r.status === 'finalized' || r.status === 'failed') continue;
      const paid = ['ownerWei', 'providerWei', 'reviewersWei', 'protocolWei'].reduce(
        (s, k) => s + BigInt(r.fees[k]!),
        0n,
      );
      escrow += BigInt(r.maxFeeWei) - paid;
    }
    // Bonds of open disputes (none should be left open by now: every dispute above ended).
    assert.equal(await balance(f.tc, INFERENCE_ACCOUNT as Address), staked + escrow);
    const mine = await query<unknown[]>(f.tc, 'inference/requests', {
      requester: f.requester.address,
      status: 'finalized',
      after: 0n,
      limit: 2,
    });
    assert.equal(mine.length, 2);
    // Params as a client sends them (JSON): every field optional, omitted ones do not filter.
    const def = f.tc.chain.registry.query('inference/requests')!;
    const fromJson = async (json: Record<string, unknown>) =>
      (await def.handler(f.tc.state, queryParamsFromJson(def, json) as never)) as { id: string }[];
    assert.deepEqual(await fromJson({}), all);
    assert.deepEqual(await fromJson({ requester: f.requester.address, status: 'finalized', limit: 2 }), mine);
    assert.ok(all.length > 1);
    assert.deepEqual(await fromJson({ after: (all[0] as unknown as { id: string }).id }), all.slice(1));
    assert.equal((await fromJson({ limit: 1 })).length, 1);
    assert.throws(() => queryParamsFromJson(def, { state: 'open' }), /unknown field state/);
  });

  it('a second node replays every block (decoded-model cache cold) to the same roots', async () => {
    await replayOnSecondNode(f.tc, { tiers: 5 });
  });
});
