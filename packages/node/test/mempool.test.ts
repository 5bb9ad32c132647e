import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeTx, ERR, TxRejected } from '@aivm/chain';
import { buildBlock, createTestChain, GAS_PRICE, signMsg, type TestChain } from '@aivm/chain/testing';
import { FOLLOWER_DROP_REASON, Mempool } from '../src/mempool.ts';

const code = (c: number) => (e: unknown) => e instanceof TxRejected && e.code === c;

describe('mempool', () => {
  let tc: TestChain;
  before(async () => {
    tc = await createTestChain({ accounts: 4 });
  });
  after(() => tc.close());

  const send = (from: number, nonce: bigint, opts: { gasPrice?: bigint; gasLimit?: bigint } = {}) =>
    signMsg(tc, tc.accounts[from]!, nonce, 'bank/send', { to: tc.accounts[3]!.address, amount: 1n }, opts);

  it('admits in-order nonces and refuses gaps, replays and duplicates with stable codes', async () => {
    const pool = new Mempool(tc.chain, tc.state);
    const h0 = await pool.add(send(0, 0n));
    await pool.add(send(0, 1n));
    assert.equal(pool.size, 2);
    assert.equal(await pool.pendingNonce(tc.accounts[0]!.address), 2n);
    await assert.rejects(pool.add(send(0, 5n)), code(ERR.NONCE_GAP));
    await assert.rejects(pool.add(send(0, 0n)), code(ERR.ALREADY_KNOWN));
    assert.ok(pool.has(h0));
  });

  it('replaces a pending tx only for a higher fee', async () => {
    const pool = new Mempool(tc.chain, tc.state);
    const first = await pool.add(send(1, 0n));
    await assert.rejects(pool.add(send(1, 0n, { gasPrice: GAS_PRICE + 1n })), code(ERR.UNDERPRICED));
    const second = await pool.add(send(1, 0n, { gasPrice: GAS_PRICE * 2n }));
    assert.equal(pool.size, 1);
    assert.ok(!pool.has(first));
    assert.ok(pool.has(second));
  });

  it('checks the balance against all pending fees of the sender', async () => {
    const pool = new Mempool(tc.chain, tc.state);
    // 1000 CGPT funded; each tx may cost up to 9e6 gas * 5e13 wei = 450 CGPT.
    const opts = { gasLimit: 9_000_000n, gasPrice: 50_000_000_000_000n };
    await pool.add(send(2, 0n, opts));
    await pool.add(send(2, 1n, opts));
    await assert.rejects(pool.add(send(2, 2n, opts)), code(ERR.INSUFFICIENT_FUNDS));
  });

  it('selects by fee while keeping each sender in nonce order', async () => {
    const pool = new Mempool(tc.chain, tc.state);
    await pool.add(send(0, 0n, { gasPrice: GAS_PRICE }));
    await pool.add(send(0, 1n, { gasPrice: GAS_PRICE * 10n }));
    await pool.add(send(1, 0n, { gasPrice: GAS_PRICE * 5n }));
    const order = [...pool.selectForBlock()].map((t) => [t.from, t.nonce, t.gasPrice / GAS_PRICE]);
    assert.deepEqual(order, [
      [tc.accounts[1]!.address, 0n, 5n],
      [tc.accounts[0]!.address, 0n, 1n],
      [tc.accounts[0]!.address, 1n, 10n],
    ]);
  });

  it('enforces count and byte limits, evicting the cheapest for a better fee', async () => {
    const pool = new Mempool(tc.chain, tc.state, { maxTxs: 2 });
    await pool.add(send(0, 0n, { gasPrice: GAS_PRICE }));
    await pool.add(send(1, 0n, { gasPrice: GAS_PRICE * 3n }));
    await assert.rejects(pool.add(send(2, 0n, { gasPrice: GAS_PRICE })), code(ERR.MEMPOOL_FULL));
    await pool.add(send(2, 0n, { gasPrice: GAS_PRICE * 2n }));
    assert.equal(pool.size, 2);
    assert.deepEqual(
      [...pool.selectForBlock()].map((t) => t.gasPrice / GAS_PRICE),
      [3n, 2n],
    );
    const small = new Mempool(tc.chain, tc.state, { maxBytes: 200 });
    await small.add(send(0, 0n));
    await assert.rejects(small.add(send(1, 0n)), code(ERR.MEMPOOL_FULL));
  });

  it('remembers why each dropped transaction was dropped, the followers of a drop included', async () => {
    const pool = new Mempool(tc.chain, tc.state, { maxDroppedKept: 2 });
    const raw0 = send(0, 0n);
    const raw1 = send(0, 1n);
    const h0 = await pool.add(raw0);
    const h1 = await pool.add(raw1);
    const h2 = await pool.add(send(0, 2n));
    const followers = pool.drop(h1, { code: ERR.INSUFFICIENT_FUNDS, reason: 'cannot pay the fee' });
    assert.deepEqual(followers, [h2]);
    assert.deepEqual([pool.has(h0), pool.has(h1), pool.has(h2)], [true, false, false]);
    assert.deepEqual(pool.droppedReason(h1), { code: ERR.INSUFFICIENT_FUNDS, reason: 'cannot pay the fee' });
    assert.deepEqual(pool.droppedReason(h2), {
      code: ERR.NONCE_GAP,
      reason: `${FOLLOWER_DROP_REASON} (${h1})`,
    });
    assert.equal(pool.droppedReason(h0), undefined, 'the earlier nonce stays pending');
    assert.deepEqual(pool.drop(h1, { reason: 'again' }), [], 'dropping what is gone does nothing');
    assert.equal(pool.droppedReason(h1)?.reason, 'cannot pay the fee');

    // A replaced transaction is dropped with the hash that replaced it.
    const first = await pool.add(send(1, 0n));
    const second = await pool.add(send(1, 0n, { gasPrice: GAS_PRICE * 2n }));
    assert.deepEqual(pool.droppedReason(first), {
      code: ERR.UNDERPRICED,
      reason: `replaced by ${second} with a higher gas price`,
    });
    // Bounded (2 here): the third reason pushed out the oldest.
    assert.equal(pool.droppedReason(h1), undefined);
    assert.equal(pool.droppedReason(h2)?.code, ERR.NONCE_GAP);

    // Sent again, it is pending and no longer dropped.
    assert.equal(await pool.add(raw1), h1);
    const again = await pool.add(send(0, 2n));
    assert.equal(again, h2);
    assert.equal(pool.droppedReason(h2), undefined);

    // Evicted for a better-paying transaction from a full mempool.
    const full = new Mempool(tc.chain, tc.state, { maxTxs: 1 });
    const cheap = await full.add(send(2, 0n, { gasPrice: GAS_PRICE }));
    const rich = await full.add(send(1, 0n, { gasPrice: GAS_PRICE * 3n }));
    assert.deepEqual(full.droppedReason(cheap), {
      code: ERR.MEMPOOL_FULL,
      reason: `evicted from the full mempool by ${rich}, which pays a higher gas price`,
    });
    assert.equal(full.droppedReason(rich), undefined);
  });

  it('forgets included and stale transactions after a block commits', async () => {
    const pool = new Mempool(tc.chain, tc.state);
    const raw0 = send(0, 0n);
    const raw1 = send(0, 1n);
    await pool.add(raw0);
    await pool.add(raw1);
    const { result } = await buildBlock(tc, [raw0]);
    await pool.onCommit(result.receipts.map((r) => `0x${Buffer.from(r.txHash).toString('hex')}` as const));
    assert.equal(pool.size, 1);
    assert.ok(pool.has(decodeTx(raw1, (t) => tc.chain.registry.message(t)?.schema).hash));
    assert.equal(await pool.pendingNonce(tc.accounts[0]!.address), 2n);
  });

  it('a pending transaction whose nonce another committed transaction used is dropped with the reason', async () => {
    const pool = new Mempool(tc.chain, tc.state);
    const base = await pool.pendingNonce(tc.accounts[2]!.address);
    const a0 = await pool.add(send(2, base));
    const raw1 = send(2, base + 1n);
    const a1 = await pool.add(raw1);
    // Another proposer included a different transaction of the same nonce (never seen here).
    const { result } = await buildBlock(tc, [send(2, base, { gasPrice: GAS_PRICE * 2n }), raw1]);
    const included = result.receipts.map((r) => `0x${Buffer.from(r.txHash).toString('hex')}` as const);
    assert.equal(included[1], a1);
    await pool.onCommit(included);
    assert.equal(pool.size, 0);
    assert.deepEqual(pool.droppedReason(a0), {
      code: ERR.NONCE_TOO_LOW,
      reason: `nonce ${base} was used by another committed transaction`,
    });
    assert.equal(pool.droppedReason(a1), undefined, 'committed, not dropped');
  });

  it('serializes concurrent admissions of one sender', async () => {
    const pool = new Mempool(tc.chain, tc.state);
    const base = await pool.pendingNonce(tc.accounts[1]!.address);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => pool.add(send(1, base + BigInt(i)))),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 20);
    assert.equal(await pool.pendingNonce(tc.accounts[1]!.address), base + 20n);
  });
});
