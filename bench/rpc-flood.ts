// bench:rpc-flood — issue 13, attack 7 at the scale of one machine: a single-validator node (in this
// process, so its RSS is measured) carries paced transfers while a child process opens as many
// WebSocket connections x subscriptions as the node gives it, from BENCH_FLOOD_IPS source addresses
// (127.0.0.2...), and reads every notification as fast as it can. Another client (127.0.0.1) calls
// aivm_status every 50 ms. The table compares the attack phase with a baseline phase of the same
// run: blocks/s, status latency, RSS, and what the attacker got.
//
//   npx node bench/rpc-flood.ts                       # this tree
//   BENCH_NODE_SRC=/tmp/aivm-before/packages/node/src npx node bench/rpc-flood.ts   # another tree's node
//   BENCH_FLOOD_IPS=8 npx node bench/rpc-flood.ts     # the attacker spread over 8 addresses

import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519GenerateKey, privateKeyToAddress, sha256 } from '@aivm/crypto';
import { AivmClient, Wallet } from '@aivm/sdk';
import WebSocket from 'ws';

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 15_000);
const BLOCK_MS = Number(process.env.BENCH_BLOCK_MS ?? 200);
const TX_RATE = Number(process.env.BENCH_TX_RATE ?? 20);
const IPS = Number(process.env.BENCH_FLOOD_IPS ?? 1);
const CONNECTIONS = Number(process.env.BENCH_FLOOD_CONNECTIONS ?? 256);
const SUBS = Number(process.env.BENCH_FLOOD_SUBS ?? 64);
const NODE_SRC = process.env.BENCH_NODE_SRC ?? join(import.meta.dirname, '..', 'packages', 'node', 'src');

type FloodReport = {
  open: number;
  refused: number;
  subscribed: number;
  subRefused: number;
  messages: number;
  bytes: number;
};

if (process.argv[2] === 'attacker') {
  // The attacker: connections round-robin over the source addresses, SUBS subscriptions each.
  const wsUrl = process.argv[3]!;
  const r: FloodReport = { open: 0, refused: 0, subscribed: 0, subRefused: 0, messages: 0, bytes: 0 };
  const sockets: WebSocket[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const ws = new WebSocket(wsUrl, { localAddress: `127.0.0.${2 + (i % IPS)}` });
    sockets.push(ws);
    ws.on('error', () => {});
    ws.on('unexpected-response', (req) => {
      r.refused++;
      req.destroy();
    });
    ws.on('open', () => {
      r.open++;
      for (let s = 0; s < SUBS; s++) {
        const topic = ['newBlocks', 'txResults', 'events'][s % 3];
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: s, method: 'aivm_subscribe', params: { topic } }));
      }
    });
    ws.on('message', (data: Buffer) => {
      r.messages++;
      r.bytes += data.length;
      if (data.length < 300 && data.includes('"id"')) {
        if (data.includes('"error"')) r.subRefused++;
        else r.subscribed++;
      }
    });
  }
  setInterval(() => process.send!(r), 500);
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

type Phase = { blocks: bigint; seconds: number; statusMs: number[]; rssMaxMb: number };

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
}

async function main(): Promise<void> {
  const { AivmNode } = (await import(
    join(NODE_SRC, 'node.ts')
  )) as typeof import('../packages/node/src/node.ts');
  const { buildGenesis, DEFAULT_SELF_STAKE_WEI } = (await import(
    join(NODE_SRC, 'genesis-builder.ts')
  )) as typeof import('../packages/node/src/genesis-builder.ts');
  const { createLogger } = (await import(
    join(NODE_SRC, 'logger.ts')
  )) as typeof import('../packages/node/src/logger.ts');

  const home = await mkdtemp(join(tmpdir(), 'aivm-rpc-flood-'));
  const validator = ed25519GenerateKey();
  const payer = sha256(new TextEncoder().encode('rpc-flood payer'));
  const node = await AivmNode.start({
    home,
    genesis: buildGenesis({
      chainId: 99,
      genesisTimeMs: Date.now(),
      validators: [
        {
          operator: privateKeyToAddress(sha256(new TextEncoder().encode('rpc-flood operator'))),
          consensusPubKey: validator.publicKey,
          selfStakeWei: DEFAULT_SELF_STAKE_WEI,
        },
      ],
      balances: [{ address: privateKeyToAddress(payer), amountWei: 10n ** 27n }],
    }),
    validatorKey: validator.secretKey,
    // BENCH_UNLIMITED=1 lifts the per-client limits: the fan-out alone against the full flood.
    rpc: {
      host: '127.0.0.1',
      port: 0,
      ...(process.env.BENCH_UNLIMITED
        ? { clientLimits: { maxConnectionsPerClient: 256, maxSubscriptionsPerClient: 256 * 64 } }
        : {}),
    },
    blockIntervalMs: BLOCK_MS,
    emptyBlocks: true,
    logger: createLogger('silent'),
  });
  const client = new AivmClient(node.rpcUrl, { timeoutMs: 30_000 });
  const wallet = new Wallet(payer, client);
  const to = privateKeyToAddress(sha256(new TextEncoder().encode('rpc-flood recipient')));

  let running = true;
  const transfers = (async () => {
    while (running) {
      const t0 = Date.now();
      await wallet.send('bank/send', { to, amount: 1n }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 / TX_RATE - (Date.now() - t0))));
    }
  })();

  const phase = async (ms: number): Promise<Phase> => {
    const h0 = node.status().height;
    const t0 = performance.now();
    const statusMs: number[] = [];
    let rssMaxMb = 0;
    while (performance.now() - t0 < ms) {
      const s = performance.now();
      await client.status();
      statusMs.push(performance.now() - s);
      rssMaxMb = Math.max(rssMaxMb, process.memoryUsage().rss / 2 ** 20);
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      blocks: node.status().height - h0,
      seconds: (performance.now() - t0) / 1000,
      statusMs,
      rssMaxMb,
    };
  };

  await phase(3_000); // warm-up
  const baseline = await phase(PHASE_MS);
  const child = fork(import.meta.filename, ['attacker', node.wsUrl], { stdio: 'inherit' });
  let report: FloodReport | undefined;
  child.on('message', (m) => {
    report = m as FloodReport;
  });
  const attack = await phase(PHASE_MS);
  child.kill();
  running = false;
  await transfers;

  const row = (name: string, p: Phase) =>
    `| ${name} | ${(Number(p.blocks) / p.seconds).toFixed(2)} | ${pct(p.statusMs, 50).toFixed(1)} | ${pct(p.statusMs, 99).toFixed(1)} | ${Math.max(...p.statusMs).toFixed(1)} | ${p.statusMs.length} | ${p.rssMaxMb.toFixed(0)} |`;
  console.log(
    `\nnode: ${NODE_SRC}; attacker: ${CONNECTIONS} connections x ${SUBS} subscriptions from ${IPS} address(es); block interval ${BLOCK_MS} ms, ${TX_RATE} transfers/s offered\n`,
  );
  console.log(
    '| phase | blocks/s | status p50 ms | status p99 ms | status max ms | status calls | RSS max MiB |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  console.log(row('baseline', baseline));
  console.log(row('attack', attack));
  if (report)
    console.log(
      `\nattacker: ${report.open} connections open, ${report.refused} refused; ${report.subscribed} subscriptions, ${report.subRefused} refused; ${report.messages} messages, ${(report.bytes / 2 ** 20).toFixed(1)} MiB received in ${(attack.seconds).toFixed(1)} s`,
    );
  client.close();
  await node.close();
  await rm(home, { recursive: true, force: true });
  process.exit(0);
}
