// WebSocket subscriptions. The node hands each committed block's records to one NotificationHub
// (one listener per topic, whatever the number of subscribers): the listener only queues the record,
// so the commit path does O(1) work per record. The hub serializes each record once and delivers it
// to the matching subscribers later, in batches that yield to the event loop between them, so
// consensus timers, p2p and other RPC calls keep their turn however many subscriptions are open.

import { randomBytes } from 'node:crypto';
import type { Hex } from '@aivm/crypto';
import type { NodeApi, NodeEvents } from '../api.ts';
import type { RpcClients } from './client-limits.ts';
import { RPC_ERR, RpcFailure } from './errors.ts';
import { type Json, moduleEventJson, newBlockJson, txResultJson } from './json.ts';

export const TOPICS = ['newBlocks', 'txResults', 'events'] as const;
export type Topic = (typeof TOPICS)[number];
export type SubscriptionFilter = { module?: string; type?: string; txHash?: Hex };

/** What the aivm_subscribe / aivm_unsubscribe handlers need from their connection. */
export interface SubscriptionHost {
  subscribe(topic: Topic, filter: SubscriptionFilter): string;
  unsubscribe(id: string): boolean;
}

type Payload = {
  newBlocks: Parameters<NodeEvents['block']>[0];
  txResults: Parameters<NodeEvents['txResult']>[0];
  events: Parameters<NodeEvents['moduleEvent']>[0];
};

const EVENT_OF: { [T in Topic]: keyof NodeEvents } = {
  newBlocks: 'block',
  txResults: 'txResult',
  events: 'moduleEvent',
};

const RESULT_JSON: { [T in Topic]: (p: Payload[T]) => Json } = {
  newBlocks: newBlockJson,
  txResults: txResultJson,
  events: moduleEventJson,
};

/** One subscription as the hub sees it. */
export type Subscriber = {
  readonly id: string;
  readonly topic: Topic;
  /** Hub sequence number when it subscribed: records queued before are not its to receive. */
  readonly since: number;
  matches(payload: Payload[Topic]): boolean;
  /** Sends the finished notification text (the connection applies its slow-consumer limit). */
  deliver(text: string): void;
};

type Queued = { seq: number; topic: Topic; payload: Payload[Topic]; text?: string };

export type NotificationHubOptions = {
  /** Notifications sent per turn of the event loop before the hub yields; default 512. */
  deliveriesPerTurn?: number;
  /**
   * Records queued and not yet delivered beyond which the hub is overloaded (more subscriptions
   * than this node can serve at this block rate); default 10 000.
   */
  maxBacklog?: number;
  /**
   * Called (at most once a turn) while the backlog is beyond maxBacklog and still growing, or beyond
   * twice that: the server sheds subscriptions, or the queue (and the memory its records hold)
   * would grow without bound. A backlog that shrinks after a shed is left to drain.
   */
  onOverload?: (backlog: number) => void;
  /** A delivery must never throw into the drain; failures are reported here. */
  onError?: (err: unknown) => void;
};

export const DEFAULT_DELIVERIES_PER_TURN = 512;
export const DEFAULT_MAX_BACKLOG = 10_000;

