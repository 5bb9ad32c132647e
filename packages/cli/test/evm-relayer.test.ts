// Issue 15, AIVM for EVM chains, with real processes: anvil (the EVM node), an AIVM devnet with its
// inference provider, `aivm evm deploy` and `aivm relayer` processes. A DigitGame consumer asks
// for the sample handwritten 7 on the zk tier: the relayer opens the AIVM request, follows it,
// delivers it with its Groth16 proof through the MNIST verifier contract, and the game's callback
// gets class 7; the delivered proof also verifies locally. The relayer killed with SIGKILL at each
// stage (AIVM_RELAYER_CRASH_AT) and started again delivers each request exactly once, opening one
// AIVM request each; two relayers at once deliver once; a request reorged away within the
// confirmation depth is never carried and the request that replaced it under the same id is. A
// reorg deeper than the confirmation depth (the cursor's block gone): the relayer walks back and
// scans again, a surviving request whose delivery was reorged away is delivered again once with
// the result it holds (no second AIVM request), a vanished one is never delivered, and the request
// that took its id is, once. A second relayer adopts the AIVM request the first noted on the
// oracle (markRelayed) after checking it on AIVM, and opens none; a third party's markRelayed
// with an unrelated or unknown AIVM request id is refused and the relayer opens its own.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  DigitGame,
  getDeliveries,
  getRequest,
  inputHashOf,
  modelIdToBytes32,
  oracleAbi,
  quote,
  requestedIn,
  requestInference,
  u8ToHex,
  verifyDeliveredProof,
  watchRequest,
  writeAndWait,
} from '@aivm/evm';
import { CRASH_STAGES } from '@aivm/evm/relayer';
import { getRequest as getAivmRequest } from '@aivm/sdk';
import { encodeFunctionData, type Hex, parseEventLogs } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_CHAIN_ID, ANVIL_KEYS } from '../../../test-support/anvil.ts';
import {
  deployDigitGame,
  type EvmStack,
  playDigit,
  type RelayerProc,
  startEvmStack,
  startMiner,
  startRelayer,
  waitUntil,
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
  /** The first line matching `pred` after the line `since` (an index into r.lines). */
  const lineAfter = (
    r: RelayerProc,
    since: number,
    pred: (l: Record<string, unknown>) => boolean,
    what: string,
  ) => r.waitFor((l) => r.lines.indexOf(l) > since && pred(l), what);
  const mine = (n = 1) =>
    s.pub.request({ method: 'anvil_mine' as never, params: [`0x${n.toString(16)}`] as never });
  /** The AIVM request id of the adoption test (digit 7, zk): an unrelated one for the bogus mark. */
  let digit7ZkAivmId: bigint | undefined;

  before(async () => {
    s = await startEvmStack();
    miner = startMiner(s.pub, 250);
    game = await deployDigitGame(s, 2);
  });

  // A failing test must leave neither a relayer running nor the chain without blocks.
  afterEach(async () => {
    miner?.resume();
    for (const r of running) await r.stop();
    running.clear();
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

  it('a reorg deeper than the confirmations: walked back, the surviving request delivered again once, the vanished one never, its replacement once', async (t) => {
    const r = relayer('deep-reorg', { evmAccount: 1, aivmAccount: 1 });
    await r.waitFor((l) => l.event === 'started', 'relayer start');
    const nonce0 = await aivmNonce(1);
    const oracle = s.deployment.oracle;
    const snap = (await s.pub.request({ method: 'evm_snapshot' as never })) as Hex;
    // S (on-chain tier, attested: delivered within seconds) is sent as a raw transaction kept here,
    // so that the other branch can include it again, as a real reorg usually does.
    const w = s.wallets[2]!;
    const price = await quote(s.pub, oracle, s.mnist, 'onchain');
    const account = privateKeyToAccount(ANVIL_KEYS[2]);
    const data = encodeFunctionData({
      abi: oracleAbi,
      functionName: 'requestInference',
      args: [modelIdToBytes32(s.mnist), u8ToHex(s.digit7), 1, 0, '0x'],
    });
    const value = price + price / 10n;
    const fees = await s.pub.estimateFeesPerGas();
    const sRaw = await account.signTransaction({
      type: 'eip1559',
      chainId: ANVIL_CHAIN_ID,
      to: oracle,
      data,
      value,
      nonce: await s.pub.getTransactionCount({ address: account.address }),
      gas: ((await s.pub.estimateGas({ account: account.address, to: oracle, data, value })) * 3n) / 2n,
      maxFeePerGas: fees.maxFeePerGas * 2n,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const sHash = await s.pub.sendRawTransaction({ serializedTransaction: sRaw });
    const sId = requestedIn((await s.pub.waitForTransactionReceipt({ hash: sHash })).logs, oracle).id;
    // V (zk tier, input zero): it vanishes with the branch once its AIVM request is open.
    const zero = new Uint8Array(784);
    const v = await requestInference(s.pub, w, { oracle, modelId: s.mnist, input: zero, tier: 'zk' });
    assert.equal(v.id, sId + 1n);
    await r.waitFor(
      (l) => l.event === 'done' && l.id === sId.toString() && l.outcome === 'delivered',
      'S delivered on the first branch',
    );
    await r.waitFor((l) => l.event === 'aivm-opened' && l.id === v.id.toString(), 'V opened on AIVM');
    const headOf = () => s.pub.getBlockNumber({ cacheTime: 0 });
    const cursorGone = await headOf();
    // Back below both requests: every block the relayer acted on (3 confirmations) is gone.
    miner.pause();
    assert.equal(await s.pub.request({ method: 'evm_revert' as never, params: [snap] as never }), true);
    const head = await headOf();
    assert.ok(head < cursorGone - 3n, `head ${head} after the revert, ${cursorGone} before`);
    const since = r.lines.length - 1;
    // The other branch: S again (the same transaction, the same id), and R under V's id.
    await s.pub.waitForTransactionReceipt({
      hash: await s.pub.sendRawTransaction({ serializedTransaction: sRaw }),
    });
    assert.equal(
      (await getRequest(s.pub, oracle, sId)).status,
      'Pending',
      "S's delivery went with the old branch",
    );
    const rr = await requestInference(s.pub, s.wallets[3]!, {
      oracle,
      modelId: s.mnist,
      input: s.digit7,
      tier: 'onchain',
    });
    assert.equal(rr.id, v.id, 'R takes the id V had');
    miner.resume();
    const reorg = await lineAfter(r, since, (l) => l.event === 'reorg', 'the reorg');
    assert.ok(BigInt(reorg.to as string) < BigInt(reorg.from as string));
    await lineAfter(
      r,
      since,
      (l) => l.event === 'done' && l.id === sId.toString() && l.outcome === 'delivered',
      'S delivered again',
    );
    const rDone = await lineAfter(
      r,
      since,
      (l) => l.event === 'done' && l.id === rr.id.toString() && l.outcome === 'delivered',
      'R delivered',
    );
    // Exactly once each on the chain as it is now.
    const [sDelivery, ...sMore] = await getDeliveries(s.pub, oracle, sId);
    assert.equal(sMore.length, 0);
    assert.equal(sDelivery?.path, 'attested');
    const [rDelivery, ...rMore] = await getDeliveries(s.pub, oracle, rr.id);
    assert.equal(rMore.length, 0);
    assert.equal(rDelivery?.txHash, rDone.txHash);
    // R's own result was delivered, never V's: the oracle holds R's input, and the output is the one
    // AIVM finalized for the AIVM request R's job opened.
    const onChain = await getRequest(s.pub, oracle, rr.id);
    assert.equal(onChain.inputHash, inputHashOf(s.digit7));
    const rOpened = r.lines.filter((l) => l.event === 'aivm-opened' && l.id === rr.id.toString()).at(-1)!;
    assert.equal(
      u8ToHex((await getAivmRequest(s.aivm, BigInt(rOpened.aivmRequestId as string))).output),
      rDelivery?.output,
    );
    // AIVM requests: S once (its stored result was delivered again), V once, R once.
    assert.equal((await aivmNonce(1)) - nonce0, 3n);
    assert.equal(r.lines.filter((l) => l.event === 'aivm-opened' && l.id === sId.toString()).length, 1);
    assert.equal(r.lines.filter((l) => l.event === 'request' && l.id === sId.toString()).length, 1);
    assert.ok(r.lines.some((l) => l.event === 'reopened' && l.id === sId.toString()));
    // V's job (still waiting for its proof at the reorg) ends as 'gone' once its AIVM request
    // finishes: its result is delivered nowhere.
    const vDone = await r.waitFor(
      (l) => l.event === 'done' && l.id === v.id.toString() && l.requestTx === v.txHash,
      "V's job to end",
    );
    assert.equal(vDone.outcome, 'gone');
    assert.equal((await getDeliveries(s.pub, oracle, v.id)).length, 1, "R's delivery only");
    t.diagnostic(
      `relayer after the revert: ${JSON.stringify(r.lines.slice(since + 1).map(({ atMs, ...l }) => l))}`,
    );
    await r.stop();
  });

  it('a second relayer adopts the AIVM request the first noted on the oracle: it opens none, one delivery', async () => {
    const a = relayer('adopt-a', { evmAccount: 1, aivmAccount: 1 });
    await a.waitFor((l) => l.event === 'started', 'relayer start');
    const [nonceA, nonceB] = [await aivmNonce(1), await aivmNonce(3)];
    const req = await requestInference(s.pub, s.wallets[2]!, {
      oracle: s.deployment.oracle,
      modelId: s.mnist,
      input: s.digit7,
      tier: 'zk',
    });
    // The first relayer opens the AIVM request and notes it (markRelayed); it stops before delivering.
    const noted = await waitUntil(
      'the first relayer to note its AIVM request',
      async () => {
        const o = await getRequest(s.pub, s.deployment.oracle, req.id);
        return o.status === 'Relayed' ? o : undefined;
      },
      120_000,
    );
    await a.stop();
    assert.equal(
      (await getRequest(s.pub, s.deployment.oracle, req.id)).status,
      'Relayed',
      'not delivered yet',
    );
    digit7ZkAivmId = noted.aivmRequestId;
    const b = relayer('adopt-b', { evmAccount: 4, aivmAccount: 3, fromBlock: req.blockNumber });
    const adopted = await b.waitFor(
      (l) => l.event === 'aivm-adopted' && l.id === req.id.toString(),
      'adoption',
    );
    assert.equal(adopted.aivmRequestId, noted.aivmRequestId.toString());
    assert.equal((await doneFor(b, req.id)).outcome, 'delivered', JSON.stringify(b.lines));
    const [delivery, ...more] = await getDeliveries(s.pub, s.deployment.oracle, req.id);
    assert.equal(more.length, 0);
    assert.equal(delivery?.path, 'zk');
    assert.equal(delivery?.relayer.toLowerCase(), s.wallets[4]!.account!.address.toLowerCase());
    assert.equal(u8ToHex((await getAivmRequest(s.aivm, noted.aivmRequestId)).output), delivery?.output);
    assert.equal(await aivmNonce(3), nonceB, 'the second relayer opened no AIVM request');
    assert.equal((await aivmNonce(1)) - nonceA, 1n);
    // The first relayer, started again, follows its AIVM request to the end and finds it delivered.
    const again = relayer('adopt-a', { evmAccount: 1, aivmAccount: 1 });
    assert.equal((await doneFor(again, req.id)).outcome, 'delivered-by-other');
    assert.equal((await getDeliveries(s.pub, s.deployment.oracle, req.id)).length, 1);
    await Promise.all([b.stop(), again.stop()]);
  });

  it("a third party's markRelayed with an unrelated or unknown AIVM request id does not stop delivery", async () => {
    assert.ok(digit7ZkAivmId !== undefined, 'runs after the adoption test');
    const r = relayer('bogus', { evmAccount: 1, aivmAccount: 1 });
    await r.waitFor((l) => l.event === 'started', 'relayer start');
    const nonce0 = await aivmNonce(1);
    const oracle = s.deployment.oracle;
    // Requests and marks in consecutive blocks: each mark lands before the request has 3 confirmations.
    miner.pause();
    const zero = new Uint8Array(784);
    const one = await requestInference(s.pub, s.wallets[2]!, {
      oracle,
      modelId: s.mnist,
      input: zero,
      tier: 'zk',
    });
    const two = await requestInference(s.pub, s.wallets[2]!, {
      oracle,
      modelId: s.mnist,
      input: s.digit7,
      tier: 'onchain',
    });
    const mark = (id: bigint, aivmRequestId: bigint) =>
      writeAndWait(s.pub, s.wallets[0]!, {
        address: oracle,
        abi: oracleAbi,
        functionName: 'markRelayed',
        args: [id, aivmRequestId],
      });
    // `one`: a real AIVM request of the same model and tier, for another input (the digit 7).
    await mark(one.id, digit7ZkAivmId);
    // `two`: an id AIVM never had.
    await mark(two.id, 2n ** 62n);
    await mine(2);
    miner.resume();
    for (const [req, reason] of [
      [one, /another input/],
      [two, /no such request/],
    ] as const) {
      const refused = await r.waitFor(
        (l) => l.event === 'adopt-refused' && l.id === req.id.toString(),
        'refusal',
      );
      assert.match(refused.reason as string, reason);
      assert.equal((await doneFor(r, req.id)).outcome, 'delivered', JSON.stringify(r.lines));
      const deliveries = await getDeliveries(s.pub, oracle, req.id);
      assert.equal(deliveries.length, 1);
      const opened = r.lines.find((l) => l.event === 'aivm-opened' && l.id === req.id.toString())!;
      assert.equal(
        u8ToHex((await getAivmRequest(s.aivm, BigInt(opened.aivmRequestId as string))).output),
        deliveries[0]!.output,
      );
    }
    assert.equal((await aivmNonce(1)) - nonce0, 2n, 'its own AIVM request for each');
    await r.stop();
  });
});
