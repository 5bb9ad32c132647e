// Issue 15, the zk path for a committed-input model, with real processes: anvil WITHOUT
// --disable-code-size-limit (a committed-input verifier has 11 public signals and fits EIP-170's
// 24,576 bytes), an AIVM devnet with its provider, a small digit-classifier-shaped model (Gemm
// 8→6, Relu, Gemm 6→10: the one the contracts tests use) published with `aivm model publish
// --tiers zk --zk-inputs committed` from the key cache the devnet's provider uses (dev keys are
// cached by circuit hash, so the published verification key and the provider's proving key agree),
// `aivm evm deploy`, and an `aivm relayer` process:
// - requestInferenceCommitted from an account, its input in a data: URI: the relayer reads it,
//   opens the AIVM zk request and delivers with fulfillZk exactly once; the output is what AIVM
//   finalized and what a local run gives, and the proof verifies locally;
// - a request whose URI holds other bytes than the commitment is refused by the relayer (its JSON
//   lines say why), never opened on AIVM, and refunded with exactly its fee after the timeout;
// - malformed, unsupported and unreachable URIs: the same, and the relayer keeps delivering
//   (an input served over http is delivered meanwhile).

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mnemonicToPrivateKey, privateKeyToAddress } from '@aivm/crypto';
import {
  connectEvm,
  dataURIBytes,
  decodeOutput,
  getDeliveredProof,
  getDeliveries,
  getOracleModel,
  getRequest,
  inputDataURI,
  oracleAbi,
  oracleEvents,
  quote,
  requestInferenceCommitted,
  u8ToHex,
  verifyDeliveredProof,
  writeAndWait,
} from '@aivm/evm';
import { MAX_INPUT_URI_BYTES } from '@aivm/evm/relayer';
import { execute } from '@aivm/node';
import { encodeArtifact } from '@aivm/runtime';
import {
  AivmClient,
  DEV_MNEMONIC,
  getRequest as getAivmRequest,
  getModel,
  getModelIO,
  getModelVerificationKey,
  quantizeInput,
} from '@aivm/sdk';
import { commitInputs, decodeVerificationKey } from '@aivm/zk';
import type { Address, Hex, PublicClient, WalletClient } from 'viem';
import { ANVIL_KEYS, type Anvil, startAnvil } from '../../../test-support/anvil.ts';
import { digitModel } from '../../contracts/test/zk-fixture.ts';
import { type EvmStack, type RelayerProc, startMiner, startRelayer, waitUntil } from './evm-helpers.ts';
import { type RunningNode, runAivm, startDevnet, tempDir, ZK_KEYS } from './helpers.ts';

/** EIP-170: the most code a contract may have on a real chain. */
const EIP170 = 24_576;
/** Blocks after which an undelivered request can be refunded (the test mines past it). */
const TIMEOUT_BLOCKS = 400;
const RELAYER_AIVM_ACCOUNT = 1;

