// Issue 15, AIVM for EVM chains, with real processes: anvil (the EVM node), an AIVM devnet with its
// inference provider, `aivm evm deploy` and `aivm relayer` processes. A DigitGame consumer asks
// for the sample handwritten 7 on the zk tier: the relayer opens the AIVM request, follows it,
// delivers it with its Groth16 proof through the MNIST verifier contract, and the game's callback
// gets class 7; the delivered proof also verifies locally. The relayer killed with SIGKILL at each
// stage (AIVM_RELAYER_CRASH_AT) and started again delivers each request exactly once, opening one
// AIVM request each; two relayers at once deliver once; a request reorged away within the
// confirmation depth is never carried and the request that replaced it under the same id is.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DigitGame,
  getDeliveries,
  inputHashOf,
  oracleAbi,
  requestInference,
  u8ToHex,
  verifyDeliveredProof,
  watchRequest,
} from '@aivm/evm';
import { CRASH_STAGES } from '@aivm/evm/relayer';
import { getRequest as getAivmRequest } from '@aivm/sdk';
import { type Hex, parseEventLogs } from 'viem';
import {
  deployDigitGame,
  type EvmStack,
  playDigit,
  type RelayerProc,
  startEvmStack,
  startMiner,
  startRelayer,
} from './evm-helpers.ts';

const CONFIRMATIONS = 3;

