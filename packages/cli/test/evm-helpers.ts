// Real processes for the EVM integration (tests, npm run demo:evm, bench/evm-latency.ts): anvil,
// an AIVM devnet with its inference provider (the MNIST model, zk keys from a shared cache),
// `aivm evm deploy`, DigitGame, and `aivm relayer` processes whose JSON lines are collected.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connectEvm, DigitGame, deployContract, writeAndWait } from '@aivm/evm';
import { AivmClient, getModelIO, listModels, quantizeInput } from '@aivm/sdk';
import type { Address, Hex, PublicClient, WalletClient } from 'viem';
import { ANVIL_KEYS, type Anvil, startAnvil } from '../../../test-support/anvil.ts';
import { BIN, type RunningNode, runAivm, startDevnet, tempDir } from './helpers.ts';

export const DIGIT_7 = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'assets', 'mnist-digit-7.json'), 'utf8'),
) as number[][];

export type EvmStack = {
  anvil: Anvil;
  devnet: RunningNode;
  aivm: AivmClient;
  dir: string;
  pub: PublicClient;
  wallets: WalletClient[];
  deployment: {
    oracle: Address;
    lightClient: Address;
    models: { id: string; modelId: Hex; verifier: Address; tiers: number }[];
  };
  mnist: string;
  /** The sample 7 as the MNIST model's int8 input. */
  digit7: Uint8Array;
  stop(): Promise<void>;
};

export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  diagnose: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}\n${diagnose()}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** anvil (blockTime: interval mining, else a block per transaction) + devnet + deployed contracts. */
export async function startEvmStack(
  opts: { blockTime?: number; devnetBlockMs?: number } = {},
): Promise<EvmStack> {
  const dir = await tempDir('aivm-evm-');
  // The MNIST verifier (794 public signals) is ~80 KB of code: over EIP-170's 24 KB limit.
  const [anvil, devnet] = await Promise.all([
    startAnvil({
      args: ['--disable-code-size-limit'],
      ...(opts.blockTime !== undefined ? { blockTime: opts.blockTime } : {}),
    }),
    startDevnet(join(dir.path, 'devnet'), { blockTimeMs: opts.devnetBlockMs }),
  ]);
  const aivm = new AivmClient(devnet.rpcUrl, { wsUrl: devnet.wsUrl });
  try {
    await waitUntil(
      'the devnet provider to register',
      async () => Boolean(await aivm.query('inference/provider', { address: devnet.info.provider })),
      180_000,
      () => devnet.stderr(),
    );
    const mnist = (await listModels(aivm)).find((m) => m.name === 'mnist-mlp')?.id;
    if (!mnist) throw new Error('the devnet has no mnist-mlp model');
    const deployed = await runAivm([
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
      mnist,
      '--wei-per-cgpt',
      '0.001',
    ]);
    if (deployed.code !== 0) throw new Error(`aivm evm deploy failed: ${deployed.stderr}`);
    const deployment = JSON.parse(deployed.stdout) as EvmStack['deployment'];
    const clients = await Promise.all(
      ANVIL_KEYS.map((k) => connectEvm(anvil.url, k, { pollingInterval: 100 })),
    );
    const io = await getModelIO(aivm, mnist);
    const digit7 = quantizeInput(io, DIGIT_7);
    const stack: EvmStack = {
      anvil,
      devnet,
      aivm,
      dir: dir.path,
      pub: clients[0]!.pub,
      wallets: clients.map((c) => c.wallet!),
      deployment,
      mnist,
      digit7,
      // The AIVM node and client in use then (a test may restart the node under the stack).
      async stop() {
        stack.aivm.close();
        await Promise.all([anvil.stop(), stack.devnet.stop()]);
        await dir.remove();
      },
    };
    return stack;
  } catch (err) {
    aivm.close();
    await Promise.all([anvil.stop(), devnet.stop()]);
    throw err;
  }
}

/** Deploys a DigitGame on the zk or on-chain tier with a pot of 1 ETH (prize 0.01 ETH). */
export async function deployDigitGame(s: EvmStack, tier: 1 | 2): Promise<Address> {
  const model = s.deployment.models[0]!;
  const game = await deployContract(s.pub, s.wallets[0]!, DigitGame, [
    s.deployment.oracle,
    model.modelId,
    tier,
    10n ** 16n,
  ]);
  const w = s.wallets[0]!;
  const hash = await w.sendTransaction({ to: game, value: 10n ** 18n, account: w.account!, chain: w.chain });
  await s.pub.waitForTransactionReceipt({ hash });
  return game;
}

/** Plays `drawing` on a DigitGame from wallet `from`; resolves with the oracle request id and the target. */
export async function playDigit(s: EvmStack, game: Address, drawing: Uint8Array, from = 2) {
  const price = (await s.pub.readContract({
    address: game,
    abi: DigitGame.abi,
    functionName: 'price',
  })) as bigint;
  const r = await writeAndWait(s.pub, s.wallets[from]!, {
    address: game,
    abi: DigitGame.abi,
    functionName: 'play',
    args: [`0x${Buffer.from(drawing).toString('hex')}`],
    value: price,
  });
  const { parseEventLogs } = await import('viem');
  const played = parseEventLogs({ abi: DigitGame.abi, logs: r.logs, eventName: 'Played' })[0]!;
  return {
    id: played.args.requestId,
    target: played.args.target,
    blockNumber: r.blockNumber,
    txHash: r.transactionHash,
  };
}

export type RelayerProc = {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(
    pred: (l: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** Starts `aivm relayer` as a process (EVM dev account `evmAccount`, AIVM dev account `aivmAccount`). */
export function startRelayer(
  s: EvmStack,
  home: string,
  o: {
    evmAccount: number;
    aivmAccount: number;
    confirmations?: number;
    /** First EVM block to scan (a fresh store otherwise scans from 0). */
    fromBlock?: bigint;
    env?: Record<string, string>;
  },
): RelayerProc {
  const proc = spawn(
    process.execPath,
    [
      BIN,
      '--json',
      '--rpc',
      s.devnet.rpcUrl,
      'relayer',
      '--evm-rpc',
      s.anvil.url,
      '--oracle',
      s.deployment.oracle,
      '--home',
      home,
      '--evm-dev-account',
      String(o.evmAccount),
      '--dev-account',
      String(o.aivmAccount),
      '--confirmations',
      String(o.confirmations ?? 2),
      '--poll-ms',
      '200',
      ...(o.fromBlock !== undefined ? ['--from-block', o.fromBlock.toString()] : []),
    ],
    { env: { ...process.env, ...(o.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Record<string, unknown>[] = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-50_000);
  });
  const waiters = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      lines.push({ event: 'text', line });
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const w of waiters) w();
    }),
  );
  return {
    proc,
    lines,
    stderr: () => err,
    exited,
    waitFor(pred, what, timeoutMs = 240_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(
              new Error(
                `relayer exited (${proc.exitCode ?? proc.signalCode}) before ${what}:\n${JSON.stringify(lines)}\n${err}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out waiting for ${what}:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n${err}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Mines an anvil block every `ms` (anvil_mine) until stopped; pausable (for reorg tests). */
export function startMiner(pub: PublicClient, ms = 300): { pause(): void; resume(): void; stop(): void } {
  let paused = false;
  const t = setInterval(() => {
    if (!paused) pub.request({ method: 'anvil_mine' as never, params: ['0x1'] as never }).catch(() => {});
  }, ms);
  return {
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    stop: () => clearInterval(t),
  };
}
