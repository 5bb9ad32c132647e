// Real multi-process validator networks for integration tests: free ports, homes written by
// createTestnet, `aivm start` child processes that can be killed, restarted (also in the
// equivocation test mode) and always cleaned up, plus polling helpers over the SDK client.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before } from 'node:test';
import type { Address, Hex } from '@aivm/crypto';
import { AivmClient } from '@aivm/sdk';
import { createTestnet } from '../src/commands/testnet.ts';
import { BIN, tempDir } from './helpers.ts';

export const PASSWORD = 'devnet';

/** Every child started here, so that even a crashed test run leaves no process behind. */
const children = new Set<ChildProcess>();
function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.once('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    killChildren();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Lowest port the kernel hands out for outgoing connections (Linux: ip_local_port_range). */
function ephemeralPortStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 21_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A base port such that base..base+count-1 are free right now (on 127.0.0.1 and 0.0.0.0). The
 * nodes' listen addresses are fixed in their configs, so the numbers must be chosen up front: a
 * random base from 20000 keeps parallel test files apart, and staying below the ephemeral range
 * keeps an outgoing connection from taking the port of a node while it is down for a restart.
 */
export async function freePortRange(count: number): Promise<number> {
  const span = ephemeralPortStart() - 20_000 - count;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * span);
    let ok = true;
    for (let p = base; p < base + count && ok; p++)
      ok = (await canBind(p, '127.0.0.1')) && (await canBind(p, '0.0.0.0'));
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** Polls `check` until it returns a value other than undefined/false, or fails with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  opts: { timeoutMs: number; intervalMs?: number; diagnose?: () => string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(opts.intervalMs ?? 250);
  }
  const cause = lastErr ? `\nlast error: ${(lastErr as Error).message}` : '';
  throw new Error(
    `timed out after ${opts.timeoutMs} ms waiting for ${what}${cause}${opts.diagnose?.() ?? ''}`,
  );
}

/** One node home run as an `aivm start` child process. */
export class NodeProcess {
  readonly name: string;
  readonly home: string;
  readonly rpcUrl: string;
  readonly client: AivmClient;
  proc: ChildProcess | undefined;
  #log = '';
  #exited: Promise<void> = Promise.resolve();

  /** A command the node runs under (e.g. `ip netns exec <ns>`); empty: run directly. */
  readonly launcher: string[];

