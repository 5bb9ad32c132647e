import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeTx, ERR, TxRejected } from '@aivm/chain';
import { buildBlock, createTestChain, GAS_PRICE, signMsg, type TestChain } from '@aivm/chain/testing';
import { Mempool } from '../src/mempool.ts';

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
