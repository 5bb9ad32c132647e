// bench:adversarial — what each cheap attack of docs/security.md costs honest users. One real
// `aivm devnet` process (validator and provider); honest users send paced transfers and MNIST
// inferences (on-chain and zk tier, one at a time each) while one attack at a time runs, in its own
// process and from its own client address, as fast as this machine lets its script go (on this
// 2-core box the attacker's own hashing and encoding also take CPU from the node). The reference is the same honest load with no attack, measured
// in the same run: the table gives honest throughput and p50 latency under each attack as a ratio
// of it (goal: at least 0.80 of the throughput, at most 2x the p50), and what the attack cost.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_MNEMONIC } from '@aivm/cli';
import { type Hex, mnemonicToPrivateKey } from '@aivm/crypto';
import { quantizeInput } from '@aivm/node';
import { decodeArtifact } from '@aivm/runtime';
import {
  AivmClient,
  blobId,
  blobUploadTypedData,
  requestInference,
  TIERS,
  Wallet,
  waitForRequest,
} from '@aivm/sdk';
import WebSocket from 'ws';
import { startDevnet } from './lib/devnet.ts';
import { percentile } from './lib/load.ts';

const ASSETS = join(import.meta.dirname, '..', 'packages', 'cli', 'assets');
const BLOCK_MS = Number(process.env.BENCH_BLOCK_MS ?? 250);
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 20_000);
/** Honest transfers offered per second (paced), from HONEST accounts. */
const HONEST_RATE = Number(process.env.BENCH_HONEST_RATE ?? 40);
const HONEST = 10;
const ATTACKERS = 20;
/** Source address of the attacker's connections: another client than the honest users (127.0.0.1). */
const ATTACKER_IP = process.env.BENCH_ATTACKER_IP ?? '127.0.0.2';
const ONLY = process.env.BENCH_ATTACKS?.split(',');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const GWEI = 10n ** 9n;
const fmtCgpt = (wei: bigint) => (Number(wei) / 1e18).toFixed(4);

type Ctx = {
  client: AivmClient;
  rpcUrl: string;
  model: string;
  input: Uint8Array;
  honest: Wallet[];
  attackers: Wallet[];
};

/** A running attack: stop() ends it and says what it did. */
type Attack = { stop(): Promise<string> };

type Honest = {
  offered: number;
  committed: number;
  transferP50Ms: number;
  onchainP50Ms: number;
  onchainDone: number;
  zkP50Ms: number;
  zkDone: number;
  failures: string[];
};

/** Watches committed blocks by polling (a subscription could itself be what an attack slows). */
class BlockWatcher {
  readonly committedAt = new Map<string, number>();
  #stop = false;
  #done: Promise<void>;
  constructor(client: AivmClient, from: bigint) {
    this.#done = (async () => {
      let next = from + 1n;
      while (!this.#stop) {
        try {
          const head = (await client.status()).height;
          for (; next <= head; next++) {
            const b = await client.getBlock(next);
            const at = performance.now();
            for (const h of (b?.txs ?? []) as Hex[]) this.committedAt.set(h.toLowerCase(), at);
          }
        } catch {
          // the node is busy: try again
        }
        await sleep(50);
      }
    })();
  }
  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

