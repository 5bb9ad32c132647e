// The proving material (compiled circuit and proving key) of the zk models a provider serves, kept
// in memory for at most `max` models at once: the least recently used is evicted and its memory
// freed once no job in flight still holds it. The keys themselves stay on disk (the key cache), so
// an evicted model is loaded again for its next job, without a new setup.

export class KeyLru<T> {
  readonly #max: number;
  /** Insertion order is use order: the first entry is the least recently used. */
  readonly #entries = new Map<string, Promise<T>>();
  #peak = 0;
  /** Loads done (misses), for tests and metrics. */
  loads = 0;

  /** `max` 0: nothing is kept, every use loads (and frees after its job). */
  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 0)
      throw new RangeError(`maxLoadedKeys must be an integer >= 0, got ${max}`);
    this.#max = max;
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Most entries held at once so far. */
  get peak(): number {
    return this.#peak;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** The entry for `id`, loaded with `load` when absent (one load at a time per id). */
  get(id: string, load: () => Promise<T>): Promise<T> {
    const hit = this.#entries.get(id);
    if (hit) {
      this.#entries.delete(id);
      this.#entries.set(id, hit);
      return hit;
    }
    this.loads++;
    const p = load();
    this.#keep(id, p);
    return p;
  }

  /** Puts a value just made (a fresh setup) as the most recently used. */
  put(id: string, value: T): void {
    this.#entries.delete(id);
    this.#keep(id, Promise.resolve(value));
  }

  delete(id: string): void {
    this.#entries.delete(id);
  }

  clear(): void {
    this.#entries.clear();
  }

  #keep(id: string, p: Promise<T>): void {
    if (this.#max === 0) return;
    this.#entries.set(id, p);
    // A failed load is not kept: the next use tries again.
    p.catch(() => {
      if (this.#entries.get(id) === p) this.#entries.delete(id);
    });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#max) break;
      this.#entries.delete(oldest);
    }
    this.#peak = Math.max(this.#peak, this.#entries.size);
  }
}
