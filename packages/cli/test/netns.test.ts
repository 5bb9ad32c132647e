// Network faults on real sockets: four `aivm start` validators, each in its own Linux network
// namespace (netns.ts), with p2p over links the test cuts, splits or impairs. A 2-2 partition
// halts the chain without forking and it resumes on heal; 200 ms ± 50 ms delay with 5% loss on
// every node's packets still commits; a validator cut off for 100 blocks catches up by block sync.
// Needs root (ip netns add); skipped with the reason where namespaces are unavailable.
// AIVM_NETWORK_TEST_LOGS=<file> keeps the nodes' warnings and errors of a run in that file.

import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { describe, it, type TestContext } from 'node:test';
import type { Hex } from '@aivm/crypto';
import { type DataPlane, NetnsLab, netnsUnavailable } from './netns.ts';
import { Network, type NodeProcess, sleep, waitFor } from './network-helpers.ts';

const BLOCK_TIME_MS = 100;

const unavailable = await netnsUnavailable();
if (unavailable) console.error(`skipping the network namespace tests: ${unavailable}`);

// biome-ignore lint/complexity/useMathMinMax: Math.max/min do not take bigint
const max = (xs: bigint[]) => xs.reduce((a, b) => (a > b ? a : b));
// biome-ignore lint/complexity/useMathMinMax: Math.max/min do not take bigint
const min = (xs: bigint[]) => xs.reduce((a, b) => (a < b ? a : b));
const heights = (nodes: NodeProcess[]) => Promise.all(nodes.map((n) => n.height()));

/** Runs `body` on a fresh 4-validator network in namespaces; always stops it and removes them. */
async function withNetwork(
  t: TestContext,
  dataPlane: DataPlane,
  body: (net: Network, lab: NetnsLab) => Promise<void>,
): Promise<void> {
  const lab = await NetnsLab.create({ nodes: 4, dataPlane });
  let net: Network | undefined;
  try {
    net = await Network.create({ validators: 4, blockTimeMs: BLOCK_TIME_MS, placement: lab.placement });
    await net.start();
    await body(net, lab);
  } catch (err) {
    if (net) t.diagnostic(`node logs:${net.diagnose()}`);
    throw err;
  } finally {
    if (net && process.env.AIVM_NETWORK_TEST_LOGS)
      await appendFile(process.env.AIVM_NETWORK_TEST_LOGS, `#### ${t.name}${net.diagnose(100_000)}\n`);
    await net?.close();
    await lab.close();
  }
}

/**
 * Reads every height each node holds and fails if two nodes hold different blocks at one height
 * (a fork); returns the hashes by height.
 */
async function assertOneChain(nodes: NodeProcess[]): Promise<Map<bigint, Hex>> {
  const heads = await heights(nodes);
  const byHeight = new Map<bigint, { node: string; hash: Hex }>();
  for (const [i, node] of nodes.entries()) {
    const all = Array.from({ length: Number(heads[i]!) }, (_, k) => BigInt(k + 1));
    for (let k = 0; k < all.length; k += 16) {
      const batch = all.slice(k, k + 16);
      const hashes = await Promise.all(batch.map((h) => node.hashAt(h)));
      for (const [j, hash] of hashes.entries()) {
        const h = batch[j]!;
        assert.ok(hash, `${node.name} reports height ${heads[i]} but serves no block at ${h}`);
        const seen = byHeight.get(h);
        if (seen) assert.equal(hash, seen.hash, `fork at height ${h}: ${seen.node} and ${node.name} differ`);
        else byHeight.set(h, { node: node.name, hash });
      }
    }
  }
  return new Map([...byHeight].map(([h, v]) => [h, v.hash]));
}

