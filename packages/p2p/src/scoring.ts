// Peer scoring: gossipsub's router score (P1-P7) plus our application score (P5), and the ban list.

import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score';
import { createPeerScoreParams, createTopicScoreParams } from '@libp2p/gossipsub/score';
import { TOPICS, type Topic, topicId } from './options.ts';

/**
 * Topic weights: consensus traffic counts more than txs. Mesh-delivery penalties (P3/P3b) are off
 * because a quiet chain legitimately sends few messages; invalid deliveries (P4) carry the weight.
 */
const TOPIC_WEIGHT: Record<Topic, number> = {
  txs: 0.5,
  proposals: 1,
  votes: 1,
  blocks: 0.5,
  attestations: 0.5,
};

export function gossipScoreParams(
  network: string,
  appScore: (peer: string) => number,
): Partial<PeerScoreParams> {
  const topics: Record<string, TopicScoreParams> = {};
  for (const t of TOPICS) {
    topics[topicId(network, t)] = createTopicScoreParams({
      topicWeight: TOPIC_WEIGHT[t],
      timeInMeshWeight: 0.01,
      timeInMeshQuantum: 1000,
      timeInMeshCap: 300,
      firstMessageDeliveriesWeight: 1,
      firstMessageDeliveriesDecay: 0.9,
      firstMessageDeliveriesCap: 10,
      meshMessageDeliveriesWeight: 0,
      meshFailurePenaltyWeight: 0,
      // squared counter: 1 invalid message costs 10*w, 3 cost 90*w; decays ~10 %/s
      invalidMessageDeliveriesWeight: -10,
      invalidMessageDeliveriesDecay: 0.9,
    });
  }
  return createPeerScoreParams({
    topics,
    topicScoreCap: 20,
    appSpecificScore: appScore,
    appSpecificWeight: 1,
    // devnets run many nodes on one host; only past 16 peers per IP does colocation cost anything
    IPColocationFactorThreshold: 16,
    IPColocationFactorWeight: -5,
    behaviourPenaltyWeight: -10,
    behaviourPenaltyDecay: 0.9,
    decayInterval: 1000,
    retainScore: 10 * 60 * 1000,
  });
}

/** Gossip is suppressed, then publishing, then the peer is graylisted, all before it is disconnected. */
export function gossipScoreThresholds(disconnectThreshold: number): Partial<PeerScoreThresholds> {
  return {
    gossipThreshold: disconnectThreshold * 0.1,
    publishThreshold: disconnectThreshold * 0.5,
    graylistThreshold: disconnectThreshold * 0.8,
    acceptPXThreshold: 100,
    opportunisticGraftThreshold: 5,
  };
}

/** Application scores: only ever negative, decaying towards 0 each tick. */
export class AppScores {
  private readonly scores = new Map<string, number>();
  private readonly decay: number;
  constructor(decay: number) {
    this.decay = decay;
  }

  get(peer: string): number {
    return this.scores.get(peer) ?? 0;
  }

  penalize(peer: string, amount: number): number {
    const s = this.get(peer) - amount;
    this.scores.set(peer, s);
    return s;
  }

  tick(): void {
    for (const [p, s] of this.scores) {
      const next = s * this.decay;
      if (next > -0.1) this.scores.delete(p);
      else this.scores.set(p, next);
    }
  }
}

/** Peers refused until an expiry time (monotonic ms). */
export class BanList {
  private readonly until = new Map<string, number>();
  private readonly now: () => number;
  constructor(now: () => number) {
    this.now = now;
  }

  ban(peer: string, ms: number): void {
    this.until.set(peer, this.now() + ms);
  }

  isBanned(peer: string): boolean {
    const u = this.until.get(peer);
    if (u === undefined) return false;
    if (u > this.now()) return true;
    this.until.delete(peer);
    return false;
  }
}
