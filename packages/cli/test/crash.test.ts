// Crash safety with a real process: kill -9 while transactions stream in, restart, and check that
// every block seen as committed is still there unchanged and the chain carries on.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BONDED_POOL,
  DISTRIBUTION_ACCOUNT,
  FEE_COLLECTOR,
  type GenesisDoc,
  GOV_ACCOUNT,
  NOT_BONDED_POOL,
} from '@aivm/chain';
import { type Hex, mnemonicToPrivateKey, privateKeyToAddress } from '@aivm/crypto';
import { AivmClient, Wallet } from '@aivm/sdk';
import { DEV_MNEMONIC } from '../src/index.ts';
import { runAivm, startAivm, tempDir } from './helpers.ts';

const keys = [0, 1, 2].map((i) => mnemonicToPrivateKey(DEV_MNEMONIC, i));
const addresses = keys.map(privateKeyToAddress);

describe('crash safety (kill -9)', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let operator: Hex;
  const moduleAccounts = [FEE_COLLECTOR, BONDED_POOL, NOT_BONDED_POOL, DISTRIBUTION_ACCOUNT, GOV_ACCOUNT];
  const env = { AIVM_VALIDATOR_PASSWORD: 'crash-test' };

  before(async () => {
    home = await tempDir('aivm-crash-');
    const funds = addresses.flatMap((a) => ['--fund', `${a}=1000`]);
    const init = await runAivm(
      ['init', '--home', join(home.path, 'node'), '--chain-id', '4242', ...funds],
      env,
    );
    assert.equal(init.code, 0, init.stderr);
    const genesis = JSON.parse(await readFile(join(home.path, 'node', 'genesis.json'), 'utf8')) as GenesisDoc;
    operator = (genesis.app.staking as { validators: { operator: Hex }[] }).validators[0]!.operator;
  });
  after(() => home.remove());

  const startNode = () =>
    startAivm(
      [
        'start',
        '--home',
        join(home.path, 'node'),
        '--rpc-port',
        '0',
        '--block-time',
        '50',
        '--log-level',
        'warn',
      ],
      env,
    );

  it('loses no committed block across repeated kills and resumes at the same state', async () => {
    const seen = new Map<bigint, Hex>();
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 48271) % 2147483647;
      return seed % n;
    };
    for (let round = 0; round < 3; round++) {
      const node = await startNode();
      const client = new AivmClient(node.rpcUrl, { timeoutMs: 2_000 });
      try {
        // Everything committed before the crash must still be there, byte for byte.
        const head = (await client.status()).height;
        let maxSeen = 0n;
        for (const h of seen.keys()) if (h > maxSeen) maxSeen = h;
        assert.ok(head >= maxSeen, `round ${round}: head ${head} is behind committed height ${maxSeen}`);
        for (const [height, hash] of seen)
          assert.equal((await client.getBlock({ height }))?.hash, hash, `block ${height}`);

        // Supply is conserved: every account that can hold CGPT here adds up to the supply (which
        // grows by the per-block emission).
        const supplyNow = async () =>
          BigInt(((await client.query('bank/supply', {})) as { supplyWei: string }).supplyWei);
        // Every block mints the emission, so an unchanged supply before and after the balance reads
        // means no block landed between them: only such a snapshot counts (a real leak mismatches
        // every time; a straddled read is retried).
        for (let attempt = 0; ; attempt++) {
          const before = await supplyNow();
          const balances = await Promise.all(
            [...addresses, ...moduleAccounts, operator].map((a) => client.getBalance(a)),
          );
          if ((await supplyNow()) !== before && attempt < 50) continue;
          assert.equal(
            balances.reduce((t, b) => t + b, 0n),
            before,
          );
          break;
        }

        // Stream transfers and record committed blocks, then crash at a pseudo-random moment.
        const wallets = keys.map((k) => Wallet.fromPrivateKey(k, client));
        let stop = false;
        const senders = wallets.map(async (w, i) => {
          while (!stop) {
            await w.transfer(addresses[(i + 1) % 3]!, 1_000n, { gasLimit: 100_000n }).catch(() => undefined);
          }
        });
        const watcher = (async () => {
          while (!stop) {
            const b = await client.getBlock({}).catch(() => undefined);
            if (b) seen.set(b.header.height, b.hash);
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
        await new Promise((r) => setTimeout(r, 700 + rand(900)));
        await node.kill();
        stop = true;
        await Promise.allSettled([...senders, watcher]);
        assert.ok(seen.size > 0);
      } finally {
        client.close();
        await node.kill();
      }
    }
    // After the last crash the chain still starts and makes progress.
    const node = await startNode();
    const client = new AivmClient(node.rpcUrl);
    try {
      const h0 = (await client.status()).height;
      for (const [height, hash] of seen) assert.equal((await client.getBlock({ height }))?.hash, hash);
      await new Promise((r) => setTimeout(r, 400));
      assert.ok((await client.status()).height > h0);
      // The load really ran: each sender has many committed transfers.
      for (const a of addresses) assert.ok((await client.getAccount(a)).nonce > 10n);
    } finally {
      client.close();
      assert.equal(await node.stop(), 0);
    }
  });
});
