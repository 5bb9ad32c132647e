// The block builder never fails because of one transaction: a transaction whose execution faults
// on this machine (anything but a typed failure) is dropped from the mempool, nothing of it stays,
// and the block is built from the rest.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BankSend,
  defaultModules,
  ERR,
  getBalance,
  getNonce,
  type Module,
  ModuleError,
  Registry,
  signTx,
} from '@aivm/chain';
import { bytesToHex, ed25519GenerateKey, mnemonicToPrivateKeys, privateKeyToAddress } from '@aivm/crypto';
import { buildBlock } from '../src/block-builder.ts';
import { ChainStore } from '../src/chain-store.ts';
import { buildGenesis, DEFAULT_SELF_STAKE_WEI } from '../src/genesis-builder.ts';
import { createLogger } from '../src/logger.ts';
import { Mempool } from '../src/mempool.ts';

const MNEMONIC = 'test test test test test test test test test test test junk';
const [alice, bob, operator] = mnemonicToPrivateKeys(MNEMONIC, 0, 3) as [Uint8Array, Uint8Array, Uint8Array];

/** bank/send whose handler overflows the stack for one amount and refuses another with a code. */
function faultyModules(): Module[] {
  return defaultModules().map((m) => {
    if (m.name !== 'bank') return m;
    const send = m.messages['bank/send']!;
    return {
      ...m,
      messages: {
        ...m.messages,
        'bank/send': {
          ...send,
          handler: async (ctx, msg, sender) => {
            const amount = (msg as { amount: bigint }).amount;
            if (amount === 13n) throw new RangeError('Maximum call stack size exceeded');
            if (amount === 7n) throw new ModuleError('seven is refused');
            return send.handler(ctx, msg, sender);
          },
        },
      },
    };
  });
}