/** The honest load for one phase: paced transfers plus one on-chain and one zk inference loop. */
async function honestPhase(ctx: Ctx, nonces: bigint[]): Promise<Honest> {
  const { client } = ctx;
  const watcher = new BlockWatcher(client, (await client.status()).height);
  const sentAt = new Map<string, number>();
  const failures: string[] = [];
  const resync = new Set<number>();
  const end = performance.now() + PHASE_MS;
  const transfers = (async () => {
    let i = 0;
    const start = performance.now();
    while (performance.now() < end) {
      const due = start + (i * 1000) / HONEST_RATE;
      if (due > performance.now()) await sleep(due - performance.now());
      const a = i % HONEST;
      const w = ctx.honest[a]!;
      i++;
      // After a refused transfer the node's view of the account wins (no cascade of nonce gaps).
      if (resync.has(a)) {
        resync.delete(a);
        nonces[a] = await client.getAccount(w.address).then(
          (acc) => acc.pendingNonce,
          () => nonces[a]!,
        );
      }
      const t = performance.now();
      w.transfer(ctx.honest[(a + 1) % HONEST]!.address, 1n, { nonce: nonces[a]!, gasLimit: 60_000n })
        .then((h) => sentAt.set(h.toLowerCase(), t))
        .catch((err: Error) => {
          failures.push(`transfer: ${err.message}`);
          resync.add(a);
        });
      nonces[a]!++;
    }
  })();
  const inferences = async (tier: 'onchain' | 'zk', wallet: Wallet) => {
    const times: number[] = [];
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const sent = await requestInference(wallet, {
          modelId: ctx.model,
          tier: TIERS[tier],
          input: ctx.input,
        });
        const done = await waitForRequest(client, sent.requestId, { pollMs: 100, timeoutMs: 120_000 });
        if (done.status !== 'finalized') failures.push(`${tier}: ${done.status} ${done.reason}`);
        else times.push(performance.now() - t);
      } catch (err) {
        failures.push(`${tier}: ${(err as Error).message}`);
        await sleep(500);
      }
    }
    return times.sort((a, b) => a - b);
  };
  // Separate wallets (own nonces) for each loop: the transfer wallets are paced by nonce above.
  const [onchain, zk] = await Promise.all([
    inferences('onchain', ctx.honest[HONEST]!),
    inferences('zk', ctx.honest[HONEST + 1]!),
    transfers,
  ]);
  await sleep(3 * BLOCK_MS + 2_000); // the last transfers' blocks
  await watcher.stop();
  const latencies: number[] = [];
  for (const [h, t] of sentAt) {
    const c = watcher.committedAt.get(h);
    if (c !== undefined) latencies.push(c - t);
  }
  latencies.sort((a, b) => a - b);
  return {
    offered: sentAt.size,
    committed: latencies.length,
    transferP50Ms: latencies.length ? percentile(latencies, 50) : Number.NaN,
    onchainP50Ms: onchain.length ? percentile(onchain, 50) : Number.NaN,
    onchainDone: onchain.length,
    zkP50Ms: zk.length ? percentile(zk, 50) : Number.NaN,
    zkDone: zk.length,
    failures,
  };
}

/** Waits (up to 3 minutes) until no attacker transaction is pending, so phases do not overlap. */
async function drain(ctx: Ctx): Promise<void> {
  const until = performance.now() + 180_000;
  while (performance.now() < until) {
    const accounts = await Promise.all(ctx.attackers.map((w) => ctx.client.getAccount(w.address)));
    if (accounts.every((a) => a.pendingNonce === a.nonce)) return;
    await sleep(1_000);
  }
  console.error('  attacker transactions still pending after 3 minutes');
}

async function balances(ctx: Ctx): Promise<bigint> {
  let sum = 0n;
  for (const w of ctx.attackers) sum += (await ctx.client.getAccount(w.address)).balanceWei;
  return sum;
}

/** Attack 1: transfers reserving the per-transaction gas maximum at twice the minimum price. */
function blockStuffing(ctx: Ctx): Attack {
  let stop = false;
  let sent = 0;
  const loops = ctx.attackers.map(async (w) => {
    const max = BigInt(((await ctx.client.query('auth/params')) as { maxTxGas: string }).maxTxGas);
    let nonce = (await ctx.client.getAccount(w.address)).pendingNonce;
    while (!stop) {
      // Keep up to 16 pending per sender (the mempool's per-sender bound is higher).
      const batch = Array.from({ length: 16 }, () =>
        w.transfer(w.address, 1n, { nonce: nonce++, gasLimit: max, gasPrice: 2n * GWEI }).then(
          () => sent++,
          () => {
            nonce = -1n;
          },
        ),
      );
      await Promise.all(batch);
      if (nonce < 0n) nonce = (await ctx.client.getAccount(w.address)).pendingNonce;
      await sleep(BLOCK_MS);
    }
  });
  return {
    async stop() {
      stop = true;
      await Promise.all(loops);
      return `${sent} transfers with the maximum gas limit at 2 gwei`;
    },
  };
}

