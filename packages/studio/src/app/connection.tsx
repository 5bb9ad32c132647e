// The Studio's connection to one AIVM node through the SDK's AivmClient: the node that serves the
// page (same origin) unless `?rpc=<url>` names another (that node must allow this origin: CORS).
// One ChainFeed per connection follows the head (a newBlocks subscription, polling if the
// WebSocket cannot open) and hands each new block to whoever listens.

import { AivmClient, type NewBlockEvent } from '@aivm/sdk';
import { createContext, type ReactNode, useContext, useEffect, useMemo, useSyncExternalStore } from 'react';
import { errorText, type LogStore } from './log.ts';

/** Where the node is: `?rpc=` if given, else the page's origin (in `vite dev`, a local devnet). */
export function resolveRpcUrl(search: string, origin: string, dev = false): { url: string; error?: string } {
  const fallback = dev ? 'http://127.0.0.1:8545' : origin;
  const given = new URLSearchParams(search).get('rpc');
  if (given === null || given === '') return { url: fallback };
  try {
    const u = new URL(given);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    return { url: given.replace(/\/+$/, '') };
  } catch {
    return {
      url: fallback,
      error: `?rpc= must be an http(s) URL such as http://127.0.0.1:8545, got "${given}"; using ${fallback}`,
    };
  }
}

export type FeedState = 'connecting' | 'live' | 'polling' | 'offline';

export type FeedSnapshot = { state: FeedState; head?: NewBlockEvent; chainId?: bigint; error?: string };

const POLL_MS = 2_000;

/** Follows the chain's head for the whole page: one subscription, any number of listeners. */
export class ChainFeed {
  #snapshot: FeedSnapshot = { state: 'connecting' };
  readonly #listeners = new Set<() => void>();
  readonly #blockListeners = new Set<(b: NewBlockEvent) => void>();
  #stop: (() => void) | undefined;
  #stopped = false;

  constructor(
    readonly client: AivmClient,
    readonly log: LogStore,
  ) {}

  snapshot = (): FeedSnapshot => this.#snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Calls `onBlock` for every block committed from now on. */
  onBlock(onBlock: (b: NewBlockEvent) => void): () => void {
    this.#blockListeners.add(onBlock);
    return () => this.#blockListeners.delete(onBlock);
  }

  #set(patch: Partial<FeedSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    for (const l of this.#listeners) l();
  }

  #emit(b: NewBlockEvent): void {
    const head = this.#snapshot.head;
    if (head && b.height <= head.height) return;
    this.#set({ head: b });
    for (const l of this.#blockListeners) l(b);
  }

  async start(): Promise<void> {
    try {
      const status = await this.client.status();
      if (this.#stopped) return;
      this.#set({ chainId: status.chainId });
      this.log.info(
        'node',
        `connected to ${this.client.url}: chain ${status.chainId}, height ${status.height}`,
      );
      const latest = await this.client.getBlock();
      if (latest && !this.#stopped)
        this.#emit({ hash: latest.hash, height: latest.header.height, header: latest.header });
    } catch (err) {
      if (this.#stopped) return;
      const error = `cannot reach the node at ${this.client.url}: ${errorText(err)}`;
      this.log.error('node', error);
      this.#set({ state: 'offline', error });
      this.#poll();
      return;
    }
    try {
      const unsubscribe = await this.client.subscribe('newBlocks', {}, (b) => this.#emit(b));
      if (this.#stopped) {
        unsubscribe().catch(() => {});
        return;
      }
      this.#stop = () => {
        unsubscribe().catch(() => {});
      };
      this.#set({ state: 'live', error: undefined });
    } catch (err) {
      this.log.warn(
        'node',
        `no live blocks over WebSocket (${errorText(err)}): polling every ${POLL_MS / 1000} s`,
      );
      this.#poll();
    }
  }

  #poll(): void {
    const timer = setInterval(() => {
      this.client.getBlock().then(
        (b) => {
          if (!b || this.#stopped) return;
          if (this.#snapshot.state !== 'polling') {
            this.log.info('node', `reached ${this.client.url} again (polling)`);
            this.#set({ state: 'polling', error: undefined });
          }
          this.#emit({ hash: b.hash, height: b.header.height, header: b.header });
        },
        (err: unknown) => {
          if (this.#snapshot.state !== 'offline') {
            const error = `lost the node at ${this.client.url}: ${errorText(err)}`;
            this.log.error('node', error);
            this.#set({ state: 'offline', error });
          }
        },
      );
    }, POLL_MS);
    this.#stop = () => clearInterval(timer);
  }

  stop(): void {
    this.#stopped = true;
    this.#stop?.();
  }
}

export type Connection = {
  client: AivmClient;
  rpcUrl: string;
  feed: ChainFeed;
  log: LogStore;
};

const ConnectionContext = createContext<Connection | undefined>(undefined);

export function ConnectionProvider({
  rpcUrl,
  log,
  client: given,
  children,
}: {
  rpcUrl: string;
  log: LogStore;
  /** A client to use instead of a new AivmClient (tests). */
  client?: AivmClient;
  children: ReactNode;
}) {
  const connection = useMemo(() => {
    const client =
      given ??
      new AivmClient(rpcUrl, {
        onError: (err) => log.error('node', `subscription event failed: ${errorText(err)}`),
      });
    return { client, rpcUrl, log, feed: new ChainFeed(client, log) };
  }, [rpcUrl, log, given]);
  useEffect(() => {
    connection.feed.start().catch((err: unknown) => log.error('node', errorText(err)));
    return () => {
      connection.feed.stop();
      if (!given) connection.client.close();
    };
  }, [connection, given, log]);
  return <ConnectionContext.Provider value={connection}>{children}</ConnectionContext.Provider>;
}

export function useConnection(): Connection {
  const c = useContext(ConnectionContext);
  if (!c) throw new Error('useConnection outside ConnectionProvider');
  return c;
}

export function useFeed(): FeedSnapshot {
  const { feed } = useConnection();
  return useSyncExternalStore(feed.subscribe, feed.snapshot);
}
