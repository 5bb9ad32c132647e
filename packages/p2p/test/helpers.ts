// Test kit: real libp2p nodes on 127.0.0.1 with OS-chosen ports, always stopped by the caller.

import { type GossipHandler, P2P, type P2POptions } from '../src/index.ts';

export const LOOPBACK = '/ip4/127.0.0.1/tcp/0';
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startNode(opts: Partial<P2POptions> = {}, setup?: (p: P2P) => void): Promise<P2P> {
  const p = await P2P.create({ network: 'testnet', listen: [LOOPBACK], ...opts });
  setup?.(p);
  await p.start();
  return p;
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export async function stopAll(nodes: (P2P | undefined)[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n?.stop()));
}

export const addr = (p: P2P): string => p.multiaddrs()[0];

/** A gossip handler that records what it sees and accepts it. */
export const accepting =
  (sink: (data: Uint8Array, from: string) => void): GossipHandler =>
  (data, from) => {
    sink(data, from);
    return 'accept';
  };
