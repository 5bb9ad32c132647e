// Verifiable inference end to end with real `aivm` processes: a one-validator BFT chain whose
// genesis publishes the MNIST model, and provider nodes that join it over p2p (`aivm start --role
// provider`), one honest and some faulty (the hidden --faulty modes). Scenarios share the network:
// - `aivm model publish` of a second MNIST copy, then a zk `aivm infer` of a test digit, finalized
//   with the class of a local run and the fees exactly as the split says;
// - a provider submitting a wrong output with a proof of another is rejected and slashed
//   faultSlashBps, and the job completes through the honest provider;
// - an optimistic provider with a wrong layer is challenged by the honest watcher, loses the
//   bisection and is slashed, and the job completes through the honest provider;
// - a silent provider is slashed missedDeadlineSlashBps after the deadline and replaced.
// The faulty providers stake far more than the honest one, so stake-weighted assignment picks them
// first (each serves only the model and tier of its scenario).

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WEI_PER_CGPT } from '@aivm/chain';
import { bytesToHex } from '@aivm/crypto';
import { execute, quantizeInput } from '@aivm/node';
import { decodeArtifact, modelId } from '@aivm/runtime';
import { AivmClient, getRequest } from '@aivm/sdk';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import { MNIST_ARTIFACT, MNIST_DIGIT } from '../src/commands/node.ts';
import { createTestnet } from '../src/commands/testnet.ts';
import { BIN, runAivm, startDevnet, tempDir, ZK_KEYS } from './helpers.ts';
import { freePortRange, PASSWORD, waitFor } from './network-helpers.ts';

const CGPT = WEI_PER_CGPT;
const BLOCK_MS = 400;
const ONNX = join(import.meta.dirname, '..', '..', 'runtime', 'models', 'mnist-mlp.onnx');
const PARAMS = {
  // Proving takes about 2 s on an idle machine; a loaded CI machine needs several times that.
  resultDeadlineBlocks: '40',
  challengeWindowBlocks: '10',
  disputeStepBlocks: '8',
  maxAttempts: 3,
};
const FAULTY_STAKE = 100_000n;

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

