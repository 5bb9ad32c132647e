// A real validator network: four `aivm start` processes (createTestnet homes) peered over p2p.
// One validator killed -> blocks continue; two killed -> the chain halts without forking and
// resumes when they return; a new full node syncs from genesis, stakes and becomes a validator
// (`aivm tx create-validator`, which also registers its attestation key: it joins the attestation
// set and signs the next set's handover); a validator restarted in the equivocation test mode is
// reported, slashed, tombstoned and leaves the set. The steps run in order on one network (starting processes is the slow part).
// AIVM_NETWORK_TEST_LOGS=<file> keeps the nodes' warnings and errors of a run in that file.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { decMul, validatorAddress } from '@aivm/chain';
import { type Address, type Hex, hexToBytes } from '@aivm/crypto';
import { Wallet } from '@aivm/sdk';
import { DEV_MNEMONIC } from '../src/index.ts';
import { runAivm } from './helpers.ts';
import {
  freePortRange,
  type Network,
  NodeProcess,
  PASSWORD,
  sleep,
  useTestnet,
  waitFor,
} from './network-helpers.ts';

const CGPT = 10n ** 18n;
const BLOCK_TIME_MS = 100;

type ValidatorView = {
  operator: Address;
  consensusAddress: Address;
  attestationKey: Address;
  status: string;
  jailed: boolean;
  tombstoned: boolean;
  tokens: string;
};

type AttestationSetView = { id: string; members: { signer: Address; power: string }[] };

type SetAttestation = { setId: string; signatures: { signer: Address; signature: Hex }[] };

type CreateValidatorOutput = {
  hash: Hex;
  height: string;
  receipt: { success: boolean; error: string };
  attestationKey: {
    address: Address;
    registered: boolean;
    hash: Hex;
    height: string;
    receipt: { success: boolean; error: string };
  } | null;
};

type FullBlock = {
  hash: Hex;
  txs: { hash: Hex; msgType: string; from: Address; msg: Record<string, unknown> }[];
  receipts: { success: boolean; error: string }[];
};

