// Live fuzzing: a real N-validator `aivm testnet` (createTestnet homes, `aivm start` processes)
// receives the fuzzer's signed transactions over JSON-RPC while a checker compares every node's
// block hash and state root at every height and watches that heights keep advancing.
// The seed fixes the stream of generated messages; which of them land in which block depends on
// timing, so an exact repro of one transaction is its printed message (or the in-process runner).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultModules, ERR, Registry, validatorAddress } from '@aivm/chain';
import { type Address, type Hex, hexToBytes, mnemonicToPrivateKeys } from '@aivm/crypto';
import {
  describeMsg,
  type Finding,
  type FuzzSender,
  type FuzzTx,
  type FuzzValidator,
  newTally,
  receiptOk,
  runDone,
  sendersFromKeys,
  stackOf,
  TxFuzzer,
  type TypeTally,
} from '../packages/chain/src/testing/fuzz.ts';
import { DEV_PASSWORD } from '../packages/cli/src/commands/node.ts';
import { createTestnet, TESTNET_CHAIN_ID } from '../packages/cli/src/commands/testnet.ts';
import { DEV_MNEMONIC, loadOperatorKey } from '../packages/cli/src/home.ts';
import { tempDir } from '../packages/cli/test/helpers.ts';
import { freePortRange, NodeProcess, type RawBlock, sleep } from '../packages/cli/test/network-helpers.ts';

export type LiveOptions = {
  seed: number;
  /** Transactions in all, or per message type with perType. */
  txs: number;
  perType?: boolean;
  types?: string[];
  validators?: number;
  /** Funded dev accounts that send (the validators' operators send too). */
  accounts?: number;
  blockTimeMs?: number;
  /** No new block on any node for this long is a halt (default 60 s). */
  stallMs?: number;
  /** Sends in flight at once (default 8). */
  concurrency?: number;
  /** Called every few seconds with the report so far. */
  onProgress?: (r: LiveReport) => void;
  /** Stop sending at the first finding (default true). */
  stopOnFinding?: boolean;
};

export type LiveReport = {
  seed: number;
  tallies: Map<string, TypeTally>;
  findings: Finding[];
  /** Heights checked on every node: hash and state root equal on all of them. */
  checkedHeight: bigint;
  /** Head height of each node at the end. */
  heads: bigint[];
  startHeight: bigint;
  elapsedMs: number;
  /** Why RPC refused transactions (code and text, first 60 chars) per type. */
  rejections: Map<string, Map<string, number>>;
};

type Pending = { tx: FuzzTx; hash?: Hex };

export async function runTestnet(opts: LiveOptions): Promise<LiveReport> {
  const n = opts.validators ?? 4;
  const tmp = await tempDir('aivm-fuzz-');
  const base = await freePortRange(2 * n);
  const blockTimeMs = opts.blockTimeMs ?? 200;
  const homes = await createTestnet({
    dir: tmp.path,
    validators: n,
    accounts: opts.accounts ?? 12,
    p2pBasePort: base,
    rpcBasePort: base + n,
    blockTimeMs,
  });
  const nodes = homes.map((h) => new NodeProcess(h.name, h.home, h.rpcUrl));
  try {
    await Promise.all(nodes.map((node) => node.start({ blockTimeMs })));
    return await fuzzNetwork(nodes, homes, opts);
  } finally {
    await Promise.allSettled(nodes.map((node) => node.stop(3_000)));
    for (const node of nodes) node.client.close();
    await tmp.remove();
  }
}