describe('block builder', () => {
  it('drops a transaction whose execution faults, keeps typed failures, and builds the block', async () => {
    const home = await mkdtemp(join(tmpdir(), 'aivm-builder-'));
    const key = ed25519GenerateKey();
    const genesis = buildGenesis({
      chainId: 5,
      genesisTimeMs: 1_700_000_000_000,
      validators: [
        {
          operator: privateKeyToAddress(operator),
          consensusPubKey: key.publicKey,
          selfStakeWei: DEFAULT_SELF_STAKE_WEI,
        },
      ],
      balances: [
        { address: privateKeyToAddress(alice), amountWei: 10n ** 24n },
        { address: privateKeyToAddress(bob), amountWei: 10n ** 24n },
      ],
    });
    const store = await ChainStore.open(join(home, 'db'), genesis, new Registry(faultyModules()));
    try {
      const mempool = new Mempool(store.chain, store.state);
      const send = (sk: Uint8Array, nonce: bigint, amount: bigint) =>
        signTx(
          {
            chainId: 5n,
            from: privateKeyToAddress(sk),
            nonce,
            gasLimit: 100_000n,
            gasPrice: 10n ** 9n,
            msgType: 'bank/send',
            msg: { to: privateKeyToAddress(operator), amount },
          },
          sk,
          BankSend,
        );
      const faulty = await mempool.add(send(alice, 0n, 13n));
      await mempool.add(send(bob, 0n, 7n));
      await mempool.add(send(bob, 1n, 5n));
      const logged: unknown[] = [];
      const logger = createLogger('silent');
      logger.error = ((obj: unknown) => {
        logged.push(obj);
      }) as typeof logger.error;
      const built = await buildBlock(store, mempool, {
        proposer: privateKeyToAddress(operator),
        nowMs: 1_700_000_001_000,
        maxTxs: 100,
        logger,
      });
      assert.deepEqual(
        built.result.receipts.map((r) => r.code),
        [ERR.MODULE, 0],
        'the typed failure and the good transfer are in the block',
      );
      assert.equal(mempool.has(faulty), false, 'the faulting transaction left the mempool');
      assert.equal(logged.length, 1);
      await store.commitBlock(built.block, built.result, {
        height: 1n,
        round: 0,
        blockHash: built.hash,
        signatures: [],
      });
      const a = privateKeyToAddress(alice);
      assert.equal(await getNonce(store.state, a), 0n, 'nothing of the faulting transaction stayed');
      assert.equal(await getBalance(store.state, a), 10n ** 24n);
      assert.equal(await getNonce(store.state, privateKeyToAddress(bob)), 2n);
    } finally {
      await store.close();
      await rm(home, { recursive: true, force: true });
    }
  });

  describe('sender order and drop reasons', () => {
    const [carol] = mnemonicToPrivateKeys(MNEMONIC, 3, 1) as [Uint8Array];
    const proposer = privateKeyToAddress(operator);

    /** A chain whose blocks hold 1,000,000 gas (so is a transaction's maximum), on a real store. */
    async function openChain(
      auth: Record<string, string> = { maxTxGas: '1000000', blockGasLimit: '1000000' },
    ): Promise<{ store: ChainStore; mempool: Mempool; close(): Promise<void> }> {
      const home = await mkdtemp(join(tmpdir(), 'aivm-builder-'));
      const genesis = buildGenesis({
        chainId: 5,
        genesisTimeMs: 1_700_000_000_000,
        validators: [
          {
            operator: proposer,
            consensusPubKey: ed25519GenerateKey().publicKey,
            selfStakeWei: DEFAULT_SELF_STAKE_WEI,
          },
        ],
        balances: [
          { address: privateKeyToAddress(alice), amountWei: 10n ** 24n },
          { address: privateKeyToAddress(bob), amountWei: 10n ** 24n },
          { address: privateKeyToAddress(carol), amountWei: 10n ** 18n },
        ],
        app: { auth: { params: auth } },
      });
      const store = await ChainStore.open(join(home, 'db'), genesis, new Registry(defaultModules()));
      return {
        store,
        mempool: new Mempool(store.chain, store.state),
        close: async () => {
          await store.close();
          await rm(home, { recursive: true, force: true });
        },
      };
    }

    const send = (
      sk: Uint8Array,
      nonce: bigint,
      opts: { gasLimit: bigint; gasPrice?: bigint; amount?: bigint },
    ) =>
      signTx(
        {
          chainId: 5n,
          from: privateKeyToAddress(sk),
          nonce,
          gasLimit: opts.gasLimit,
          gasPrice: opts.gasPrice ?? 10n ** 9n,
          msgType: 'bank/send',
          msg: { to: proposer, amount: opts.amount ?? 1n },
        },
        sk,
        BankSend,
      );

    /** Builds the next block and commits it; returns the included tx hashes, in order. */
    async function nextBlock(store: ChainStore, mempool: Mempool, logger = createLogger('silent')) {
      const height = store.head.height + 1n;
      const built = await buildBlock(store, mempool, {
        proposer,
        nowMs: 1_700_000_000_000 + Number(height) * 1000,
        maxTxs: 100,
        logger,
      });
      await store.commitBlock(built.block, built.result, {
        height,
        round: 0,
        blockHash: built.hash,
        signatures: [],
      });
      const hashes = built.result.receipts.map((r) => bytesToHex(r.txHash));
      await mempool.onCommit(hashes);
      const receipts = built.result.receipts;
      return {
        hashes,
        codes: receipts.map((r) => r.code),
        gasUsed: built.result.gasUsed,
        gasOf: new Map(receipts.map((r, i) => [hashes[i]!, r.gasUsed])),
      };
    }

    it('a sender whose transaction does not fit waits whole: its later, smaller ones are not tried', async () => {
      const { store, mempool, close } = await openChain();
      try {
        // Bob pays more and his 50 transfers use most of the block's 1,000,000 gas first.
        const bobs: string[] = [];
        for (let n = 0n; n < 50n; n++) {
          bobs.push(await mempool.add(send(bob, n, { gasLimit: 100_000n, gasPrice: 2n * 10n ** 9n })));
        }
        // Alice's first needs 500,000 (does not fit what is left); her second would fit.
        const a0 = await mempool.add(send(alice, 0n, { gasLimit: 500_000n }));
        const a1 = await mempool.add(send(alice, 1n, { gasLimit: 100_000n }));
        const first = await nextBlock(store, mempool);
        assert.ok(first.gasUsed > 500_000n && first.gasUsed <= 900_000n, `bob used ${first.gasUsed}`);
        assert.deepEqual(first.hashes, bobs, "neither of alice's transactions is in the block");
        assert.deepEqual([mempool.has(a0), mempool.has(a1)], [true, true], 'both stay pending');
        assert.equal(mempool.droppedReason(a1), undefined);
        assert.equal(await getNonce(store.state, privateKeyToAddress(alice)), 0n);

        const second = await nextBlock(store, mempool);
        assert.deepEqual(second.hashes, [a0, a1], 'the next block with room includes both, in nonce order');
        assert.deepEqual(second.codes, [0, 0]);
        assert.equal(mempool.size, 0);
        assert.equal(await getNonce(store.state, privateKeyToAddress(alice)), 2n);
      } finally {
        await close();
      }
    });

    it('counts the gas a block used, not what senders reserved: high limits cannot fill it (issue 13, attack 1)', async () => {
      // The attack as seen, on the default 200,000,000-gas blocks: 20 transfers reserving the
      // 10,000,000 per-transaction maximum at 2 gwei, ahead of a 1-gwei user. Counting limits, they
      // filled the block while using 0.18% of it, and the user waited as long as the attack ran.
      const { store, mempool, close } = await openChain({});
      try {
        const attack: string[] = [];
        for (let n = 0n; n < 20n; n++) {
          attack.push(await mempool.add(send(bob, n, { gasLimit: 10_000_000n, gasPrice: 2n * 10n ** 9n })));
        }
        const user = await mempool.add(send(alice, 0n, { gasLimit: 100_000n }));
        const before = await getBalance(store.state, privateKeyToAddress(bob));
        const block = await nextBlock(store, mempool);
        assert.deepEqual(block.hashes, [...attack, user], 'the user is in the first block');
        assert.equal(mempool.size, 0);
        // The attacker paid for exactly the gas its transactions used (plus the 20 wei sent).
        const paid = before - (await getBalance(store.state, privateKeyToAddress(bob)));
        assert.equal(paid, (block.gasUsed - block.gasOf.get(user)!) * 2n * 10n ** 9n + 20n);
      } finally {
        await close();
      }
    });

    it('a transaction goes in only when its whole limit fits in the gas the block has left', async () => {
      const { store, mempool, close } = await openChain();
      try {
        // Each reserves the whole 1,000,000-gas block: only the first fits; after it has used
        // ~18,000 gas, the next one's limit no longer fits, but a user's small limit does.
        const b0 = await mempool.add(send(bob, 0n, { gasLimit: 1_000_000n, gasPrice: 2n * 10n ** 9n }));
        const b1 = await mempool.add(send(bob, 1n, { gasLimit: 1_000_000n, gasPrice: 2n * 10n ** 9n }));
        const user = await mempool.add(send(alice, 0n, { gasLimit: 50_000n }));
        const first = await nextBlock(store, mempool);
        assert.deepEqual(first.hashes, [b0, user]);
        assert.ok(first.gasUsed < 1_000_000n);
        assert.deepEqual((await nextBlock(store, mempool)).hashes, [b1]);
      } finally {
        await close();
      }
    });

    it('logs a drop at info level and keeps the reason of it and of the later nonces it takes along', async () => {
      const { store, mempool, close } = await openChain();
      try {
        // Carol's first transfer leaves too little to pay the next one's maximum fee (1e14 wei).
        const fee = 100_000n * 10n ** 9n;
        const c0 = await mempool.add(
          send(carol, 0n, { gasLimit: 100_000n, amount: 10n ** 18n - fee - 10n ** 13n }),
        );
        const c1 = await mempool.add(send(carol, 1n, { gasLimit: 100_000n }));
        const c2 = await mempool.add(send(carol, 2n, { gasLimit: 100_000n }));
        const info: Record<string, unknown>[] = [];
        const logger = createLogger('silent');
        logger.info = ((obj: Record<string, unknown>, msg: string) => {
          info.push({ ...obj, msg });
        }) as typeof logger.info;
        const block = await nextBlock(store, mempool, logger);
        assert.deepEqual(block.hashes, [c0]);
        assert.equal(mempool.size, 0);
        const reason = mempool.droppedReason(c1);
        assert.equal(reason?.code, ERR.INSUFFICIENT_FUNDS);
        assert.match(
          reason?.reason ?? '',
          /^balance \d+ wei cannot pay the maximum fee 100000000000000 wei$/,
        );
        assert.deepEqual(mempool.droppedReason(c2), {
          code: ERR.NONCE_GAP,
          reason: `an earlier nonce of the sender was dropped (${c1})`,
        });
        assert.deepEqual(info, [
          {
            tx: c1,
            code: ERR.INSUFFICIENT_FUNDS,
            reason: reason?.reason,
            followers: [c2],
            msg: 'dropped pending transaction',
          },
        ]);
      } finally {
        await close();
      }
    });
  });
});