class Proc {
  readonly client: AivmClient;
  proc: ChildProcess | undefined;
  log = '';
  readonly name: string;
  readonly home: string;
  readonly rpcUrl: string;
  constructor(name: string, home: string, rpcUrl: string) {
    this.name = name;
    this.home = home;
    this.rpcUrl = rpcUrl;
    this.client = new AivmClient(rpcUrl, { timeoutMs: 10_000 });
  }
  async start(extra: string[]): Promise<void> {
    const proc = spawn(
      process.execPath,
      [BIN, 'start', '--home', this.home, '--log-level', 'info', '--block-time', String(BLOCK_MS), ...extra],
      {
        env: { ...process.env, AIVM_VALIDATOR_PASSWORD: PASSWORD, AIVM_ZK_KEYS: ZK_KEYS },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.add(proc);
    this.proc = proc;
    proc.stderr!.on('data', (d: Buffer) => {
      this.log += d.toString();
      if (this.log.length > 400_000) this.log = this.log.slice(-200_000);
    });
    proc.once('exit', () => children.delete(proc));
    await waitFor(`${this.name} RPC`, async () => (await this.client.status()).height >= 0n, {
      timeoutMs: 60_000,
      diagnose: () => this.tail(),
    });
  }
  tail(n = 4_000): string {
    return `\n--- ${this.name} ---\n${this.log.slice(-n)}`;
  }
  async stop(): Promise<void> {
    const p = this.proc;
    this.client.close();
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }
}

type ProviderRecord = { stakeWei: string; faults: string; served: string; slashedWei: string };

describe('verifiable inference (real processes)', { timeout: 600_000 }, () => {
  let dir: { path: string; remove(): Promise<void> };
  let v0: Proc;
  let honest: Proc;
  let forged: Proc;
  let wrong: Proc;
  const addr: Record<string, string> = {};
  let m1 = '';
  let m2 = '';
  let calibration = '';
  const procs = () => [v0, honest, forged, wrong].filter(Boolean);
  const diagnose = () =>
    procs()
      .map((p) => p.tail(2_500))
      .join('');

  const provider = async (address: string): Promise<ProviderRecord> =>
    v0.client.query<ProviderRecord>('inference/provider', { address });
  const params = async () => v0.client.query<Record<string, string | number>>('inference/params');

  before(async () => {
    mkdirSync(ZK_KEYS, { recursive: true });
    dir = await tempDir('aivm-inference-');
    const base = await freePortRange(8);
    const [node0] = await createTestnet({
      dir: dir.path,
      validators: 1,
      accounts: 4,
      p2pBasePort: base,
      rpcBasePort: base + 1,
      blockTimeMs: BLOCK_MS,
    });
    const passwordFile = join(dir.path, 'password');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const genesisPath = join(node0!.home, 'genesis.json');
    const homes: Record<string, string> = { v0: node0!.home };
    addr.v0 = node0!.operator;
    for (const [i, name] of ['honest', 'forged', 'wrong'].entries()) {
      const home = join(dir.path, name);
      const init = await runAivm([
        'init',
        '--home',
        home,
        '--genesis',
        genesisPath,
        '--p2p-port',
        String(base + 2 + 2 * i),
        '--peers',
        node0!.p2p,
        '--rpc-port',
        String(base + 3 + 2 * i),
        '--password-file',
        passwordFile,
        '--json',
      ]);
      assert.equal(init.code, 0, init.stderr);
      addr[name] = (JSON.parse(init.stdout) as { operator: string }).operator;
      homes[name] = home;
    }

    // The second model (published by the test): the same ONNX quantized on other calibration data.
    const { train } = loadMnistSplit();
    const rows = Array.from({ length: 100 }, (_, i) => Array.from(imageBatch(train, i, 1)));
    calibration = join(dir.path, 'calibration.json');
    await writeFile(calibration, JSON.stringify(rows));
    const quantized = await runAivm([
      'model',
      'quantize',
      ONNX,
      '--calibration',
      calibration,
      '--method',
      'percentile',
      '--out',
      join(dir.path, 'm2.aivm'),
      '--json',
    ]);
    assert.equal(quantized.code, 0, quantized.stderr);
    m2 = (JSON.parse(quantized.stdout) as { id: string }).id;

    // Genesis: the MNIST model (every tier), short inference windows, funded providers.
    const artifact = new Uint8Array(await readFile(MNIST_ARTIFACT));
    m1 = modelId(artifact);
    const { zkPublication } = await import('../src/commands/model.ts');
    const { vk, constraints } = await zkPublication(
      decodeArtifact(artifact),
      { inputs: 'public', weights: 'public' },
      ZK_KEYS,
    );
    await (await import('@aivm/zk/node')).releaseCurve();
    const genesis = JSON.parse(await readFile(genesisPath, 'utf8'));
    const balances = genesis.app.bank.balances as { address: string; amount: string }[];
    const fund = (a: string, cgpt: bigint) => {
      const b = balances.find((x) => x.address.toLowerCase() === a.toLowerCase());
      if (b) b.amount = (BigInt(b.amount) + cgpt * CGPT).toString();
      else balances.push({ address: a, amount: (cgpt * CGPT).toString() });
    };
    fund(addr.v0!, 2n * FAULTY_STAKE);
    fund(addr.honest!, 10_000n);
    fund(addr.forged!, 2n * FAULTY_STAKE);
    fund(addr.wrong!, 2n * FAULTY_STAKE);
    genesis.app.inference = { params: PARAMS };
    genesis.app.models = {
      models: [
        {
          name: 'mnist-mlp',
          owner: balances[0]!.address,
          inputSchema: '[1,784]',
          outputSchema: '[1,10]',
          priceWei: (CGPT / 100n).toString(),
          tiers: 7,
          zkConstraints: constraints.toString(),
          artifact: bytesToHex(artifact),
          vk: bytesToHex(vk),
        },
      ],
    };
    const text = `${JSON.stringify(genesis, null, 2)}\n`;
    for (const home of Object.values(homes)) await writeFile(join(home, 'genesis.json'), text);

    v0 = new Proc('validator (silent provider)', homes.v0!, node0!.rpcUrl);
    honest = new Proc('honest provider', homes.honest!, `http://127.0.0.1:${base + 3}`);
    forged = new Proc('forged-proof provider', homes.forged!, `http://127.0.0.1:${base + 5}`);
    wrong = new Proc('wrong-output provider', homes.wrong!, `http://127.0.0.1:${base + 7}`);
    const stake = ['--provider-stake', String(FAULTY_STAKE)];
    await v0.start([
      '--role',
      'provider',
      '--faulty',
      'silent',
      '--allow-models',
      m2,
      '--tiers',
      'optimistic',
      ...stake,
    ]);
    await Promise.all([
      honest.start(['--role', 'provider']),
      forged.start([
        '--role',
        'provider',
        '--faulty',
        'forged-proof',
        '--allow-models',
        m1,
        '--tiers',
        'zk',
        ...stake,
      ]),
      wrong.start([
        '--role',
        'provider',
        '--faulty',
        'wrong-output',
        '--allow-models',
        m1,
        '--tiers',
        'optimistic',
        ...stake,
      ]),
    ]);
    for (const name of ['v0', 'honest', 'forged', 'wrong'])
      await waitFor(`${name} registered as a provider`, async () => Boolean(await provider(addr[name]!)), {
        timeoutMs: 120_000,
        intervalMs: 500,
        diagnose,
      });
  });

  after(async () => {
    await Promise.allSettled(procs().map((p) => p.stop()));
    await dir?.remove();
  });

  const digitInput = async () => {
    const digit = JSON.parse(await readFile(MNIST_DIGIT, 'utf8')) as number[][];
    return digit[0]!;
  };

  /** `aivm infer` as a user runs it; returns its JSON result. */
  const infer = async (id: string, tier: string, account: number) => {
    const r = await runAivm([
      '--rpc',
      v0.rpcUrl,
      '--json',
      'infer',
      id,
      '--input',
      MNIST_DIGIT,
      '--tier',
      tier,
      '--dev-account',
      String(account),
      '--timeout',
      '240',
    ]);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}${diagnose()}`);
    return JSON.parse(r.stdout) as {
      requestId: string;
      status: string;
      class: number;
      localClass: number;
      matchesLocalRun: boolean;
      output: number[];
      proof?: { points: string; tx: string; verifiedLocally: boolean };
      fees: Record<string, string>;
    };
  };

  const localClass = async (artifactPath: string) => {
    const model = decodeArtifact(new Uint8Array(await readFile(artifactPath)));
    return execute(model, quantizeInput(model, await digitInput())).cls;
  };

  /**
   * Assignment is stake-weighted (the faulty providers stake 100x the honest one), so about one
   * request in a hundred goes to the honest provider first and tests nothing: ask again then.
   */
  const inferServedBy = async (faulty: string, id: string, tier: string, account: number) => {
    for (let attempt = 1; ; attempt++) {
      const r = await infer(id, tier, account);
      const req = await getRequest(v0.client, r.requestId);
      const first = req.slots[0]!.attempts === 1 ? req.slots[0]!.provider : faulty;
      if (first.toLowerCase() === faulty.toLowerCase() || attempt === 3) return r;
    }
  };

  it('publishes a model with aivm model publish, lists it and runs a zk inference with the right class and fee split', {
    timeout: 240_000,
  }, async () => {
    const owner = 2;
    const published = await runAivm(
      [
        '--rpc',
        v0.rpcUrl,
        '--json',
        'model',
        'publish',
        ONNX,
        '--calibration',
        calibration,
        '--method',
        'percentile',
        '--name',
        'mnist-copy',
        '--tiers',
        'zk,optimistic',
        '--price',
        '0.02',
        '--dev-account',
        String(owner),
      ],
      { AIVM_ZK_KEYS: ZK_KEYS },
    );
    assert.equal(published.code, 0, `${published.stderr}${diagnose()}`);
    const pub = JSON.parse(published.stdout) as { id: string; status: string };
    assert.equal(pub.id, m2);
    assert.equal(pub.status, 'active');
    const list = await runAivm(['--rpc', v0.rpcUrl, '--json', 'model', 'list', '--text', 'copy']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { id: string }[]).map((m) => m.id),
      [m2],
    );

    const p = await params();
    const ownerAddr = (await runAivm(['--rpc', v0.rpcUrl, '--json', 'model', 'show', m2])).stdout;
    const shown = JSON.parse(ownerAddr) as { owner: `0x${string}`; zkConstraints: string };
    const ownerAddress = shown.owner;
    const ownerBefore = await v0.client.getBalance(ownerAddress);
    const honestBefore = await v0.client.getBalance(addr.honest as `0x${string}`);

    const r = await infer(m2, 'zk', 0);
    assert.equal(r.status, 'finalized');
    assert.equal(r.class, await localClass(join(dir.path, 'm2.aivm')));
    assert.equal(r.class, 7);
    assert.equal(r.matchesLocalRun, true);
    assert.equal(r.proof?.verifiedLocally, true);
    assert.equal(r.proof?.points.length, 2 + 512);

    // The zk floor (the declared constraints x zkPricePerConstraintWei, at least minPriceWei) goes
    // to the provider; the rest of the price is split by the shares.
    const price = 2n * 10n ** 16n;
    const cost = BigInt(p.zkPricePerConstraintWei!) * BigInt(shown.zkConstraints);
    const floor = cost > BigInt(p.minPriceWei!) ? cost : BigInt(p.minPriceWei!);
    assert.ok(floor > 0n && floor < price);
    const share = (k: string) => ((price - floor) * BigInt(p[k]!)) / 10_000n;
    const providerWei = floor + share('providerShareBps');
    const req = await getRequest(v0.client, r.requestId);
    assert.equal(req.fees.ownerWei, share('ownerShareBps'));
    assert.equal(req.fees.providerWei, providerWei);
    // No reviewers: their share goes to the protocol.
    assert.equal(req.fees.reviewersWei + req.fees.protocolWei, price - share('ownerShareBps') - providerWei);
    assert.equal(req.fees.refundWei, 0n);
    assert.equal(req.slots[0]!.provider.toLowerCase(), addr.honest!.toLowerCase());
    // Balances: the owner gets exactly its share; the provider its share less the fee of its proof.
    assert.equal((await v0.client.getBalance(ownerAddress)) - ownerBefore, share('ownerShareBps'));
    const proofTx = (await v0.client.getTx(r.proof!.tx as `0x${string}`))!;
    assert.equal(proofTx.msgType, 'inference/submitProof');
    assert.equal(proofTx.from.toLowerCase(), addr.honest!.toLowerCase());
    assert.equal(
      (await v0.client.getBalance(addr.honest as `0x${string}`)) - honestBefore,
      providerWei - proofTx.receipt.feeWei,
    );
  });

  it('a provider with a forged proof is rejected and slashed; another provider completes the job', {
    timeout: 180_000,
  }, async () => {
    const p = await params();
    const before = BigInt((await provider(addr.forged!)).stakeWei);
    const r = await inferServedBy(addr.forged!, m1, 'zk', 1);
    assert.equal(r.status, 'finalized', diagnose());
    assert.equal(r.class, await localClass(MNIST_ARTIFACT));
    assert.equal(r.proof?.verifiedLocally, true);
    const after = await provider(addr.forged!);
    assert.equal(BigInt(after.stakeWei), before - (before * BigInt(p.faultSlashBps!)) / 10_000n);
    assert.equal(after.faults, '1');
    const req = await getRequest(v0.client, r.requestId);
    assert.equal(req.slots[0]!.provider.toLowerCase(), addr.honest!.toLowerCase());
    assert.equal(req.slots[0]!.attempts, 2);
  });

  it('an optimistic provider with a wrong layer is challenged, loses the bisection and is slashed', {
    timeout: 180_000,
  }, async () => {
    const p = await params();
    const before = BigInt((await provider(addr.wrong!)).stakeWei);
    const honestBefore = await v0.client.getBalance(addr.honest as `0x${string}`);
    const r = await inferServedBy(addr.wrong!, m1, 'optimistic', 1);
    assert.equal(r.status, 'finalized', diagnose());
    assert.equal(r.class, await localClass(MNIST_ARTIFACT));
    const after = await provider(addr.wrong!);
    const cut = (before * BigInt(p.faultSlashBps!)) / 10_000n;
    assert.equal(BigInt(after.stakeWei), before - cut);
    assert.equal(after.faults, '1');
    const req = await getRequest(v0.client, r.requestId);
    assert.equal(req.slots[0]!.provider.toLowerCase(), addr.honest!.toLowerCase());
    // The watcher got its reward (challengerRewardBps of the cut), bond back, less its fees.
    const reward = (cut * BigInt(p.challengerRewardBps!)) / 10_000n;
    const gained = (await v0.client.getBalance(addr.honest as `0x${string}`)) - honestBefore;
    assert.ok(gained > reward - CGPT / 10n, `honest watcher gained ${gained}, reward ${reward}`);
    assert.ok(honest.log.includes('challenging'), 'the honest watcher challenged');
  });

  it('a silent provider is slashed after the deadline and replaced', { timeout: 180_000 }, async () => {
    const p = await params();
    const before = BigInt((await provider(addr.v0!)).stakeWei);
    const r = await inferServedBy(addr.v0!, m2, 'optimistic', 3);
    assert.equal(r.status, 'finalized', diagnose());
    assert.equal(r.class, 7);
    const after = await provider(addr.v0!);
    assert.equal(BigInt(after.stakeWei), before - (before * BigInt(p.missedDeadlineSlashBps!)) / 10_000n);
    const req = await getRequest(v0.client, r.requestId);
    assert.equal(req.slots[0]!.provider.toLowerCase(), addr.honest!.toLowerCase());
    assert.equal(req.slots[0]!.attempts, 2);
  });
});

describe('devnet with the MNIST model and a provider (real process)', { timeout: 180_000 }, () => {
  it('runs the zk inference its banner prints, in one command', { timeout: 150_000 }, async () => {
    const dir = await tempDir('aivm-devnet-inference-');
    const node = await startDevnet(join(dir.path, 'devnet'), { blockTimeMs: 300 });
    try {
      const command = node.info.inferCommand as string;
      assert.match(
        command,
        /^npm run aivm -- --rpc \S+ infer \S+ --input \S+mnist-digit-7\.json --tier zk --dev-account 0$/,
      );
      const args = command.replace('npm run aivm -- ', '').split(' ');
      const client = new AivmClient(node.rpcUrl);
      await waitFor(
        'the devnet provider to register',
        async () => Boolean(await client.query('inference/provider', { address: node.info.provider })),
        { timeoutMs: 60_000, intervalMs: 500, diagnose: () => node.stderr() },
      );
      client.close();
      const r = await runAivm(['--json', ...args]);
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}${node.stderr()}`);
      const out = JSON.parse(r.stdout) as {
        status: string;
        class: number;
        proof: { verifiedLocally: boolean };
      };
      assert.equal(out.status, 'finalized');
      assert.equal(out.class, 7);
      assert.equal(out.proof.verifiedLocally, true);
    } finally {
      await node.stop();
      await dir.remove();
    }
  });
});