async function fuzzNetwork(
  nodes: NodeProcess[],
  homes: { home: string; operator: string }[],
  opts: LiveOptions,
): Promise<LiveReport> {
  const registry = new Registry(defaultModules());
  const genesis = JSON.parse(await readFile(join(homes[0]!.home, 'genesis.json'), 'utf8')) as {
    app: { staking: { validators: { operator: string; consensusPubKey: string }[] } };
  };
  const validators: FuzzValidator[] = genesis.app.staking.validators.map((v) => {
    const pub = hexToBytes(v.consensusPubKey as Hex);
    return { operator: v.operator as Address, consensusPubKey: pub, consensusAddress: validatorAddress(pub) };
  });
  const operatorKeys = await Promise.all(homes.map((h) => loadOperatorKey(h.home, DEV_PASSWORD)));
  const senders: FuzzSender[] = sendersFromKeys([
    ...mnemonicToPrivateKeys(DEV_MNEMONIC, 0, opts.accounts ?? 12),
    ...operatorKeys.filter((k): k is Uint8Array => k !== undefined),
  ]);
  const fuzzer = new TxFuzzer({
    seed: opts.seed,
    registry,
    chainId: BigInt(TESTNET_CHAIN_ID),
    senders,
    validators,
    types: opts.types,
    perType: opts.perType,
    protectValidators: true,
  });
  const started = Date.now();
  const report: LiveReport = {
    seed: opts.seed,
    tallies: new Map(fuzzer.types.map((t) => [t, newTally()])),
    findings: [],
    checkedHeight: 0n,
    heads: [],
    startHeight: await nodes[0]!.height(),
    elapsedMs: 0,
    rejections: new Map(),
  };
  const sent = new Map<Hex, FuzzTx>();
  const checker = new Checker(nodes, fuzzer, report, sent, opts.stallMs ?? 60_000);
  const finished = runDone(opts, report.tallies);
  const nonces: (bigint | undefined)[] = senders.map(() => undefined);
  // One queue per sender (its nonces must reach one node in order), a few senders at a time.
  const queues = senders.map(() => Promise.resolve());
  let inFlight = 0;
  const limit = opts.concurrency ?? 8;
  let lastProgress = Date.now();
  const stop = () => (opts.stopOnFinding ?? true) && report.findings.length > 0;

  const send = async (p: Pending) => {
    const node = nodes[p.tx.sender % nodes.length]!;
    const tally = report.tallies.get(p.tx.msgType)!;
    nonces[p.tx.sender] ??= (await node.client.getAccount(senders[p.tx.sender]!.address)).pendingNonce;
    let raw: Uint8Array;
    try {
      raw = fuzzer.sign(p.tx, nonces[p.tx.sender]!);
    } catch {
      tally.unencodable++;
      return;
    }
    try {
      const hash = await node.client.sendRawTx(raw);
      sent.set(hash, p.tx);
      nonces[p.tx.sender]!++;
    } catch (err) {
      tally.rejected++;
      const code = (err as { code?: number }).code;
      note(report.rejections, p.tx.msgType, `${code ?? ''} ${(err as Error).message}`);
      if (code === ERR.NONCE_GAP || code === ERR.NONCE_TOO_LOW || code === undefined)
        nonces[p.tx.sender] = undefined;
    }
  };

  while (!finished() && !stop()) {
    const tx = fuzzer.next();
    report.tallies.get(tx.msgType)!.sent++;
    while (inFlight >= limit || (await checker.backlogged())) await sleep(20);
    inFlight++;
    queues[tx.sender] = queues[tx.sender]!.then(() => send({ tx }))
      .catch((err) => {
        // The node did not answer (it is down, or overloaded): the checker decides which.
        note(report.rejections, tx.msgType, `send failed: ${(err as Error).message}`);
        nonces[tx.sender] = undefined;
      })
      .finally(() => inFlight--);
    if (Date.now() - lastProgress > 3_000) {
      lastProgress = Date.now();
      await checker.check();
      // Transactions a proposer dropped leave gaps: start each idle sender again from the node's count.
      resync(nonces);
      report.elapsedMs = Date.now() - started;
      opts.onProgress?.(report);
    }
  }
  await Promise.all(queues);
  // Let the mempools drain, then a few more blocks, checking all the way.
  const drainUntil = Date.now() + 60_000;
  while (Date.now() < drainUntil && !stop()) {
    await checker.check();
    const pools = await Promise.all(nodes.map((node) => node.client.status().then((s) => s.mempool.count)));
    if (pools.every((c) => c === 0)) break;
    await sleep(1_000);
  }
  const target = (await nodes[0]!.height()) + 3n;
  while (!stop() && report.checkedHeight < target) {
    await checker.check();
    await sleep(500);
  }
  report.heads = await Promise.all(nodes.map((node) => node.height().catch(() => -1n)));
  report.elapsedMs = Date.now() - started;
  return report;
}

function resync(nonces: (bigint | undefined)[]): void {
  for (let i = 0; i < nonces.length; i++) nonces[i] = undefined;
}

function note(map: Map<string, Map<string, number>>, type: string, text: string): void {
  const byType = map.get(type) ?? new Map<string, number>();
  map.set(type, byType);
  const key = text.slice(0, 60);
  if (byType.size < 40 || byType.has(key)) byType.set(key, (byType.get(key) ?? 0) + 1);
}

/** Compares every node at every height, tallies receipts, feeds events back, detects halts. */
class Checker {
  readonly #nodes: NodeProcess[];
  readonly #fuzzer: TxFuzzer;
  readonly #report: LiveReport;
  readonly #sent: Map<Hex, FuzzTx>;
  readonly #stallMs: number;
  #top = -1n;
  #topAt = Date.now();
  #mempool = 0;

