// Subscriptions of one WebSocket connection: each one is a listener on the node's events, removed
// when the client unsubscribes or the connection closes.

import { randomBytes } from 'node:crypto';
import type { Hex } from '@aivm/crypto';
import type { NodeApi, NodeEvents } from '../api.ts';
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

type Registered = { [E in keyof NodeEvents]: { event: E; listener: NodeEvents[E] } }[keyof NodeEvents];

export type ConnectionSubscriptionsOptions = {
  maxSubscriptions: number;
  /** Sends one notification; the connection decides what to do with a slow consumer. */
  notify: (subscription: string, result: Json) => void;
  /** Called with +1 / -1 as subscriptions come and go (metrics). */
  onCountChange?: (delta: number) => void;
  /** A listener must never throw into the node's event emitter; failures are reported here. */
  onError?: (err: unknown) => void;
};

export class ConnectionSubscriptions implements SubscriptionHost {
  readonly #api: NodeApi;
  readonly #opts: ConnectionSubscriptionsOptions;
  readonly #subs = new Map<string, Registered>();
  #closed = false;

  constructor(api: NodeApi, opts: ConnectionSubscriptionsOptions) {
    this.#api = api;
    this.#opts = opts;
  }

  get size(): number {
    return this.#subs.size;
  }

  subscribe(topic: Topic, filter: SubscriptionFilter): string {
    if (this.#closed) throw new RpcFailure(RPC_ERR.LIMIT_EXCEEDED, 'connection is closing');
    if (this.#subs.size >= this.#opts.maxSubscriptions) {
      throw new RpcFailure(
        RPC_ERR.LIMIT_EXCEEDED,
        `subscription limit reached (${this.#opts.maxSubscriptions} per connection)`,
      );
    }
    const id = `0x${randomBytes(16).toString('hex')}`;
    const txHash = filter.txHash?.toLowerCase();
    const send = (result: () => Json): void => {
      try {
        this.#opts.notify(id, result());
      } catch (err) {
        this.#opts.onError?.(err);
      }
    };
    let reg: Registered;
    switch (topic) {
      case 'newBlocks':
        reg = { event: 'block', listener: (rec) => send(() => newBlockJson(rec)) };
        break;
      case 'txResults':
        reg = {
          event: 'txResult',
          listener: (rec) => {
            if (txHash !== undefined && rec.tx.hash.toLowerCase() !== txHash) return;
            send(() => txResultJson(rec));
          },
        };
        break;
      case 'events':
        reg = {
          event: 'moduleEvent',
          listener: (ev) => {
            if (filter.module !== undefined && ev.module !== filter.module) return;
            if (filter.type !== undefined && ev.type !== filter.type) return;
            if (txHash !== undefined && ev.txHash?.toLowerCase() !== txHash) return;
            send(() => moduleEventJson(ev));
          },
        };
        break;
    }
    this.#register(reg);
    this.#subs.set(id, reg);
    this.#opts.onCountChange?.(1);
    return id;
  }

  unsubscribe(id: string): boolean {
    const reg = this.#subs.get(id);
    if (!reg) return false;
    this.#unregister(reg);
    this.#subs.delete(id);
    this.#opts.onCountChange?.(-1);
    return true;
  }

  /** Removes every listener; later subscribe calls fail. */
  closeAll(): void {
    this.#closed = true;
    for (const id of [...this.#subs.keys()]) this.unsubscribe(id);
  }

  #register(reg: Registered): void {
    // The switch narrows the pair so each call is typed against its own event.
    switch (reg.event) {
      case 'block':
        this.#api.on('block', reg.listener);
        return;
      case 'txResult':
        this.#api.on('txResult', reg.listener);
        return;
      case 'moduleEvent':
        this.#api.on('moduleEvent', reg.listener);
        return;
    }
  }

  #unregister(reg: Registered): void {
    switch (reg.event) {
      case 'block':
        this.#api.off('block', reg.listener);
        return;
      case 'txResult':
        this.#api.off('txResult', reg.listener);
        return;
      case 'moduleEvent':
        this.#api.off('moduleEvent', reg.listener);
        return;
    }
  }
}