describe('validator network (real processes)', { timeout: 600_000 }, () => {
  const testnet = useTestnet({
    validators: 4,
    blockTimeMs: BLOCK_TIME_MS,
    logsTo: process.env.AIVM_NETWORK_TEST_LOGS,
  });
  let net: Network;
  before(() => {
    net = testnet.net;
  });

  const validator = (node: NodeProcess, operator: Address) =>
    node.client.query<ValidatorView | null>('staking/validator', { operator });

  /** Waits until every node in `which` has made `blocks` more blocks, then checks they agree. */
  async function advances(which: NodeProcess[], blocks: bigint, timeoutMs: number): Promise<bigint> {
    const heights = await Promise.all(which.map((n) => n.height()));
    // biome-ignore lint/complexity/useMathMinMax: Math.max/min do not take bigint
    const top = heights.reduce((a, b) => (a > b ? a : b));
    await net.waitForHeight(which, top + blocks, timeoutMs);
    return (await net.commonHeight(which)).height;
  }

  it('four validators make blocks and agree on them', { timeout: 120_000 }, async () => {
    const common = await advances(net.nodes, 5n, 90_000);
    assert.ok(common >= 5n);
    // Every block after the first carries its parent's commit with >2/3 of the power (3 of 4).
    const block = await net.nodes[0]!.block(common);
    assert.ok(block!.lastCommit.signatures.length >= 3, JSON.stringify(block!.lastCommit));
  });

  it('one validator killed: the other three keep making blocks', { timeout: 120_000 }, async () => {
    await net.nodes[3]!.kill();
    const live = net.nodes.slice(0, 3);
    await advances(live, 10n, 90_000);
  });

  it('two validators killed: the chain halts without forking and resumes when they return', {
    timeout: 300_000,
  }, async () => {
    await net.nodes[2]!.kill();
    const live = net.nodes.slice(0, 2);
    // A block already decided when the second kill landed may still reach the other node (by
    // gossip or block sync); then the two settle on one head.
    const settled = await waitFor(
      'the two live validators to settle on one head',
      async () => {
        const [a, b] = await Promise.all(live.map((n) => n.height()));
        return a === b ? a : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, diagnose: () => net.diagnose() },
    );
    // Halted: 2 of 4 validators hold half the power, not more than two thirds.
    const haltedHash = (await net.commonHeight(live)).hash;
    for (let i = 0; i < 6; i++) {
      await sleep(1_000);
      const heights = await Promise.all(live.map((n) => n.height()));
      assert.deepEqual(heights, [settled, settled], `the chain advanced with 2 of 4 validators up`);
    }
    assert.equal((await net.commonHeight(live)).hash, haltedHash);

    await net.start([net.nodes[2]!, net.nodes[3]!]);
    await net.waitForHeight(net.nodes, settled + 5n, 180_000);
    const common = await net.commonHeight(net.nodes);
    assert.ok(common.height >= settled + 5n);
    for (const n of net.nodes) assert.equal(await n.hashAt(settled), haltedHash, n.name);
  });

  it('a new full node syncs from genesis, stakes and becomes a validator', {
    timeout: 300_000,
  }, async (t) => {
    const t0 = Date.now();
    const phase = (what: string) => t.diagnostic(`${what} after ${Date.now() - t0} ms`);
    const home = join(net.dir, 'joiner');
    const passwordFile = join(net.dir, 'joiner-password');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const base = await freePortRange(2);
    const init = await runAivm([
      'init',
      '--home',
      home,
      '--genesis',
      net.genesisPath,
      '--p2p-port',
      String(base),
      '--peers',
      net.peers.join(','),
      '--rpc-port',
      String(base + 1),
      '--password-file',
      passwordFile,
      '--json',
    ]);
    assert.equal(init.code, 0, init.stderr);
    const info = JSON.parse(init.stdout) as {
      consensusPubKey: Hex;
      operator: Address;
      attestationKey: Address;
    };
    const consensusAddress = validatorAddress(hexToBytes(info.consensusPubKey));

    phase('initialised');
    const joiner = new NodeProcess('joiner', home, `http://127.0.0.1:${base + 1}`);
    net.extra.push(joiner);
    await joiner.start({ blockTimeMs: BLOCK_TIME_MS });

    phase('started');
    // Sync from genesis up to where the validators are, on the same chain.
    const target = await net.nodes[0]!.height();
    assert.ok(target >= 20n, `only ${target} blocks to sync`);
    await net.waitForHeight([joiner], target, 120_000);
    await net.commonHeight([...net.nodes, joiner]);

    phase(`synced to ${target}`);
    // Fund the operator, then send createValidator through the new node (gossiped to the others).
    const funder = Wallet.fromMnemonic(DEV_MNEMONIC, 0, net.nodes[0]!.client);
    const funded = await funder.transfer(info.operator, 2_100n * CGPT);
    assert.equal((await net.nodes[0]!.client.waitForTx(funded, { timeoutMs: 60_000 })).receipt.success, true);
    await waitFor(
      'the funding to reach the new node',
      async () => (await joiner.client.getBalance(info.operator)) >= 2_100n * CGPT,
      { timeoutMs: 60_000 },
    );
    phase('funded');
    // aivm tx create-validator: stakes from the operator account with the consensus key, then
    // registers the attestation key of attestation.json with its proof of possession.
    const selfStake = 2_000n * CGPT;
    const created = await runAivm([
      'tx',
      'create-validator',
      '--home',
      home,
      '--amount',
      '2000',
      '--moniker',
      'joiner',
      '--commission',
      '0.1',
      '--password-file',
      passwordFile,
      '--rpc',
      joiner.rpcUrl,
      '--json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const out = JSON.parse(created.stdout) as CreateValidatorOutput;
    assert.equal(out.receipt.success, true, out.receipt.error);
    const rec = { height: BigInt(out.height) };
    assert.ok(out.attestationKey, created.stdout);
    assert.equal(out.attestationKey.address, info.attestationKey);
    assert.equal(out.attestationKey.registered, true, out.attestationKey.receipt.error);
    assert.equal(out.attestationKey.receipt.success, true);
    assert.ok(BigInt(out.attestationKey.height) > rec.height);
    // On chain: the validator's attestation key is the home's.
    const key = info.attestationKey.toLowerCase();
    const registered = await waitFor(
      'the attestation key on every node',
      async () => {
        const views = await Promise.all(net.live().map((n) => validator(n, info.operator)));
        return views.every((v) => v?.attestationKey.toLowerCase() === key) ? views[0] : undefined;
      },
      { timeoutMs: 30_000, diagnose: () => net.diagnose() },
    );
    assert.equal(registered!.operator, info.operator);

    phase(`createValidator committed at ${rec.height}`);
    // Bonded in the validator list (the active set is updated at the end of that block).
    const bonded = await waitFor(
      'the new validator to be bonded',
      async () => {
        const all = await net.nodes[0]!.client.query<ValidatorView[]>('staking/validators', {});
        return all.find(
          (v) => v.operator.toLowerCase() === info.operator.toLowerCase() && v.status === 'bonded',
        );
      },
      { timeoutMs: 30_000, diagnose: () => net.diagnose() },
    );
    assert.equal(bonded.consensusAddress.toLowerCase(), consensusAddress.toLowerCase());
    assert.equal(BigInt(bonded.tokens), selfStake);
    assert.equal(bonded.jailed, false);
    // In the active set, so in the current attestation set with its key and power.
    const attSet = await waitFor(
      'the attestation set to include the new validator',
      async () => {
        const set = await net.nodes[0]!.client.query<AttestationSetView>('staking/attestationSet', {});
        return set.members.some((m) => m.signer.toLowerCase() === key) ? set : undefined;
      },
      { timeoutMs: 30_000, diagnose: () => net.diagnose() },
    );
    assert.deepEqual(
      attSet.members.filter((m) => m.signer.toLowerCase() === key).map((m) => m.power),
      ['2000'],
    );

    phase('bonded');
    // Its precommits appear in later blocks' commits.
    const from = rec.height + 1n;
    let next = from;
    const signedAt = await waitFor(
      "the new validator's signature in a block's lastCommit",
      async () => {
        const head = await net.nodes[0]!.height();
        for (; next <= head; next++) {
          const block = await net.nodes[0]!.block(next);
          const signers = block!.lastCommit.signatures.map((s) => s.validator.toLowerCase());
          if (signers.includes(consensusAddress.toLowerCase())) return next;
        }
        return undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, diagnose: () => net.diagnose() },
    );
    phase(`signed the commit carried at ${signedAt}`);
    assert.ok(signedAt > rec.height);
    // Slashing tracks its liveness from the height it joined the set.
    const signing = await waitFor(
      'signing info of the new validator',
      async () =>
        (await net.nodes[0]!.client.query<{ startHeight: string } | null>('slashing/signingInfo', {
          consensusAddress,
        })) ?? undefined,
      { timeoutMs: 30_000 },
    );
    assert.ok(BigInt(signing.startHeight) > rec.height, `startHeight ${signing.startHeight}`);

    // It attests out of the box: a power change begins a new attestation set, and the new
    // validator's node signs its handover with the registered key, as a member of the set before.
    const delegated = await funder.send('staking/delegate', { validator: net.operators[0]!, amount: CGPT });
    const del = await net.nodes[0]!.client.waitForTx(delegated, { timeoutMs: 60_000 });
    assert.equal(del.receipt.success, true, del.receipt.error);
    const nextSet = await net.nodes[0]!.client.query<AttestationSetView>('staking/attestationSet', {});
    assert.ok(BigInt(nextSet.id) > BigInt(attSet.id), `set ${nextSet.id} after ${attSet.id}`);
    const handover = await waitFor(
      `AivmValidatorSet(${nextSet.id}) signed by the new validator's attestation key`,
      async () => {
        const a = await joiner.client.request<SetAttestation | null>('aivm_getValidatorSetAttestation', {
          setId: nextSet.id,
        });
        return a?.signatures.some((x) => x.signer.toLowerCase() === key) ? a : undefined;
      },
      { timeoutMs: 30_000, diagnose: () => net.diagnose() },
    );
    assert.equal(BigInt(handover.setId), BigInt(nextSet.id) - 1n);
    phase(`signed the handover to attestation set ${nextSet.id}`);
    await advances(net.live(), 3n, 60_000);
  });

  it('an equivocating validator is reported, slashed, tombstoned and leaves the set', {
    timeout: 300_000,
  }, async (t) => {
    const t0 = Date.now();
    const phase = (what: string) => t.diagnostic(`${what} after ${Date.now() - t0} ms`);
    const byz = net.nodes[3]!;
    const byzOperator = net.operators[3]!;
    const honest = net.nodes[0]!;
    const params = await honest.client.query<{ slashFractionDoubleSign: string }>('slashing/params', {});
    const fraction = BigInt(params.slashFractionDoubleSign);
    assert.ok(fraction > 0n);

    await byz.stop();
    const before = (await validator(honest, byzOperator))!;
    assert.equal(before.status, 'bonded');
    assert.equal(before.tombstoned, false);
    const bondedBefore = (await honest.client.query<ValidatorView[]>('staking/validators', {}))
      .filter((v) => v.status === 'bonded')
      .map((v) => v.operator.toLowerCase());
    const restartHeight = await honest.height();
    await net.start([byz], { equivocate: true });

    phase(`restarted equivocating at ${restartHeight}`);
    // Honest nodes see two conflicting votes and submit evidence, paid by their operator keys.
    const after = await waitFor(
      'the equivocating validator to be tombstoned',
      async () => {
        const v = await validator(honest, byzOperator);
        return v?.tombstoned ? v : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 300, diagnose: () => net.diagnose() },
    );
    phase('tombstoned');
    assert.equal(after.jailed, true);
    assert.equal(BigInt(after.tokens), BigInt(before.tokens) - decMul(BigInt(before.tokens), fraction));

    // Find the block holding the successful evidence transaction.
    let slashHeight: bigint | undefined;
    let reporter: Address | undefined;
    const top = await honest.height();
    for (let h = top; h > restartHeight && slashHeight === undefined; h--) {
      const block = await honest.client.request<FullBlock>('aivm_getBlock', {
        height: h.toString(),
        fullTxs: true,
      });
      block.txs.forEach((tx, i) => {
        if (tx.msgType === 'slashing/submitEvidence' && block.receipts[i]!.success) {
          slashHeight = h;
          reporter = tx.from;
        }
      });
    }
    assert.ok(slashHeight !== undefined, 'no successful slashing/submitEvidence transaction found');
    // Reported by one of the honest validators (the genesis ones or the new one), with its operator key.
    const honestOperators = bondedBefore.filter((o) => o !== byzOperator.toLowerCase());
    assert.ok(honestOperators.includes(reporter!.toLowerCase()), `reporter ${reporter}`);

    phase(`evidence committed at ${slashHeight}`);
    // Out of the active set, and absent from the commits of the heights after the set changed.
    await waitFor(
      'the equivocating validator to leave the bonded set',
      async () => (await validator(honest, byzOperator))?.status !== 'bonded',
      { timeoutMs: 30_000 },
    );
    const bondedNow = (await honest.client.query<ValidatorView[]>('staking/validators', {}))
      .filter((v) => v.status === 'bonded')
      .map((v) => v.operator.toLowerCase());
    // The others stay (three honest genesis validators and the new one).
    assert.deepEqual(bondedNow.sort(), bondedBefore.filter((o) => o !== byzOperator.toLowerCase()).sort());

    const honestNodes = net.live().filter((n) => n !== byz);
    await net.waitForHeight(honestNodes, slashHeight! + 8n, 60_000);
    const byzConsensus = after.consensusAddress.toLowerCase();
    for (let h = slashHeight! + 3n; h <= slashHeight! + 8n; h++) {
      const block = await honest.block(h);
      const signers = block!.lastCommit.signatures.map((s) => s.validator.toLowerCase());
      assert.ok(!signers.includes(byzConsensus), `height ${h} still carries its signature`);
      assert.ok(signers.length >= 3, `height ${h}: ${signers.length} signatures`);
    }
    // The honest validators carry on, on one chain.
    await byz.kill();
    await advances(honestNodes, 5n, 60_000);
  });
});
