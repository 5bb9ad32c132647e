// Small builders for consensus tests: a four-validator set and shorthand inputs.

import { Consensus } from '../src/machine.ts';
import type { ConsensusConfig, Input, Output, TimeoutConfig, ValueId, Vote, VoteKind } from '../src/types.ts';

export const TIMEOUTS: TimeoutConfig = {
  propose: { baseMs: 1000, deltaMs: 100 },
  prevote: { baseMs: 500, deltaMs: 50 },
  precommit: { baseMs: 700, deltaMs: 70 },
};

export const NAMES = ['A', 'B', 'C', 'D'];
/** Round r's proposer is NAMES[r % 4]. */
export const rotation = (round: number): string => NAMES[round % NAMES.length]!;

export function start(height = 1n, powers: bigint[] = [1n, 1n, 1n, 1n]): Extract<Input, { type: 'start' }> {
  return {
    type: 'start',
    height,
    validators: NAMES.map((address, i) => ({ address, power: powers[i]! })),
    proposer: rotation,
  };
}

export function machine(self: string | null, unsafe?: ConsensusConfig['unsafe']): Consensus {
  return new Consensus({ self, timeouts: TIMEOUTS, ...(unsafe !== undefined ? { unsafe } : {}) });
}

export const vote = (
  kind: VoteKind,
  validator: string,
  round: number,
  value: ValueId | null,
  height = 1n,
): Input => ({ type: 'vote', vote: { kind, height, round, value, validator } });

export const proposal = (
  round: number,
  value: ValueId,
  validRound = -1,
  valid = true,
  height = 1n,
): Input => ({
  type: 'proposal',
  proposal: { height, round, value, validRound, proposer: rotation(round) },
  valid,
});

export const timeout = (kind: 'propose' | 'prevote' | 'precommit', round: number, height = 1n): Input => ({
  type: 'timeout',
  kind,
  height,
  round,
});

/** Own votes among outputs, as `kind:round:value` strings. */
export const votesOf = (outs: Output[]): string[] =>
  outs.flatMap((o) => (o.type === 'vote' ? [`${o.vote.kind}:${o.vote.round}:${o.vote.value ?? 'nil'}`] : []));

export const ofType = <T extends Output['type']>(outs: Output[], type: T): Extract<Output, { type: T }>[] =>
  outs.filter((o): o is Extract<Output, { type: T }> => o.type === type);

/** Steps every input and returns all outputs. */
export function feed(m: Consensus, inputs: Input[]): Output[] {
  return inputs.flatMap((i) => m.step(i));
}

/** Feeds the machine's own votes back to it (as the engine does after signing), recursively. */
export function stepWithEcho(m: Consensus, input: Input): Output[] {
  const all: Output[] = [];
  const queue: Input[] = [input];
  while (queue.length > 0) {
    const outs = m.step(queue.shift()!);
    all.push(...outs);
    for (const o of outs) {
      if (o.type === 'vote') queue.push({ type: 'vote', vote: o.vote });
      if (o.type === 'propose') queue.push({ type: 'proposal', proposal: o.proposal, valid: true });
    }
  }
  return all;
}

export type { Vote };