  constructor(name: string, home: string, rpcUrl: string, launcher: string[] = []) {
    this.name = name;
    this.home = home;
    this.rpcUrl = rpcUrl;
    this.launcher = launcher;
    this.client = new AivmClient(rpcUrl, { timeoutMs: 5_000 });
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The last lines the process wrote (warnings and errors; the log level is warn). */
  logTail(chars = 3_000): string {
    return this.#log.slice(-chars);
  }

  /** Spawns `aivm start` and waits until its RPC answers. */
  async start(opts: {
    blockTimeMs: number;
    equivocate?: boolean;
    readyTimeoutMs?: number;
    /** More `aivm start` arguments (test-only flags such as --inject-fault). */
    extraArgs?: string[];
  }): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const args = [BIN, 'start', '--home', this.home, '--log-level', 'warn'];
    args.push('--block-time', String(opts.blockTimeMs));
    if (opts.equivocate) args.push('--equivocate');
    args.push(...(opts.extraArgs ?? []));
    const [command, ...prefix] = [...this.launcher, process.execPath];
    const proc = spawn(command!, [...prefix, ...args], {
      env: { ...process.env, AIVM_VALIDATOR_PASSWORD: PASSWORD },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(proc);
    this.proc = proc;
    this.#log += `--- ${this.name} started${opts.equivocate ? ' (equivocating)' : ''} ${(opts.extraArgs ?? []).join(' ')} ---\n`;
    proc.stderr!.on('data', (d: Buffer) => {
      this.#log += d.toString();
      if (this.#log.length > 200_000) this.#log = this.#log.slice(-100_000);
    });
    this.#exited = new Promise((resolve) =>
      proc.once('exit', () => {
        children.delete(proc);
        resolve();
      }),
    );
    await waitFor(
      `${this.name} RPC at ${this.rpcUrl}`,
      async () => {
        if (proc.exitCode !== null || proc.signalCode !== null)
          throw new Error(`${this.name} exited (${proc.exitCode ?? proc.signalCode}):\n${this.logTail()}`);
        return (await this.client.status()).height >= 0n;
      },
      { timeoutMs: opts.readyTimeoutMs ?? 120_000, intervalMs: 300, diagnose: () => `\n${this.logTail()}` },
    ).catch(async (err) => {
      await this.kill();
      throw err;
    });
  }

  /** SIGKILL: the crash case (and the cleanup fallback). */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.proc!.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.proc!.kill('SIGTERM');
    const timer = setTimeout(() => this.proc?.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  async height(): Promise<bigint> {
    return (await this.client.status()).height;
  }

  /**
   * The block at `height` as the node's JSON-RPC serves it (raw JSON: the SDK's block parser
   * expects `lastCommit` as a bare array while the node sends `{ round, signatures }`).
   */
  async block(height?: bigint): Promise<RawBlock | undefined> {
    const params = height === undefined ? {} : { height: height.toString() };
    return (await this.client.request<RawBlock | null>('aivm_getBlock', params)) ?? undefined;
  }

  async hashAt(height: bigint): Promise<Hex | undefined> {
    return (await this.block(height))?.hash;
  }
}

export type RawBlock = {
  hash: Hex;
  header: { height: string; proposer: Address };
  txs: Hex[];
  lastCommit: { round: number; signatures: { validator: Address; signature: Hex }[] };
};

/** A local network of validator processes (createTestnet homes), with cleanup. */
export class Network {
  readonly dir: string;
  readonly blockTimeMs: number;
  readonly nodes: NodeProcess[];
  /** Multiaddrs of the validators' p2p endpoints (for new nodes to dial). */
  readonly peers: string[];
  readonly operators: Address[];
  /** Extra processes (full nodes) that close() must also stop. */
  readonly extra: NodeProcess[] = [];
  readonly #remove: () => Promise<void>;

  private constructor(
    dir: string,
    remove: () => Promise<void>,
    blockTimeMs: number,
    nodes: NodeProcess[],
    peers: string[],
    operators: Address[],
  ) {
    this.dir = dir;
    this.#remove = remove;
    this.blockTimeMs = blockTimeMs;
    this.nodes = nodes;
    this.peers = peers;
    this.operators = operators;
  }

  /**
   * Writes the homes of `validators` validators; starts nothing. By default every node listens on
   * 127.0.0.1 on free ports; `placement` puts node i on its own addresses (fixed ports: each
   * address is the node's alone) and runs it under `launcher` (e.g. inside a network namespace).
   */
  static async create(opts: {
    validators: number;
    blockTimeMs: number;
    placement?: { hosts: (i: number) => { p2p: string; rpc: string }; launcher: (i: number) => string[] };
  }): Promise<Network> {
    const tmp = await tempDir('aivm-network-');
    try {
      const n = opts.validators;
      const base = opts.placement ? 26_656 : await freePortRange(2 * n);
      const testnet = await createTestnet({
        dir: tmp.path,
        validators: n,
        accounts: 4,
        p2pBasePort: base,
        rpcBasePort: base + n,
        blockTimeMs: opts.blockTimeMs,
        hosts: opts.placement?.hosts,
      });
      return new Network(
        tmp.path,
        tmp.remove,
        opts.blockTimeMs,
        testnet.map((t, i) => new NodeProcess(t.name, t.home, t.rpcUrl, opts.placement?.launcher(i))),
        testnet.map((t) => t.p2p),
        testnet.map((t) => t.operator as Address),
      );
    } catch (err) {
      await tmp.remove();
      throw err;
    }
  }

  get genesisPath(): string {
    return join(this.dir, 'validator-0', 'genesis.json');
  }

  /** Starts the given nodes (default: all) in parallel and waits until each answers RPC. */
  async start(
    which: NodeProcess[] = this.nodes,
    opts: { equivocate?: boolean; extraArgs?: string[] } = {},
  ): Promise<void> {
    const results = await Promise.allSettled(
      which.map((n) =>
        n.start({ blockTimeMs: this.blockTimeMs, equivocate: opts.equivocate, extraArgs: opts.extraArgs }),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  get all(): NodeProcess[] {
    return [...this.nodes, ...this.extra];
  }

  live(): NodeProcess[] {
    return this.all.filter((n) => n.running);
  }

  /** Log tails of every node, for failure messages. */
  diagnose(chars = 2_000): string {
    return this.all.map((n) => `\n==== ${n.name} ====\n${n.logTail(chars)}`).join('');
  }

  /** Waits until every node in `which` has a head at or above `height`. */
  async waitForHeight(which: NodeProcess[], height: bigint, timeoutMs: number): Promise<void> {
    await waitFor(
      `${which.map((n) => n.name).join(', ')} to reach height ${height}`,
      async () => {
        const hs = await Promise.all(which.map((n) => n.height()));
        return hs.every((h) => h >= height);
      },
      { timeoutMs, diagnose: () => this.diagnose() },
    );
  }

  /**
   * Fails unless every node in `which` has the same block at the lowest of their heads. Block
   * hashes chain through parent hashes, so one shared block means one shared history below it.
   */
  async commonHeight(which: NodeProcess[]): Promise<{ height: bigint; hash: Hex }> {
    const heads = await Promise.all(which.map((n) => n.height()));
    // biome-ignore lint/complexity/useMathMinMax: Math.min does not take bigint
    const height = heads.reduce((a, b) => (a < b ? a : b));
    const hashes = await Promise.all(which.map((n) => n.hashAt(height)));
    const first = hashes[0];
    for (const [i, h] of hashes.entries())
      if (h === undefined || h !== first)
        throw new Error(
          `fork: at height ${height} ${which[0]!.name} has ${first} but ${which[i]!.name} has ${h}`,
        );
    return { height, hash: first! };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all.map((n) => n.stop(3_000)));
    for (const n of this.all) n.client.close();
    await this.#remove();
  }
}

/**
 * A network of `validators` validators with `blockTimeMs` blocks, all started before a test file's
 * tests (240 s allowed) and closed after them. A failed test prints every node's log tail;
 * `logsTo`, where set, gets longer tails (100,000 characters a node) before the close.
 * `testnet.net` is set once it has started.
 */
export function useTestnet(opts: { validators: number; blockTimeMs: number; logsTo?: string }): {
  net: Network;
} {
  const testnet = {} as { net: Network };
  before(
    async () => {
      testnet.net = await Network.create({ validators: opts.validators, blockTimeMs: opts.blockTimeMs });
      await testnet.net.start();
    },
    { timeout: 240_000 },
  );
  afterEach((t) => {
    // Assertion failures carry no node logs: show what the nodes warned about.
    if (testnet.net && 'passed' in t && t.passed === false)
      console.error(`node logs after "${t.name}":${testnet.net.diagnose()}`);
  });
  after(async () => {
    if (testnet.net && opts.logsTo) await writeFile(opts.logsTo, testnet.net.diagnose(100_000));
    await testnet.net?.close();
  });
  return testnet;
}
