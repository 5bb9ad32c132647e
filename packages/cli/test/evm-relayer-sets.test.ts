// Issue 15: the AIVM attestation set changes under an EVM light client, with real processes (anvil,
// a 1-validator devnet, `aivm relayer`). The light client is deployed on set n (genesis).
//
// 1. A delegation to the validator changes its power, so AIVM begins set n + 1; the relayer moves
//    the light client to it with AivmValidatorSet(n + 1) (aivm_getValidatorSetAttestation, signed
//    by set n) before it delivers the next attested result, and the light client then holds AIVM's
//    current set.
// 2. A power change keeps the signer: the old set's key is still a member, so it shows nothing
//    about old sets. What does is a member *replaced*: the validator rotates its attestation key
//    (staking/setAttestationKey with the new key's proof of possession), so set n + 2 has the new
//    key instead of the old one. The old key, still the node's, signs the handover (it is a member
//    of set n + 1); the node is then restarted with the new key in its home (`aivm start` on the
//    devnet's home: `aivm devnet` checks the home's keys against its genesis). The relayer carries
//    set n + 2 before the next delivery, which the new key attests. The old key's signature (from
//    the validator's real keystore) over that new result is refused by the light client
//    (NotAMember) and by the oracle, while the new key's is accepted.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { signAttestationKeyProof } from '@aivm/chain';
import {
  type Address,
  bytesToHex,
  encryptKeystore,
  hexToBytes,
  privateKeyToAddress,
  signDigest,
} from '@aivm/crypto';
import { getRequest, lightClientAbi, oracleAbi, requestInference, revertName } from '@aivm/evm';
import { AivmClient, getRequest as getAivmRequest, Wallet } from '@aivm/sdk';
import type { Hex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { DEV_MNEMONIC, loadAttestationKey, loadOperatorKey, writeFileAtomic } from '../src/home.ts';
import {
  type EvmStack,
  type RelayerProc,
  startEvmStack,
  startMiner,
  startRelayer,
  waitUntil,
} from './evm-helpers.ts';
import { startAivm } from './helpers.ts';

const DEV_PASSWORD = 'devnet';
const CGPT = 10n ** 18n;

type AttestationSetView = { id: string; members: { signer: Address; power: string }[]; totalPower: string };
type AttestationView = {
  digest: Hex;
  setId: string;
  signatures: { signer: Address; signature: Hex }[];
  signedPower: string;
  totalPower: string;
};

describe('the EVM light client follows the AIVM attestation set (anvil, devnet, relayers)', {
  timeout: 600_000,
}, () => {
  let s: EvmStack;
  let miner: ReturnType<typeof startMiner>;
  const running = new Set<RelayerProc>();
  let genesisSet: AttestationSetView;

  const relayer = (home: string) => {
    const r = startRelayer(s, join(s.dir, home), { evmAccount: 1, aivmAccount: 1, confirmations: 2 });
    running.add(r);
    return r;
  };
  const aivmSet = () => s.aivm.query<AttestationSetView>('staking/attestationSet', {});
  const lc = (functionName: 'setId' | 'membersHash' | 'totalPower') =>
    s.pub.readContract({ address: s.deployment.lightClient, abi: lightClientAbi, functionName });
  const powerOf = (signer: Address) =>
    s.pub.readContract({
      address: s.deployment.lightClient,
      abi: lightClientAbi,
      functionName: 'powerOf',
      args: [signer],
    });
  /** The light client holds exactly AIVM's set `set`: id, members (hash) and total power. */
  const assertLightClientHolds = async (set: AttestationSetView) => {
    assert.equal(await lc('setId'), BigInt(set.id));
    const hash = await s.pub.readContract({
      address: s.deployment.lightClient,
      abi: lightClientAbi,
      functionName: 'hashMembers',
      args: [set.members.map((m) => m.signer), set.members.map((m) => BigInt(m.power))],
    });
    assert.equal(await lc('membersHash'), hash);
    assert.equal(await lc('totalPower'), BigInt(set.totalPower));
    for (const m of set.members) assert.equal(await powerOf(m.signer), BigInt(m.power));
  };
  /** An on-chain-tier request for the digit 7, carried by relayer `r`; resolves with its relayer lines. */
  const carried = async (r: RelayerProc) => {
    const req = await requestInference(s.pub, s.wallets[2]!, {
      oracle: s.deployment.oracle,
      modelId: s.mnist,
      input: s.digit7,
      tier: 'onchain',
    });
    const done = await r.waitFor(
      (l) => l.event === 'done' && l.id === req.id.toString(),
      `request ${req.id}`,
    );
    assert.equal(done.outcome, 'delivered', JSON.stringify(r.lines));
    const at = (pred: (l: Record<string, unknown>) => boolean) => r.lines.findIndex(pred);
    return { req, at };
  };

  before(async () => {
    s = await startEvmStack();
    miner = startMiner(s.pub, 250);
    genesisSet = await aivmSet();
  });

  afterEach(async () => {
    for (const r of running) await r.stop();
    running.clear();
  });

  after(async () => {
    miner?.stop();
    for (const r of running) await r.stop();
    await s?.stop();
  });

  it('a delegation begins set n + 1: the relayer moves the light client to it before the next attested delivery', async () => {
    await assertLightClientHolds(genesisSet);
    const n = BigInt(genesisSet.id);
    const [validator] = await s.aivm.query<{ operator: Address }[]>('staking/validators', {});
    const delegator = Wallet.fromMnemonic(DEV_MNEMONIC, 5, s.aivm);
    const rec = await s.aivm.waitForTx(
      await delegator.send('staking/delegate', {
        validator: validator!.operator,
        amount: (10n * CGPT).toString(),
      }),
      { timeoutMs: 60_000 },
    );
    assert.equal(rec.receipt.success, true, rec.receipt.error);
    const next = await waitUntil(
      `attestation set ${n + 1n}`,
      async () => {
        const set = await aivmSet();
        return BigInt(set.id) === n + 1n ? set : undefined;
      },
      30_000,
    );
    // Same signer, 10 more power.
    assert.deepEqual(
      next.members.map((m) => m.signer),
      genesisSet.members.map((m) => m.signer),
    );
    assert.equal(BigInt(next.totalPower), BigInt(genesisSet.totalPower) + 10n);

    const r = relayer('delegation');
    const { req, at } = await carried(r);
    const moved = at((l) => l.event === 'light-client' && l.setId === (n + 1n).toString());
    const sent = at((l) => l.event === 'fulfill-sent' && l.id === req.id.toString());
    assert.ok(moved >= 0 && moved < sent, JSON.stringify(r.lines));
    await assertLightClientHolds(await aivmSet());
  });

  it('a member replaced (key rotation): the relayer carries set n + 2, and the old key can no longer sign a result', async () => {
    const home = join(s.dir, 'devnet');
    const oldKey = (await loadAttestationKey(home, DEV_PASSWORD))!;
    const oldSigner = privateKeyToAddress(oldKey);
    const newKey = hexToBytes(generatePrivateKey());
    const newSigner = privateKeyToAddress(newKey);
    const before = await aivmSet();
    assert.deepEqual(
      before.members.map((m) => m.signer),
      [oldSigner],
    );
    // The validator registers the new key, with the key's proof of possession.
    const operator = Wallet.fromPrivateKey((await loadOperatorKey(home, DEV_PASSWORD))!, s.aivm);
    const { chainId } = await s.aivm.status();
    const rec = await s.aivm.waitForTx(
      await operator.send('staking/setAttestationKey', {
        key: newSigner,
        signature: signAttestationKeyProof(chainId, operator.address, newKey),
      }),
      { timeoutMs: 60_000 },
    );
    assert.equal(rec.receipt.success, true, rec.receipt.error);
    const id = BigInt(before.id) + 1n;
    const replaced = await waitUntil(
      `attestation set ${id}`,
      async () => {
        const set = await aivmSet();
        return BigInt(set.id) === id ? set : undefined;
      },
      30_000,
    );
    assert.deepEqual(
      replaced.members.map((m) => [m.signer, m.power]),
      before.members.map((m) => [newSigner, m.power]),
    );
    // The handover is signed by the old key, a member of the set before.
    const handover = await waitUntil(
      `AivmValidatorSet(${id}) signed by the old key`,
      async () => {
        const a = await s.aivm.request<AttestationView | null>('aivm_getValidatorSetAttestation', {
          setId: id.toString(),
        });
        return a && BigInt(a.signedPower) * 3n > BigInt(a.totalPower) * 2n ? a : undefined;
      },
      30_000,
    );
    assert.deepEqual(
      handover.signatures.map((x) => x.signer),
      [oldSigner],
    );

    // The node signs with the key in its home: restart it with the new one.
    s.aivm.close();
    await s.devnet.stop();
    const keystore = await encryptKeystore(newKey, DEV_PASSWORD, { scryptN: 4096 });
    await writeFileAtomic(join(home, 'attestation.json'), `${JSON.stringify(keystore, null, 2)}\n`);
    s.devnet = await startAivm(['start', '--home', home, '--rpc-port', '0', '--log-level', 'warn'], {
      AIVM_VALIDATOR_PASSWORD: DEV_PASSWORD,
    });
    s.aivm = new AivmClient(s.devnet.rpcUrl, { wsUrl: s.devnet.wsUrl });

    const r = relayer('rotation');
    const { req, at } = await carried(r);
    const moved = at((l) => l.event === 'light-client' && l.setId === id.toString());
    const sent = at((l) => l.event === 'fulfill-sent' && l.id === req.id.toString());
    assert.ok(moved >= 0 && moved < sent, JSON.stringify(r.lines));
    await assertLightClientHolds(await aivmSet());
    assert.equal(await powerOf(oldSigner), 0n);
    await r.stop();

    // The delivered result, new: attested by the new key only.
    const opened = r.lines.find((l) => l.event === 'aivm-opened' && l.id === req.id.toString())!;
    const aivmId = BigInt(opened.aivmRequestId as string);
    const att = (await s.aivm.request<AttestationView>('aivm_getAttestations', {
      requestId: aivmId.toString(),
    }))!;
    assert.equal(att.setId, id.toString());
    assert.deepEqual(
      att.signatures.map((x) => x.signer),
      [newSigner],
    );
    const oldSig = bytesToHex(signDigest(hexToBytes(att.digest), oldKey)) as Hex;
    const newSig = att.signatures[0]!.signature;
    const verify = (sig: Hex) =>
      s.pub.readContract({
        address: s.deployment.lightClient,
        abi: lightClientAbi,
        functionName: 'verifyAttestation',
        args: [att.digest, sig],
      });
    await assert.rejects(verify(oldSig), (err) => revertName(err) === 'NotAMember');
    assert.equal(await verify(newSig), true);
    // At the oracle: an open request for the same model, tier and input, with that AIVM result.
    const open = await requestInference(s.pub, s.wallets[2]!, {
      oracle: s.deployment.oracle,
      modelId: s.mnist,
      input: s.digit7,
      tier: 'onchain',
    });
    const output = (await getAivmRequest(s.aivm, aivmId)).output;
    const deliver = (sig: Hex) =>
      s.pub.simulateContract({
        account: s.wallets[3]!.account!,
        address: s.deployment.oracle,
        abi: oracleAbi,
        functionName: 'fulfillAttested',
        args: [open.id, aivmId, bytesToHex(output) as Hex, sig],
      });
    await assert.rejects(deliver(oldSig), (err) => revertName(err) === 'NotAMember');
    await deliver(newSig);
    assert.equal((await getRequest(s.pub, s.deployment.oracle, open.id)).status, 'Pending');
  });
});
