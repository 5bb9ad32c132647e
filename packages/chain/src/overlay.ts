// Write buffer over committed state with a journal, so one transaction's effects can be reverted
// while the block's earlier effects stay. Keys are kept as hex strings only as map keys.

import { bytesToHex, compareBytes, hexToBytes } from '@aivm/crypto';
import type { KVReader, StateChange } from '@aivm/state';

export class StateOverlay implements KVReader {
  readonly #base: KVReader;
  readonly #writes = new Map<string, Uint8Array | null>();
  readonly #journal: { key: string; prev: Uint8Array | null | undefined }[] = [];

  constructor(base: KVReader) {
    this.#base = base;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const hit = this.#writes.get(bytesToHex(key));
    if (hit !== undefined) return hit ?? undefined;
    return this.#base.get(key);
  }

  set(key: Uint8Array, value: Uint8Array | null): void {
    const k = bytesToHex(key);
    this.#journal.push({ key: k, prev: this.#writes.get(k) });
    this.#writes.set(k, value);
  }

  snapshot(): number {
    return this.#journal.length;
  }

  revertTo(snapshot: number): void {
    while (this.#journal.length > snapshot) {
      const { key, prev } = this.#journal.pop()!;
      if (prev === undefined) this.#writes.delete(key);
      else this.#writes.set(key, prev);
    }
  }

  /** Net changes in canonical (byte) key order. */
  changes(): StateChange[] {
    const out: StateChange[] = [];
    for (const [k, value] of this.#writes) out.push({ key: hexToBytes(k), value });
    return out.sort((a, b) => compareBytes(a.key, b.key));
  }
}
