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
import { ed25519GenerateKey, mnemonicToPrivateKeys, privateKeyToAddress } from '@aivm/crypto';
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
});
