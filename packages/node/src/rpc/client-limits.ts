// Who a client of the RPC server is, and how much of the node one client may hold at once. A
// client is the remote IP address of its connection (loopback included), so one script cannot take
// every WebSocket connection, subscription or upload slot of the node however many sockets it
// opens: the node-wide limits stay, and each client gets a share of them.

import type { Socket } from 'node:net';
import { RPC_ERR, RpcFailure } from './errors.ts';

export type RpcClientLimits = {
  /** WebSocket connections one client may hold at once (of the node-wide maxWsConnections). */
  maxConnectionsPerClient: number;
  /** Subscriptions over all of one client's connections (each connection also has its own limit). */
  maxSubscriptionsPerClient: number;
  /** Artifact blob uploads one client may have in progress at once (of the node-wide maxUploads). */
  maxUploadsPerClient: number;
};

export const DEFAULT_RPC_CLIENT_LIMITS: RpcClientLimits = {
  maxConnectionsPerClient: 32,
  maxSubscriptionsPerClient: 256,
  maxUploadsPerClient: 1,
};

/** The limits with defaults filled in; throws RangeError naming a limit that is not a positive integer. */
export function resolveRpcClientLimits(given: Partial<RpcClientLimits> = {}): RpcClientLimits {
  const limits = { ...DEFAULT_RPC_CLIENT_LIMITS };
  for (const [name, value] of Object.entries(given) as [keyof RpcClientLimits, unknown][]) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_RPC_CLIENT_LIMITS)) throw new RangeError(`unknown RPC client limit ${name}`);
    if (!Number.isSafeInteger(value) || (value as number) < 1)
      throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
    limits[name] = value as number;
  }
  return limits;
}

/**
 * The client key of a connection: its remote IP address, with the IPv4-mapped IPv6 prefix removed
 * so that one host has one key whichever way the socket was opened.
 */
export function clientKeyOf(socket: Pick<Socket, 'remoteAddress'>): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

type ClientUsage = { connections: number; subscriptions: number };

/** What each client holds of the WebSocket side of the server: connections and subscriptions. */
export class RpcClients {
  readonly limits: RpcClientLimits;
  readonly #usage = new Map<string, ClientUsage>();

  constructor(limits: Partial<RpcClientLimits> = {}) {
    this.limits = resolveRpcClientLimits(limits);
  }

  /** Clients holding at least one connection or subscription. */
  get size(): number {
    return this.#usage.size;
  }

  connections(client: string): number {
    return this.#usage.get(client)?.connections ?? 0;
  }

  subscriptions(client: string): number {
    return this.#usage.get(client)?.subscriptions ?? 0;
  }

  /** Counts a connection (handshakes in progress included); false when the client holds its share. */
  tryOpenConnection(client: string): boolean {
    const usage = this.#use(client);
    if (usage.connections >= this.limits.maxConnectionsPerClient) {
      this.#release(client, usage);
      return false;
    }
    usage.connections++;
    return true;
  }

  closeConnection(client: string): void {
    const usage = this.#usage.get(client);
    if (!usage) return;
    usage.connections = Math.max(0, usage.connections - 1);
    this.#release(client, usage);
  }

  /** Counts a subscription; throws LIMIT_EXCEEDED when the client holds its share. */
  addSubscription(client: string): void {
    const usage = this.#use(client);
    if (usage.subscriptions >= this.limits.maxSubscriptionsPerClient) {
      this.#release(client, usage);
      throw new RpcFailure(
        RPC_ERR.LIMIT_EXCEEDED,
        `subscription limit reached (${this.limits.maxSubscriptionsPerClient} per client ${client})`,
      );
    }
    usage.subscriptions++;
  }

  removeSubscription(client: string): void {
    const usage = this.#usage.get(client);
    if (!usage) return;
    usage.subscriptions = Math.max(0, usage.subscriptions - 1);
    this.#release(client, usage);
  }

  #use(client: string): ClientUsage {
    let usage = this.#usage.get(client);
    if (!usage) {
      usage = { connections: 0, subscriptions: 0 };
      this.#usage.set(client, usage);
    }
    return usage;
  }

  // Forgets clients that hold nothing, so the table grows with live clients only.
  #release(client: string, usage: ClientUsage): void {
    if (usage.connections === 0 && usage.subscriptions === 0) this.#usage.delete(client);
  }
}