describe('EVM zk path for a committed-input model, anvil at the real code size limit', {
  timeout: 600_000,
}, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let anvil: Anvil;
  let devnet: RunningNode;
  let aivm: AivmClient;
  let pub: PublicClient;
  let wallets: WalletClient[];
  let miner: ReturnType<typeof startMiner>;
  let relayer: RelayerProc;
  let http: Server;
  let httpUrl: string;
  let oracle: Address;
  let modelId: string;
  let deployed: {
    modelId: Hex;
    verifier: Address;
    inputMode: string;
    inputLen: number;
    outputLen: number;
  };
  const model = digitModel();
  /** The bytes the http server hands out, by path. */
  const served = new Map<string, Uint8Array>();
  /** Input bytes of a float row, quantized as the published model quantizes them. */
  let quantized: (row: number[]) => Uint8Array;

  const relayerAivmNonce = async () =>
    (await aivm.getAccount(privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, RELAYER_AIVM_ACCOUNT))))
      .nonce;
  const doneFor = (id: bigint, timeoutMs?: number) =>
    relayer.waitFor((l) => l.event === 'done' && l.id === id.toString(), `request ${id} done`, timeoutMs);
  const linesFor = (id: bigint) => relayer.lines.filter((l) => l.id === id.toString());

  const request = (from: number, input: Uint8Array, inputURI: string) =>
    requestInferenceCommitted(pub, wallets[from]!, {
      oracle,
      modelId,
      input,
      inputURI,
      tier: 'zk',
    });

  /** Mines past the request's deadline, refunds it from another account, checks the exact fee came back. */
  const refundExactly = async (id: bigint, requester: number) => {
    const req = await getRequest(pub, oracle, id);
    const head = await pub.getBlockNumber();
    if (head <= req.deadline)
      await pub.request({
        method: 'anvil_mine' as never,
        params: [`0x${(req.deadline - head + 1n).toString(16)}`] as never,
      });
    const who = wallets[requester]!.account!.address;
    const before = await pub.getBalance({ address: who });
    const r = await writeAndWait(pub, wallets[0]!, {
      address: oracle,
      abi: oracleAbi,
      functionName: 'refund',
      args: [id],
    });
    const refunded = oracleEvents(r.logs).find((e) => e.eventName === 'Refunded');
    assert.equal((refunded?.args as { amount: bigint } | undefined)?.amount, req.fee);
    assert.equal((await pub.getBalance({ address: who })) - before, req.fee);
    assert.equal((await getRequest(pub, oracle, id)).status, 'Refunded');
    return req.fee;
  };

  /** The requester's balance around a request: what it paid is the fee plus the transaction's gas. */
  const requestPaying = async (from: number, input: Uint8Array, inputURI: string) => {
    const who = wallets[from]!.account!.address;
    const before = await pub.getBalance({ address: who });
    const r = await request(from, input, inputURI);
    const receipt = await pub.getTransactionReceipt({ hash: r.txHash });
    const after = await pub.getBalance({ address: who });
    const fee = (await getRequest(pub, oracle, r.id)).fee;
    assert.equal(before - after, fee + receipt.gasUsed * receipt.effectiveGasPrice);
    return { ...r, before, after, fee };
  };

  before(async () => {
    dir = await tempDir('aivm-evm-committed-');
    [anvil, devnet] = await Promise.all([startAnvil(), startDevnet(join(dir.path, 'devnet'))]);
    aivm = new AivmClient(devnet.rpcUrl, { wsUrl: devnet.wsUrl });
    const clients = await Promise.all(
      ANVIL_KEYS.map((k) => connectEvm(anvil.url, k, { pollingInterval: 100 })),
    );
    pub = clients[0]!.pub;
    wallets = clients.map((c) => c.wallet!);
    await waitUntil(
      'the devnet provider to register',
      async () => Boolean(await aivm.query('inference/provider', { address: devnet.info.provider })),
      180_000,
      () => devnet.stderr(),
    );
    // The model, published with its committed-input circuit's key from the provider's key cache.
    const file = join(dir.path, 'digit.aivm');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, encodeArtifact(model));
    const published = await runAivm(
      [
        '--rpc',
        devnet.rpcUrl,
        '--json',
        'model',
        'publish',
        file,
        '--name',
        'digit-committed',
        '--tiers',
        'zk',
        '--zk-inputs',
        'committed',
        '--price',
        '0.01',
        '--dev-account',
        '0',
      ],
      { AIVM_ZK_KEYS: ZK_KEYS },
    );
    assert.equal(published.code, 0, published.stderr);
    modelId = (JSON.parse(published.stdout) as { id: string }).id;
    const io = await getModelIO(aivm, modelId);
    quantized = (row) => quantizeInput(io, [row]);
    const deploy = await runAivm([
      '--json',
      'evm',
      'deploy',
      '--evm-rpc',
      anvil.url,
      '--dev-account',
      '0',
      '--aivm-rpc',
      devnet.rpcUrl,
      '--models',
      modelId,
      '--wei-per-cgpt',
      '0.001',
      '--timeout-blocks',
      String(TIMEOUT_BLOCKS),
    ]);
    assert.equal(deploy.code, 0, deploy.stderr);
    const d = JSON.parse(deploy.stdout) as { oracle: Address; models: (typeof deployed)[] };
    oracle = d.oracle;
    deployed = d.models[0]!;
    http = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    miner = startMiner(pub, 250);
    const stack = { anvil, devnet, deployment: { oracle } } as Pick<EvmStack, 'anvil' | 'devnet'> & {
      deployment: Pick<EvmStack['deployment'], 'oracle'>;
    };
    relayer = startRelayer(stack as EvmStack, join(dir.path, 'relayer'), {
      evmAccount: 1,
      aivmAccount: RELAYER_AIVM_ACCOUNT,
    });
    await relayer.waitFor((l) => l.event === 'started', 'the relayer to start', 60_000);
  });

  after(async () => {
    miner?.stop();
    await relayer?.stop();
    await new Promise((r) => (http ? http.close(r) : r(undefined)));
    aivm?.close();
    await Promise.all([anvil?.stop(), devnet?.stop()]);
    await dir?.remove();
    // snarkjs' worker threads (the local proof check) would keep the test process alive.
    await (await import('@aivm/zk/verify')).releaseCurve();
  });

  it("the committed-input model's verifier fits EIP-170 and the oracle holds it as committed", async () => {
    const info = await getModel(aivm, modelId);
    assert.equal(info.zkInputs, 'committed');
    assert.equal(info.tiers, 2);
    assert.equal(deployed.inputMode, 'committed');
    assert.equal(deployed.inputLen, 8);
    assert.equal(deployed.outputLen, 10);
    const code = await pub.getCode({ address: deployed.verifier });
    const size = ((code?.length ?? 2) - 2) / 2;
    assert.ok(size > 0, 'the verifier is deployed');
    assert.ok(size < EIP170, `verifier ${size} bytes, EIP-170 allows ${EIP170}`);
    // 10 outputs + the input commitment: 11 public signals (the key AIVM holds for the model).
    const vk = decodeVerificationKey(await getModelVerificationKey(aivm, info));
    assert.equal(Number(vk.nPublic), 11);
    const held = await getOracleModel(pub, oracle, deployed.modelId);
    assert.equal(held.verifier.toLowerCase(), deployed.verifier.toLowerCase());
    assert.equal(held.inputMode, 1);
  });

  it('requestInferenceCommitted with a data: URI is delivered by fulfillZk once, with the output AIVM finalized', async (t) => {
    const nonce0 = await relayerAivmNonce();
    const input = quantized([0.9, -0.4, 0.3, 1.2, -1.1, 0.05, 0.7, -0.8]);
    const uri = inputDataURI(input);
    assert.deepEqual(dataURIBytes(uri), input);
    const req = await request(2, input, uri);
    assert.equal(req.inputCommitment, commitInputs(Array.from(new Int8Array(input.buffer))));
    const onChain = await getRequest(pub, oracle, req.id);
    assert.equal(onChain.committed, true);
    assert.equal(onChain.inputCommitment, req.inputCommitment);

    const done = await doneFor(req.id);
    assert.equal(done.outcome, 'delivered', JSON.stringify(linesFor(req.id)));
    const [delivery, ...more] = await getDeliveries(pub, oracle, req.id);
    assert.equal(more.length, 0, 'exactly one delivery');
    assert.equal(delivery?.path, 'zk');
    assert.equal(delivery?.relayer.toLowerCase(), wallets[1]!.account!.address.toLowerCase());
    // A fulfillZk carrying no input bytes: the oracle rebuilt the signals from the commitment.
    const carried = await getDeliveredProof(pub, delivery!.txHash);
    assert.equal(carried.id, req.id);
    assert.equal(carried.input, '0x');
    // The output: what AIVM finalized for the AIVM request the relayer opened, and a local run.
    const opened = linesFor(req.id).find((l) => l.event === 'aivm-opened');
    const aivmReq = await getAivmRequest(aivm, BigInt(opened!.aivmRequestId as string));
    assert.equal(aivmReq.status, 'finalized');
    assert.equal(u8ToHex(aivmReq.output), delivery!.output);
    assert.equal(u8ToHex(execute(model, input).output), delivery!.output);
    assert.equal(decodeOutput(delivery!.output).length, 10);
    const final = await getRequest(pub, oracle, req.id);
    assert.equal(final.status, 'Fulfilled');
    // No callback: the oracle keeps the bytes.
    assert.equal(final.output, delivery!.output);
    const verified = await verifyDeliveredProof(pub, oracle, req.id, { aivm });
    assert.equal(verified.valid, true);
    // One AIVM request for the oracle request; one delivery line.
    assert.equal((await relayerAivmNonce()) - nonce0, 1n);
    assert.equal(linesFor(req.id).filter((l) => l.event === 'delivered').length, 1);
    const receipt = await pub.getTransactionReceipt({ hash: delivery!.txHash });
    t.diagnostic(
      `fulfillZk, committed input (11 public signals), request from an account (no callback: the oracle also stores the 40 output bytes): ${receipt.gasUsed} gas; verifier ${
        ((await pub.getCode({ address: deployed.verifier }))!.length - 2) / 2
      } bytes of code`,
    );
  });

  it('a URI whose bytes do not match the commitment is refused, never opened on AIVM, and refunded with its exact fee', async () => {
    const nonce0 = await relayerAivmNonce();
    const input = quantized([0.1, 0.2, 0.3, 0.4, -0.5, -0.6, 0.7, 0.8]);
    const other = Uint8Array.from(input, (b, i) => (i === 0 ? b ^ 1 : b));
    const req = await requestPaying(3, input, inputDataURI(other));
    assert.equal(req.fee, await quote(pub, oracle, modelId, 'zk'));
    const done = await doneFor(req.id);
    assert.equal(done.outcome, 'failed');
    assert.match(
      String(done.detail),
      /^input refused: the 8 bytes at its URI do not match its input commitment$/,
    );
    assert.equal(
      linesFor(req.id).some((l) => l.event === 'aivm-opened' || l.event === 'fulfill-sent'),
      false,
    );
    assert.equal(await relayerAivmNonce(), nonce0, 'no AIVM request was opened');
    const fee = await refundExactly(req.id, 3);
    assert.equal(fee, req.fee);
    assert.equal((await getDeliveries(pub, oracle, req.id)).length, 0);
  });

  it('malformed, unsupported and unreachable URIs: refused or retried, refunded exactly; other requests are still delivered', async () => {
    const input = quantized([-0.2, 0.6, -0.9, 0.4, 0.3, -0.1, 0.5, 0.2]);
    // A port nobody listens on.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));

    const nonce0 = await relayerAivmNonce();
    const malformed = await requestPaying(2, input, 'data:application/octet-stream;base64');
    const unsupported = await requestPaying(
      3,
      input,
      'ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
    );
    const unreachable = await requestPaying(4, input, `http://127.0.0.1:${deadPort}/input`);
    // A URI that answers 404 (its own fault: never retried), and one serving more bytes than any
    // AIVM transaction could carry (read no further than the cap).
    const missing = await requestPaying(2, input, `${httpUrl}/missing`);
    served.set('/huge', new Uint8Array(MAX_INPUT_URI_BYTES + 1));
    const huge = await requestPaying(3, input, `${httpUrl}/huge`);
    // Meanwhile, an input served over http is read, checked and delivered.
    const good = quantized([0.3, -0.7, 0.2, 0.9, -0.4, 0.6, -0.3, 0.1]);
    served.set('/good', good);
    const ok = await request(2, good, `${httpUrl}/good`);

    const [m, u, gone404, tooBig] = await Promise.all([
      doneFor(malformed.id),
      doneFor(unsupported.id),
      doneFor(missing.id),
      doneFor(huge.id),
    ]);
    assert.equal(gone404.outcome, 'failed');
    assert.match(
      String(gone404.detail),
      /^input refused: its URI "http:\/\/127\.0\.0\.1:\d+\/missing" answers HTTP 404$/,
    );
    assert.equal(tooBig.outcome, 'failed');
    assert.match(
      String(tooBig.detail),
      new RegExp(
        `^input refused: its URI "http://127\\.0\\.0\\.1:\\d+/huge" serves more than ${MAX_INPUT_URI_BYTES} bytes$`,
      ),
    );
    assert.equal(m.outcome, 'failed');
    assert.match(
      String(m.detail),
      /^input refused: its data: URI is malformed \(a data: URI has a comma before its body\)$/,
    );
    assert.equal(u.outcome, 'failed');
    assert.match(
      String(u.detail),
      /^input refused: unsupported input URI "ipfs:\/\/.*" \(data: or http\(s\)\)$/,
    );
    const delivered = await doneFor(ok.id);
    assert.equal(delivered.outcome, 'delivered', JSON.stringify(linesFor(ok.id)));
    const [d] = await getDeliveries(pub, oracle, ok.id);
    assert.equal(d?.output, u8ToHex(execute(model, good).output));
    assert.equal((await verifyDeliveredProof(pub, oracle, ok.id, { aivm })).valid, true);
    // The unreachable input is retried (a clear error each time), never opened, never delivered.
    await relayer.waitFor(
      (l) =>
        l.event === 'error' &&
        l.id === unreachable.id.toString() &&
        /input "http:\/\/127\.0\.0\.1:\d+\/input" unavailable: ECONNREFUSED/.test(String(l.error)),
      'the unreachable input reported',
      60_000,
    );
    assert.equal((await relayerAivmNonce()) - nonce0, 1n, 'only the good request was opened on AIVM');
    for (const r of [malformed, unsupported, unreachable, missing, huge])
      assert.equal(
        linesFor(r.id).some((l) => l.event === 'aivm-opened' || l.event === 'fulfill-sent'),
        false,
      );

    assert.equal(await refundExactly(malformed.id, 2), malformed.fee);
    assert.equal(await refundExactly(unsupported.id, 3), unsupported.fee);
    assert.equal(await refundExactly(unreachable.id, 4), unreachable.fee);
    assert.equal(await refundExactly(missing.id, 2), missing.fee);
    assert.equal(await refundExactly(huge.id, 3), huge.fee);
    // The retried job sees the refund and ends.
    const gone = await doneFor(unreachable.id, 60_000);
    assert.equal(gone.outcome, 'refunded');
    for (const r of [malformed, unsupported, unreachable, missing, huge])
      assert.equal((await getDeliveries(pub, oracle, r.id)).length, 0);
    // Still alive and scanning: one more request after all that is delivered.
    const last = await request(3, good, inputDataURI(good));
    assert.equal((await doneFor(last.id)).outcome, 'delivered');
    assert.equal(relayer.proc.exitCode, null);
  });
});