export class NotificationHub {
  readonly #api: NodeApi;
  readonly #perTurn: number;
  readonly #maxBacklog: number;
  readonly #onOverload: (backlog: number) => void;
  readonly #onError: (err: unknown) => void;
  readonly #subscribers: { [T in Topic]: Set<Subscriber> } = {
    newBlocks: new Set(),
    txResults: new Set(),
    events: new Set(),
  };
  readonly #listeners: { [T in Topic]: (payload: Payload[T]) => void } = {
    newBlocks: (p) => this.#enqueue('newBlocks', p),
    txResults: (p) => this.#enqueue('txResults', p),
    events: (p) => this.#enqueue('events', p),
  };
  #queue: Queued[] = [];
  #head = 0;
  /** The record being delivered: its subscribers as they were when delivery started, and the next one. */
  #current: { item: Queued; targets: Subscriber[]; next: number } | undefined;
  #seq = 0;
  /** The backlog when the previous turn started: overload is a backlog that keeps growing. */
  #lastBacklog = 0;
  #scheduled = false;
  #closed = false;

  constructor(api: NodeApi, opts: NotificationHubOptions = {}) {
    this.#api = api;
    this.#perTurn = opts.deliveriesPerTurn ?? DEFAULT_DELIVERIES_PER_TURN;
    if (!Number.isSafeInteger(this.#perTurn) || this.#perTurn < 1)
      throw new RangeError(`deliveriesPerTurn must be a positive integer, got ${this.#perTurn}`);
    this.#maxBacklog = opts.maxBacklog ?? DEFAULT_MAX_BACKLOG;
    if (!Number.isSafeInteger(this.#maxBacklog) || this.#maxBacklog < 1)
      throw new RangeError(`maxBacklog must be a positive integer, got ${this.#maxBacklog}`);
    this.#onOverload = opts.onOverload ?? (() => {});
    this.#onError = opts.onError ?? (() => {});
  }

  /** Subscriptions over every connection. */
  get size(): number {
    return (
      this.#subscribers.newBlocks.size + this.#subscribers.txResults.size + this.#subscribers.events.size
    );
  }

  /** Records queued and not yet delivered to every subscriber. */
  get backlog(): number {
    return this.#queue.length - this.#head + (this.#current ? 1 : 0);
  }

  get seq(): number {
    return this.#seq;
  }

  add(sub: Subscriber): void {
    const set = this.#subscribers[sub.topic];
    if (set.size === 0) this.#listen(sub.topic, true);
    set.add(sub);
  }

  remove(sub: Subscriber): void {
    const set = this.#subscribers[sub.topic];
    if (!set.delete(sub)) return;
    if (set.size === 0) this.#listen(sub.topic, false);
  }

  /** Stops listening and drops what is queued. */
  close(): void {
    this.#closed = true;
    for (const topic of TOPICS) {
      if (this.#subscribers[topic].size > 0) this.#listen(topic, false);
      this.#subscribers[topic].clear();
    }
    this.#queue = [];
    this.#head = 0;
    this.#current = undefined;
  }

  #listen(topic: Topic, on: boolean): void {
    const event = EVENT_OF[topic];
    const listener = this.#listeners[topic] as NodeEvents[typeof event];
    if (on) this.#api.on(event, listener);
    else this.#api.off(event, listener);
  }

  // The node's commit path calls this: it must stay O(1).
  #enqueue(topic: Topic, payload: Payload[Topic]): void {
    if (this.#closed) return;
    this.#queue.push({ seq: ++this.#seq, topic, payload });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#drain());
    }
  }

  #drain(): void {
    this.#scheduled = false;
    const backlog = this.backlog;
    if (backlog > this.#maxBacklog && (backlog > this.#lastBacklog || backlog > 2 * this.#maxBacklog)) {
      try {
        this.#onOverload(backlog);
      } catch (err) {
        this.#onError(err);
      }
    }
    this.#lastBacklog = backlog;
    let budget = this.#perTurn;
    while (budget > 0 && !this.#closed) {
      if (!this.#current) {
        const item = this.#queue[this.#head];
        if (!item) break;
        this.#head++;
        this.#current = { item, targets: [...this.#subscribers[item.topic]], next: 0 };
      }
      const cur = this.#current;
      const { item, targets } = cur;
      // Every subscriber delivered counts against the budget, matching or not, so a turn's work is
      // bounded by deliveriesPerTurn whatever the filters.
      while (cur.next < targets.length && budget > 0) {
        const sub = targets[cur.next++]!;
        budget--;
        if (sub.since >= item.seq || !this.#subscribers[sub.topic].has(sub)) continue;
        try {
          if (!sub.matches(item.payload)) continue;
          // Serialized once per record, then shared by every subscriber of its topic.
          item.text ??= JSON.stringify(RESULT_JSON[item.topic](item.payload as never));
          sub.deliver(
            `{"jsonrpc":"2.0","method":"aivm_subscription","params":{"subscription":"${sub.id}","result":${item.text}}}`,
          );
        } catch (err) {
          this.#onError(err);
        }
      }
      if (cur.next >= targets.length) this.#current = undefined;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (!this.#closed && this.backlog > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#drain());
    }
  }
}

export type ConnectionSubscriptionsOptions = {
  hub: NotificationHub;
  /** The connection's client key and the per-client counters it is charged to. */
  client: string;
  clients: RpcClients;
  maxSubscriptions: number;
  /** Sends one notification text; the connection decides what to do with a slow consumer. */
  send: (text: string) => void;
  /** Called with +1 / -1 as subscriptions come and go (metrics). */
  onCountChange?: (delta: number) => void;
};

/** The subscriptions of one WebSocket connection, charged to its client. */
export class ConnectionSubscriptions implements SubscriptionHost {
  readonly #opts: ConnectionSubscriptionsOptions;
  readonly #subs = new Map<string, Subscriber>();
  #closed = false;

  constructor(opts: ConnectionSubscriptionsOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#subs.size;
  }

  subscribe(topic: Topic, filter: SubscriptionFilter): string {
    const { hub, clients, client } = this.#opts;
    if (this.#closed) throw new RpcFailure(RPC_ERR.LIMIT_EXCEEDED, 'connection is closing');
    if (this.#subs.size >= this.#opts.maxSubscriptions) {
      throw new RpcFailure(
        RPC_ERR.LIMIT_EXCEEDED,
        `subscription limit reached (${this.#opts.maxSubscriptions} per connection)`,
      );
    }
    clients.addSubscription(client); // throws LIMIT_EXCEEDED past the client's share
    const id = `0x${randomBytes(16).toString('hex')}`;
    const sub: Subscriber = {
      id,
      topic,
      since: hub.seq,
      matches: matcher(topic, filter),
      deliver: this.#opts.send,
    };
    hub.add(sub);
    this.#subs.set(id, sub);
    this.#opts.onCountChange?.(1);
    return id;
  }

  unsubscribe(id: string): boolean {
    const sub = this.#subs.get(id);
    if (!sub) return false;
    this.#opts.hub.remove(sub);
    this.#subs.delete(id);
    this.#opts.clients.removeSubscription(this.#opts.client);
    this.#opts.onCountChange?.(-1);
    return true;
  }

  /** Removes every subscription; later subscribe calls fail. */
  closeAll(): void {
    this.#closed = true;
    for (const id of [...this.#subs.keys()]) this.unsubscribe(id);
  }
}

function matcher(topic: Topic, filter: SubscriptionFilter): (payload: Payload[Topic]) => boolean {
  const txHash = filter.txHash?.toLowerCase();
  switch (topic) {
    case 'newBlocks':
      return () => true;
    case 'txResults':
      return (p) => txHash === undefined || (p as Payload['txResults']).tx.hash.toLowerCase() === txHash;
    case 'events':
      return (p) => {
        const ev = p as Payload['events'];
        if (filter.module !== undefined && ev.module !== filter.module) return false;
        if (filter.type !== undefined && ev.type !== filter.type) return false;
        return txHash === undefined || ev.txHash?.toLowerCase() === txHash;
      };
  }
}