describe('EVM relayer with anvil, a devnet and relayer processes', { timeout: 1_800_000 }, () => {
  let s: EvmStack;
  let miner: ReturnType<typeof startMiner>;
  let game: Hex;
  const running = new Set<RelayerProc>();

  /** Nonce of an AIVM dev account: the relayer's account sends only inference/request. */
  const aivmNonce = async (i: number) => {
    const { mnemonicToPrivateKey, privateKeyToAddress } = await import('@aivm/crypto');
    const { DEV_MNEMONIC } = await import('@aivm/sdk');
    const a = privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, i));
    return (await s.aivm.getAccount(a)).nonce;
  };

  const relayer = (home: string, o: Parameters<typeof startRelayer>[2]) => {
    const r = startRelayer(s, join(s.dir, home), { confirmations: CONFIRMATIONS, ...o });
    running.add(r);
    return r;
  };

  const doneFor = (r: RelayerProc, id: bigint) =>
    r.waitFor((l) => l.event === 'done' && l.id === id.toString(), `request ${id} done`);

  before(async () => {
    s = await startEvmStack();
    miner = startMiner(s.pub, 250);
    game = await deployDigitGame(s, 2);
  });

  after(async () => {
    miner?.stop();
    for (const r of running) await r.stop();
    await s?.stop();
    // snarkjs' worker threads (the local proof check) would keep the test process alive.
    await (await import('@aivm/zk/verify')).releaseCurve();
  });

  it('zk tier: DigitGame gets class 7 for the real digit, the proof verifies locally', async () => {
    const r = relayer('zk', { evmAccount: 1, aivmAccount: 1 });
    const play = await playDigit(s, game, s.digit7);
    const steps: string[] = [];
    const watched = await watchRequest(s.pub, s.deployment.oracle, play.id, {
      aivm: s.aivm,
      timeoutMs: 300_000,
      onStep: (st) => steps.push(`${st.chain}:${st.status}`),
    });
    assert.equal(watched.request.status, 'Fulfilled', steps.join(' '));
    assert.equal(watched.argmax, 7);
    assert.equal(watched.delivery?.path, 'zk');
    assert.equal(watched.delivery?.relayer.toLowerCase(), s.wallets[1]!.account!.address.toLowerCase());
    // The game's callback ran: Result(classified 7), won exactly when the target was 7.
    const receipt = await s.pub.getTransactionReceipt({ hash: watched.delivery!.txHash });
    const result = parseEventLogs({ abi: DigitGame.abi, logs: receipt.logs, eventName: 'Result' })[0];
    assert.equal(result?.args.requestId, play.id);
    assert.equal(result?.args.classified, 7n);
    assert.equal(result?.args.won, play.target === 7);
    // Across both chains: the AIVM request the relayer noted (markRelayed) was proven and finalized.
    const done = await doneFor(r, play.id);
    assert.equal(done.outcome, 'delivered');
    const opened = r.lines.find((l) => l.event === 'aivm-opened' && l.id === play.id.toString());
    const aivmReq = await getAivmRequest(s.aivm, BigInt(opened!.aivmRequestId as string));
    assert.equal(aivmReq.status, 'finalized');
    assert.equal(aivmReq.cls, 7);
    assert.equal(u8ToHex(aivmReq.output), watched.delivery?.output);
    assert.ok(steps.includes('evm:Fulfilled'), steps.join(' '));
    assert.ok(steps.includes('aivm:finalized'), steps.join(' '));
    const verified = await verifyDeliveredProof(s.pub, s.deployment.oracle, play.id, { aivm: s.aivm });
    assert.equal(verified.valid, true);
    assert.equal((await getDeliveries(s.pub, s.deployment.oracle, play.id)).length, 1);
    await r.stop();
  });

  it("on-chain tier: delivered with the validators' attestation, checked by the light client", async () => {
    const r = relayer('attested', { evmAccount: 1, aivmAccount: 1 });
    const req = await requestInference(s.pub, s.wallets[2]!, {
      oracle: s.deployment.oracle,
      modelId: s.mnist,
      input: s.digit7,
      tier: 'onchain',
    });
    const done = await doneFor(r, req.id);
    assert.equal(done.outcome, 'delivered', JSON.stringify(r.lines));
    const [delivery, ...more] = await getDeliveries(s.pub, s.deployment.oracle, req.id);
    assert.equal(more.length, 0);
    assert.equal(delivery?.path, 'attested');
    // The oracle holds the AIVM request id the signatures were over, and the bytes AIVM finalized.
    const onChain = await s.pub.readContract({
      address: s.deployment.oracle,
      abi: oracleAbi,
      functionName: 'getRequest',
      args: [req.id],
    });
    const aivmReq = await getAivmRequest(s.aivm, onChain.aivmRequestId);
    assert.equal(aivmReq.status, 'finalized');
    assert.equal(aivmReq.cls, 7);
    assert.equal(u8ToHex(aivmReq.output), delivery?.output);
    assert.equal(onChain.output, delivery?.output, 'no callback: the oracle stores the bytes');
    await r.stop();
  });

  it('a relayer killed with SIGKILL at each stage and restarted delivers each request exactly once', async () => {
    for (const stage of CRASH_STAGES) {
      const nonce0 = await aivmNonce(2);
      const req = await requestInference(s.pub, s.wallets[2]!, {
        oracle: s.deployment.oracle,
        modelId: s.mnist,
        input: s.digit7,
        tier: 'zk',
      });
      const home = `crash-${stage}`;
      const crashing = relayer(home, {
        evmAccount: 3,
        aivmAccount: 2,
        env: { AIVM_RELAYER_CRASH_AT: stage },
      });
      const exit = await crashing.exited;
      assert.equal(
        exit.signal,
        'SIGKILL',
        `${stage}: ${JSON.stringify(crashing.lines)}\n${crashing.stderr()}`,
      );
      assert.ok(crashing.lines.some((l) => l.event === 'crash' && l.stage === stage));
      const again = relayer(home, { evmAccount: 3, aivmAccount: 2 });
      const done = await doneFor(again, req.id);
      // 'fulfill': the transaction sent before the kill is the delivery; the restart finds it mined.
      assert.equal(done.outcome, 'delivered', `${stage}: ${JSON.stringify(again.lines)}`);
      const deliveries = await getDeliveries(s.pub, s.deployment.oracle, req.id);
      assert.equal(deliveries.length, 1, stage);
      assert.equal(deliveries[0]!.path, 'zk');
      // One AIVM request for the oracle request, whatever the crash point.
      assert.equal((await aivmNonce(2)) - nonce0, 1n, stage);
      assert.equal(await again.stop().then((e) => e.code), 0);
    }
  });

  it('two relayers at once: one delivery, the other stops', async () => {
    const a = relayer('pair-a', { evmAccount: 1, aivmAccount: 1 });
    const b = relayer('pair-b', { evmAccount: 4, aivmAccount: 3 });
    const req = await requestInference(s.pub, s.wallets[2]!, {
      oracle: s.deployment.oracle,
      modelId: s.mnist,
      input: s.digit7,
      tier: 'zk',
    });
    const [da, db] = await Promise.all([doneFor(a, req.id), doneFor(b, req.id)]);
    const outcomes = [da.outcome, db.outcome].sort();
    assert.deepEqual(outcomes, ['delivered', 'delivered-by-other']);
    assert.equal((await getDeliveries(s.pub, s.deployment.oracle, req.id)).length, 1);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('a request reorged away within the confirmation depth is never carried; its replacement is, once', async () => {
    const r = relayer('reorg', { evmAccount: 1, aivmAccount: 1 });
    await r.waitFor((l) => l.event === 'started', 'relayer start');
    const nonce0 = await aivmNonce(1);
    miner.pause();
    const snap = (await s.pub.request({ method: 'evm_snapshot' as never })) as Hex;
    const zero = new Uint8Array(784);
    const gone = await requestInference(s.pub, s.wallets[2]!, {
      oracle: s.deployment.oracle,
      modelId: s.mnist,
      input: s.digit7,
      tier: 'zk',
    });
    // One more block: the request has 2 confirmations, one short of the relayer's 3.
    await s.pub.request({ method: 'anvil_mine' as never, params: ['0x1'] as never });
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(await s.pub.request({ method: 'evm_revert' as never, params: [snap] as never }), true);
    const kept = await requestInference(s.pub, s.wallets[2]!, {
      oracle: s.deployment.oracle,
      modelId: s.mnist,
      input: zero,
      tier: 'zk',
    });
    assert.equal(kept.id, gone.id, 'the replacement takes the same oracle id');
    miner.resume();
    const done = await doneFor(r, kept.id);
    assert.equal(done.outcome, 'delivered');
    const onChain = await s.pub.readContract({
      address: s.deployment.oracle,
      abi: oracleAbi,
      functionName: 'getRequest',
      args: [kept.id],
    });
    assert.equal(onChain.inputHash, inputHashOf(zero));
    assert.equal((await getDeliveries(s.pub, s.deployment.oracle, kept.id)).length, 1);
    assert.equal((await aivmNonce(1)) - nonce0, 1n, 'one AIVM request: the reorged one was never opened');
    const requested = r.lines.filter((l) => l.event === 'request' && l.id === kept.id.toString());
    assert.equal(requested.length, 1);
    await r.stop();
  });
});