describe('data: URIs of input bytes (what the relayer reads)', () => {
  it('round-trips bytes through base64, and reads percent-encoded and 0x hex bodies', () => {
    const bytes = Uint8Array.from([0, 1, 127, 128, 255, 0x25, 0x2c]);
    assert.equal(inputDataURI(bytes), 'data:application/octet-stream;base64,AAF/gP8lLA==');
    assert.deepEqual(dataURIBytes(inputDataURI(bytes)), bytes);
    assert.deepEqual(dataURIBytes(inputDataURI(u8ToHex(bytes))), bytes);
    assert.deepEqual(dataURIBytes('data:,%00%01%7F%80%FF%25,'), bytes);
    assert.deepEqual(dataURIBytes('data:application/octet-stream,0x00017f80ff252c'), bytes);
    assert.deepEqual(dataURIBytes('data:,'), new Uint8Array());
  });

  it('refuses what is not a well-formed data: URI', () => {
    for (const [uri, why] of [
      ['data:application/octet-stream;base64', /comma before its body/],
      ['data:;base64,AAF*', /not base64/],
      ['data:;base64,A', /not base64/],
      ['data:,%G0', /bad percent escape/],
      ['data:,\u00e9', /bytes above 0x7f are percent-encoded/],
      ['https://example.com/x', /not a data: URI/],
    ] as const)
      assert.throws(() => dataURIBytes(uri), why, uri);
  });
});
