// The node's invariant check: run every n blocks on committed state; a broken invariant logs at
// fatal level and stops the node.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { buildBlock, createTestChain } from '@aivm/chain/testing';
import {
  bigintToBytes,
  bytesToHex,
  ed25519GenerateKey,
  privateKeyToAddress,
  sha256,
  utf8ToBytes,
} from '@aivm/crypto';
import { buildGenesis, DEFAULT_SELF_STAKE_WEI } from '../src/genesis-builder.ts';
import { createLogger } from '../src/logger.ts';
import { AivmNode, checkInvariantsAt } from '../src/node.ts';

describe('node invariant check', () => {
  it('checkInvariantsAt runs only at multiples of n, and reports what is broken', async () => {
    const tc = await createTestChain();
    try {
      await buildBlock(tc, []);
      const registry = tc.chain.registry;
      assert.deepEqual(await checkInvariantsAt(tc.state, registry, 4n, 2), []);
      // Corrupt the supply in committed state: only heights that are multiples of n look.
      const staged = await tc.state.stage(
        [{ key: utf8ToBytes('bank/supply'), value: bigintToBytes(5n) }],
        100n,
      );
      await tc.db.write(staged.ops);
      tc.state.applyStaged(staged);
      assert.deepEqual(await checkInvariantsAt(tc.state, registry, 3n, 2), []);
      assert.deepEqual(await checkInvariantsAt(tc.state, registry, 4n, 0), []);
      const broken = await checkInvariantsAt(tc.state, registry, 4n, 2);
      assert.equal(broken.length, 1);
      assert.match(broken[0]!, /^bank\/supply: supply is 5 wei but the \d+ balances sum to \d+ wei/);
    } finally {
      await tc.close();
    }
  });

  it('a node whose state breaks an invariant logs it at fatal level and stops itself', async () => {
    const home = await mkdtemp(join(tmpdir(), 'aivm-invariants-'));
    const key = ed25519GenerateKey();
    const operator = privateKeyToAddress(sha256(utf8ToBytes('invariants operator')));
    const genesis = buildGenesis({
      chainId: 7,
      genesisTimeMs: 1_700_000_000_000,
      validators: [{ operator, consensusPubKey: key.publicKey, selfStakeWei: DEFAULT_SELF_STAKE_WEI }],
      balances: [],
      // A community pool of 10^18 dec-wei (1 wei) that the distribution account does not hold.
      app: {
        distribution: {
          state: [['distribution/', bytesToHex(utf8ToBytes('pool')), bytesToHex(bigintToBytes(10n ** 18n))]],
        },
      },
    });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    let onHalt!: (message: string) => void;
    const halted = new Promise<string>((resolve) => {
      onHalt = resolve;
    });
    const node = await AivmNode.start({
      home,
      genesis,
      validatorKey: key.secretKey,
      rpc: false,
      blockIntervalMs: 20,
      emptyBlocks: true,
      logger: createLogger('fatal', sink),
      checkInvariantsEvery: 2,
      onHalt,
    });
    try {
      const message = await halted;
      // Block 1 is not checked (n = 2); block 2 is, and the node stops there.
      assert.match(
        message,
        /^invariant broken at height 2, node halted:\n {2}distribution\/rewards-backed: /,
      );
      assert.match(message, /short by 1000000000000000000 dec-wei/);
      assert.equal(node.halted, message);
      assert.equal(node.store.head.height, 2n);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(node.store.head.height, 2n, 'no block after the halt');
      const fatal = lines.map((l) => JSON.parse(l)).find((l) => l.level === 60);
      assert.ok(fatal, 'a fatal log line');
      assert.equal(fatal.msg, 'invariant broken: halting the node');
      assert.equal(fatal.height, '2');
      assert.match(
        fatal.broken[0],
        /^distribution\/rewards-backed: the distribution account holds \d+ dec-wei but owes \d+ dec-wei .*short by 1000000000000000000 dec-wei/,
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