/** Waits until no node's head has moved for `quietMs`; returns the heads. */
async function settledHeights(nodes: NodeProcess[], quietMs: number, timeoutMs: number): Promise<bigint[]> {
  let last = await heights(nodes);
  let since = Date.now();
  return waitFor(
    `${nodes.map((n) => n.name).join(', ')} to stop advancing`,
    async () => {
      const now = await heights(nodes);
      if (now.some((h, i) => h !== last[i])) {
        last = now;
        since = Date.now();
        return undefined;
      }
      return Date.now() - since >= quietMs ? now : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

describe('network faults on real sockets (network namespaces)', {
  skip: unavailable ?? false,
  timeout: 1_500_000,
}, () => {
  it('a 2-2 partition halts the chain without forking; it resumes when the partition heals', {
    timeout: 420_000,
  }, async (t) => {
    await withNetwork(t, { kind: 'switch', sides: [0, 0, 1, 1] }, async (net, lab) => {
      const nodes = net.nodes;
      await net.waitForHeight(nodes, 3n, 120_000);

      await lab.setTrunk(false);
      // A height decided as the trunk went down may still complete on one side; then nothing.
      const halted = await settledHeights(nodes, 5_000, 60_000);
      t.diagnostic(`partitioned at heights ${halted.join(', ')}`);
      // Long enough for the p2p connections across the cut to time out, so that healing also
      // needs the nodes to dial each other again.
      for (let s = 0; s < 20; s++) {
        await sleep(1_000);
        assert.deepEqual(await heights(nodes), halted, 'a side of a 2-2 partition made a block');
      }
      assert.ok(max(halted) - min(halted) <= 1n, `heads ${halted.join(', ')} apart by more than one block`);
      const beforeHeal = await assertOneChain(nodes);

      await lab.setTrunk(true);
      const healedAt = Date.now();
      const target = max(halted) + 5n;
      await net.waitForHeight(nodes, target, 180_000);
      const after = await assertOneChain(nodes);
      for (const [h, hash] of beforeHeal)
        assert.equal(after.get(h), hash, `block ${h} changed across the heal`);
      t.diagnostic(
        `healed: all four at or above ${target} ${Date.now() - healedAt} ms later, one chain of ${after.size} blocks`,
      );
    });
  });

  it('200 ms ± 50 ms delay and 5% loss on every packet between validators: blocks still commit', {
    timeout: 420_000,
  }, async (t) => {
    await withNetwork(t, { kind: 'relay' }, async (net, lab) => {
      const nodes = net.nodes;
      await net.waitForHeight(nodes, 2n, 120_000);

      lab.impair({ delayMs: 200, jitterMs: 50, lossPercent: 5 });
      const from = max(await heights(nodes));
      const startedAt = Date.now();
      const before = lab.relayStats;
      await net.waitForHeight(nodes, from + 8n, 240_000);
      const stats = lab.relayStats;
      const chain = await assertOneChain(nodes);
      assert.ok(chain.size >= Number(from + 8n));
      // the impairment really applied: packets were dropped at about the configured rate
      const forwarded = stats.forwarded - before.forwarded;
      const dropped = stats.dropped - before.dropped;
      assert.ok(dropped > 0 && forwarded > 0, JSON.stringify(stats));
      const lossPercent = (100 * dropped) / (dropped + forwarded);
      assert.ok(lossPercent > 2 && lossPercent < 10, `measured loss ${lossPercent.toFixed(1)}%`);
      t.diagnostic(
        `impaired: heights ${from} -> ${from + 8n} in ${Date.now() - startedAt} ms; ` +
          `${forwarded} packets forwarded, ${dropped} dropped (${lossPercent.toFixed(1)}%)`,
      );
    });
  });

  it('a validator cut off for 100 blocks catches up by block sync and agrees', {
    timeout: 720_000,
  }, async (t) => {
    await withNetwork(t, { kind: 'switch', sides: [0, 0, 0, 0] }, async (net, lab) => {
      const nodes = net.nodes;
      const [rest, cut] = [nodes.slice(0, 3), nodes[3]!];
      await net.waitForHeight(nodes, 3n, 120_000);

      await lab.setDataLink(3, false);
      // a height the cut-off node had already decided may still complete after the link went down
      const [cutAt] = (await settledHeights([cut], 3_000, 60_000)) as [bigint];
      const from = max(await heights(rest));
      const cutOffAt = Date.now();
      await net.waitForHeight(rest, from + 100n, 360_000);
      assert.equal(await cut.height(), cutAt, `${cut.name} advanced while cut off`);
      t.diagnostic(
        `${cut.name} cut off at ${cutAt}; the other three went ${from} -> ${from + 100n} in ${Date.now() - cutOffAt} ms`,
      );

      await lab.setDataLink(3, true);
      const reconnectedAt = Date.now();
      const head = max(await heights(rest));
      await net.waitForHeight([cut], head, 180_000);
      const chain = await assertOneChain(nodes);
      assert.ok(chain.size >= Number(head));
      t.diagnostic(
        `${cut.name} caught up from ${cutAt} to ${await cut.height()} ${Date.now() - reconnectedAt} ms after reconnecting`,
      );
    });
  });
});
