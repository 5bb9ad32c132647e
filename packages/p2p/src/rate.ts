// Per-peer token buckets. Time comes from a monotonic clock: this is node-local policy, never consensus.

export type Clock = () => number;

export const monotonicMs: Clock = () => performance.now();

export class TokenBucket {
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly now: Clock;
  private tokens: number;
  private last: number;
  constructor(ratePerSecond: number, burst: number, now: Clock) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty (the caller drops the message). */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSecond) / 1000);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One bucket per peer, created on first use and forgotten when the peer disconnects. */
export class PeerRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly now: Clock;
  constructor(ratePerSecond: number, burst: number, now: Clock = monotonicMs) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.now = now;
  }

  allow(peer: string): boolean {
    let b = this.buckets.get(peer);
    if (b === undefined) {
      b = new TokenBucket(this.ratePerSecond, this.burst, this.now);
      this.buckets.set(peer, b);
    }
    return b.take();
  }

  forget(peer: string): void {
    this.buckets.delete(peer);
  }
}