  constructor(
    nodes: NodeProcess[],
    fuzzer: TxFuzzer,
    report: LiveReport,
    sent: Map<Hex, FuzzTx>,
    stallMs: number,
  ) {
    this.#nodes = nodes;
    this.#fuzzer = fuzzer;
    this.#report = report;
    this.#sent = sent;
    this.#stallMs = stallMs;
    report.checkedHeight = -1n;
  }

  /** Too many transactions waiting: slow down rather than fill the mempools. */
  async backlogged(): Promise<boolean> {
    return this.#mempool > 3_000;
  }

  async check(): Promise<void> {
    const r = this.#report;
    for (const node of this.#nodes)
      if (!node.running) this.#finding('halt', `${node.name} exited:\n${node.logTail(2_000)}`, this.#top);
    let heads: bigint[];
    try {
      const statuses = await Promise.all(this.#nodes.map((node) => node.client.status()));
      heads = statuses.map((s) => s.height);
      this.#mempool = Math.max(...statuses.map((s) => s.mempool.count));
    } catch (err) {
      this.#finding('stalled', `a node stopped answering RPC: ${stackOf(err)}`, this.#top);
      return;
    }
    // biome-ignore lint/complexity/useMathMinMax: Math.max/min do not take bigint
    const top = heads.reduce((a, b) => (a > b ? a : b));
    if (top > this.#top) {
      this.#top = top;
      this.#topAt = Date.now();
    } else if (Date.now() - this.#topAt > this.#stallMs) {
      this.#finding(
        'stalled',
        `no node made a block for ${Date.now() - this.#topAt} ms (heads ${heads.join(', ')})\n${this.#logs()}`,
        top,
      );
      this.#topAt = Date.now();
    }
    // biome-ignore lint/complexity/useMathMinMax: Math.max/min do not take bigint
    const common = heads.reduce((a, b) => (a < b ? a : b));
    if (r.checkedHeight < 0n) r.checkedHeight = r.startHeight;
    for (let h = r.checkedHeight + 1n; h <= common; h++) {
      const blocks = await Promise.all(
        this.#nodes.map((node, i) =>
          node.client.request<(RawBlock & { header: { stateRoot: Hex }; receipts?: unknown[] }) | null>(
            'aivm_getBlock',
            {
              height: h.toString(),
              fullTxs: i === 0,
            },
          ),
        ),
      );
      const first = blocks[0];
      for (const [i, b] of blocks.entries()) {
        if (!b || !first || b.hash !== first.hash || b.header.stateRoot !== first.header.stateRoot)
          this.#finding(
            'divergence',
            `height ${h}: ${this.#nodes[0]!.name} has block ${first?.hash} root ${first?.header.stateRoot}, ` +
              `${this.#nodes[i]!.name} has ${b?.hash} root ${b?.header.stateRoot}`,
            h,
          );
      }
      if (first) this.#tally(first);
      r.checkedHeight = h;
    }
  }

  #tally(block: { txs: unknown[]; receipts?: unknown[] }): void {
    const receipts = block.receipts ?? [];
    this.#fuzzer.observeReceipts(receipts as { events?: unknown[] }[]);
    for (const [i, t] of block.txs.entries()) {
      const hash = (typeof t === 'string' ? t : (t as { hash: Hex }).hash) as Hex;
      const tx = this.#sent.get(hash);
      if (!tx) continue;
      this.#sent.delete(hash);
      const tally = this.#report.tallies.get(tx.msgType)!;
      tally.included++;
      const rec = receipts[i] as Record<string, unknown> | undefined;
      if (rec && receiptOk(rec)) tally.succeeded++;
      else tally.failed++;
      const text = rec ? `${rec.code ?? ''} ${rec.error ?? ''}` : '';
      if (/internal error/i.test(text))
        this.#report.findings.push({
          kind: 'internal-error-receipt',
          seed: this.#report.seed,
          height: this.#top,
          msgType: tx.msgType,
          detail: `committed receipt "${text.trim()}"`,
          msg: describeMsg(tx.msg),
        });
    }
  }

  #finding(kind: Finding['kind'], detail: string, height: bigint): void {
    this.#report.findings.push({ kind, seed: this.#report.seed, height, detail });
  }

  #logs(): string {
    return this.#nodes.map((node) => `==== ${node.name} ====\n${node.logTail(1_500)}`).join('\n');
  }
}