/** Attack 7: as many WebSocket connections x subscriptions as the node gives one client, half never reading. */
function subscriptionFlood(ctx: Ctx): Attack {
  const wsUrl = `${ctx.rpcUrl.replace('http', 'ws')}/ws`;
  const sockets: WebSocket[] = [];
  let subscribed = 0;
  let refused = 0;
  let dropped = 0;
  let stop = false;
  const run = (async () => {
    for (let c = 0; c < 256 && !stop; c++) {
      const ws = new WebSocket(wsUrl, { localAddress: ATTACKER_IP });
      sockets.push(ws);
      ws.on('error', () => {});
      ws.on('close', () => dropped++);
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: unknown };
        if (msg.id === undefined) return;
        if (msg.error) refused++;
        else subscribed++;
      });
      const open = await new Promise<boolean>((r) => {
        ws.once('open', () => r(true));
        ws.once('close', () => r(false));
      });
      if (!open) {
        refused++;
        continue;
      }
      for (let s = 0; s < 64; s++) {
        const topic = (['newBlocks', 'txResults', 'events'] as const)[s % 3];
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: s, method: 'aivm_subscribe', params: { topic } }));
      }
      // Half the consumers never read: what they are sent piles up in the node.
      if (c % 2 === 1) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    }
  })();
  return {
    async stop() {
      stop = true;
      await run;
      const open = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
      for (const s of sockets) s.terminate();
      return `${sockets.length} connections tried, ${open} open at the end, ${dropped} closed by the node, ${subscribed} subscriptions, ${refused} refusals`;
    },
  };
}

/** Attack 8: zk requests on the devnet model from many accounts, as many as they may hold open. */
function providerHogging(ctx: Ctx): Attack {
  let stop = false;
  let sent = 0;
  let failed = 0;
  const loops = ctx.attackers.map(async (w) => {
    while (!stop) {
      try {
        const r = await requestInference(w, { modelId: ctx.model, tier: TIERS.zk, input: ctx.input });
        sent++;
        await waitForRequest(ctx.client, r.requestId, { pollMs: 250, timeoutMs: 120_000 }).catch(() => {});
      } catch {
        failed++;
        await sleep(BLOCK_MS);
      }
    }
  });
  return {
    async stop() {
      stop = true;
      await Promise.all(loops);
      return `${sent} zk requests accepted, ${failed} refused`;
    },
  };
}

/** A JSON-RPC call over HTTP from `localAddress` (the attacker's client address). */
function rpcFrom(
  url: string,
  localAddress: string,
  method: string,
  params: object,
): Promise<{ error?: { message: string } }> {
  const u = new URL(url);
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          try {
            resolve(JSON.parse(text));
          } catch {
            resolve({ error: { message: `HTTP ${res.statusCode}` } });
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** models/publish of a zk-only model naming the blob `bytes` (it never activates: no key is uploaded). */
async function publishJunk(ctx: Ctx, w: Wallet, bytes: Uint8Array): Promise<string> {
  const id = blobId(bytes);
  const hash = await w.send('models/publish', {
    id,
    name: `junk ${id.slice(-8)}`,
    task: '',
    inputSchema: '[1,4]',
    outputSchema: '[1,2]',
    license: '',
    version: '',
    description: '',
    priceWei: 10n ** 18n,
    tiers: TIERS.zk,
    artifactSize: bytes.length,
    vkHash: `0x${'11'.repeat(32)}`,
    vkSize: 1,
    zkInputs: 0,
    zkWeights: 0,
    weightCommitment: 0n,
    previous: '',
    zkConstraints: 1n,
  });
  const rec = await ctx.client.waitForTx(hash, { timeoutMs: 60_000 });
  if (!rec.receipt.success) throw new Error(`publish refused: ${rec.receipt.error}`);
  return id;
}

/** Attack 2: publish zk-only models naming 16 MiB blobs and upload them, as fast as one script can. */
function junkStorage(ctx: Ctx): Attack {
  let stop = false;
  let stored = 0;
  let refused = 0;
  const loops = ctx.attackers.slice(0, 2).map(async (w) => {
    while (!stop) {
      const junk = randomBytes(16 * 1024 * 1024);
      try {
        await publishJunk(ctx, w, junk);
        await ctx.client.uploadBlob(junk, { signer: w });
        stored++;
      } catch {
        refused++;
        await sleep(BLOCK_MS);
      }
    }
  });
  return {
    async stop() {
      stop = true;
      await Promise.all(loops);
      return `${stored} blobs of 16 MiB stored, ${refused} attempts refused`;
    },
  };
}

/**
 * Attack 5: the attacker publishes models and holds upload slots by re-sending chunk 0 of each; an
 * honest publisher uploads a 1 MiB blob meanwhile (its time is in the attack column).
 */
function uploadSquatting(ctx: Ctx): Attack {
  let stop = false;
  let resends = 0;
  let refusals = 0;
  const squatters = ctx.attackers.slice(0, 4).map(async (w) => {
    const junk = randomBytes(4 * 1024 * 1024);
    const id = await publishJunk(ctx, w, junk);
    const status = await ctx.client.status();
    const signature = `0x${Buffer.from(w.signTypedData(blobUploadTypedData(status.chainId, id, junk.length))).toString('hex')}`;
    const data = `0x${Buffer.from(junk.subarray(0, 256 * 1024)).toString('hex')}`;
    while (!stop) {
      const answer = await rpcFrom(ctx.rpcUrl, ATTACKER_IP, 'aivm_blobUploadChunk', {
        id,
        size: junk.length,
        index: 0,
        data,
        signature,
      }).catch((err: Error) => ({ error: { message: err.message } }));
      if (answer.error) refusals++;
      else resends++;
      await sleep(200);
    }
  });
  const honest = (async () => {
    await sleep(3_000); // the squatters hold their slots first
    const w = ctx.honest[HONEST + 2]!; // an honest publisher, no other loop sends from it
    const blob = randomBytes(1024 * 1024);
    const t = performance.now();
    try {
      await publishJunk(ctx, w, blob);
      await ctx.client.uploadBlob(blob, { signer: w });
      return `honest 1 MiB publish and upload took ${((performance.now() - t) / 1000).toFixed(1)} s`;
    } catch (err) {
      return `honest upload failed after ${((performance.now() - t) / 1000).toFixed(1)} s: ${(err as Error).message}`;
    }
  })();
  return {
    async stop() {
      stop = true;
      await Promise.all(squatters);
      return `${resends} chunk-0 re-sends accepted, ${refusals} refused; ${await honest}`;
    },
  };
}

const ATTACKS: { name: string; issue: number; start(ctx: Ctx): Attack }[] = [
  { name: 'block stuffing (high gas limits)', issue: 1, start: blockStuffing },
  { name: 'junk storage (16 MiB blobs)', issue: 2, start: junkStorage },
  { name: 'upload slot squatting', issue: 5, start: uploadSquatting },
  { name: 'subscription flood', issue: 7, start: subscriptionFlood },
  { name: 'provider hogging (zk requests)', issue: 8, start: providerHogging },
];

/** Clients, wallets and the MNIST input for a devnet at `rpcUrl` serving `modelId`. */
async function makeCtx(rpcUrl: string, modelId: string): Promise<Ctx> {
  const model = decodeArtifact(new Uint8Array(await readFile(join(ASSETS, 'mnist-mlp.aivm'))));
  const digit = (JSON.parse(await readFile(join(ASSETS, 'mnist-digit-7.json'), 'utf8')) as number[][])[0]!;
  const client = new AivmClient(rpcUrl, { timeoutMs: 60_000 });
  const wallet = (i: number) => Wallet.fromPrivateKey(mnemonicToPrivateKey(DEV_MNEMONIC, i), client);
  return {
    client,
    rpcUrl,
    model: modelId,
    input: quantizeInput(model, digit),
    honest: Array.from({ length: HONEST + 3 }, (_, i) => wallet(i)),
    attackers: Array.from({ length: ATTACKERS }, (_, i) => wallet(HONEST + 3 + i)),
  };
}

/**
 * The attacker, in its own process as it would be (its hashing and encoding must not stall the
 * honest users' event loop): `adversarial.ts attack <issue> <rpcUrl> <modelId>` runs the attack
 * until SIGTERM, then prints what it did as one JSON line.
 */
async function attacker(issue: number, rpcUrl: string, modelId: string): Promise<void> {
  const ctx = await makeCtx(rpcUrl, modelId);
  const a = ATTACKS.find((x) => x.issue === issue);
  if (!a) throw new Error(`no attack ${issue}`);
  const attack = a.start(ctx);
  await new Promise((r) => process.once('SIGTERM', r));
  console.log(JSON.stringify({ what: await attack.stop() }));
  ctx.client.close();
  process.exit(0);
}

/** Starts the attacker process of attack `issue`; stop() ends it and resolves with what it did. */
function spawnAttacker(issue: number, ctx: Ctx): { stop(): Promise<string> } {
  const child = spawn(
    process.execPath,
    [import.meta.filename, 'attack', String(issue), ctx.rpcUrl, ctx.model],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      try {
        return (JSON.parse(out.trim().split('\n').at(-1) ?? '') as { what: string }).what;
      } catch {
        return `the attacker process ended without a report (${out.slice(-200)})`;
      }
    },
  };
}

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, block time ${BLOCK_MS} ms, ${PHASE_MS / 1000} s per phase, honest transfers offered at ${HONEST_RATE}/s`,
  );
  const home = await mkdtemp(join(tmpdir(), 'aivm-bench-adversarial-'));
  const accounts = HONEST + 3 + ATTACKERS;
  const node = await startDevnet<{ rpcUrl: string; model: string; provider: string }>(home, [
    '--block-time',
    String(BLOCK_MS),
    '--accounts',
    String(accounts),
    '--zk-cache',
    join(tmpdir(), 'aivm-bench-zk-cache'),
  ]);
  const ctx = await makeCtx(node.rpcUrl, node.model);
  const { client } = ctx;
  try {
    for (let i = 0; ; i++) {
      try {
        await client.query('inference/provider', { address: node.provider });
        break;
      } catch {
        if (i > 240) throw new Error('the devnet provider did not register');
        await sleep(500);
      }
    }
    const nonces = await Promise.all(
      ctx.honest.slice(0, HONEST).map(async (w) => (await client.getAccount(w.address)).pendingNonce),
    );
    console.error('baseline: honest load alone...');
    const base = await honestPhase(ctx, nonces);
    const rows: string[][] = [];
    const row = (name: string, h: Honest, cost: string, what: string) => {
      const ratio = (x: number, y: number) =>
        Number.isFinite(x) && Number.isFinite(y) ? (x / y).toFixed(2) : '-';
      rows.push([
        name,
        `${(h.committed / (PHASE_MS / 1000)).toFixed(1)} (${h.committed}/${h.offered})`,
        ratio(h.committed, base.committed),
        h.transferP50Ms.toFixed(0),
        ratio(h.transferP50Ms, base.transferP50Ms),
        `${h.onchainP50Ms.toFixed(0)} (${h.onchainDone})`,
        ratio(h.onchainP50Ms, base.onchainP50Ms),
        `${h.zkP50Ms.toFixed(0)} (${h.zkDone})`,
        ratio(h.zkP50Ms, base.zkP50Ms),
        String(h.failures.length),
        cost,
        what,
      ]);
      if (h.failures.length)
        console.error(`  honest failures: ${[...new Set(h.failures)].slice(0, 5).join('; ')}`);
    };
    row('none (reference)', base, '-', '-');
    for (const a of ATTACKS) {
      if (ONLY && !ONLY.includes(String(a.issue))) continue;
      console.error(`attack ${a.issue}: ${a.name}...`);
      const before = await balances(ctx);
      const attack = spawnAttacker(a.issue, ctx);
      await sleep(2_000); // let it ramp up
      const h = await honestPhase(ctx, nonces);
      const what = await attack.stop();
      await drain(ctx);
      const spent = before - (await balances(ctx));
      row(`${a.issue}. ${a.name}`, h, fmtCgpt(spent), what);
      await sleep(2_000);
    }
    console.log(
      '\n| attack | honest transfers/s (committed/offered) | ratio | transfer p50 ms | ratio | on-chain inference p50 ms (done) | ratio | zk inference p50 ms (done) | ratio | honest failures | attacker spent or locked (CGPT) | attack |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  } finally {
    client.close();
    await node.stop();
    await rm(home, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'attack') await attacker(Number(process.argv[3]), process.argv[4]!, process.argv[5]!);
else await main();
