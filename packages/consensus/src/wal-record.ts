// One WAL record per machine input, as a JSON object with bigints and bytes as strings. Shared by
// the file WAL (wal.ts) and the simulator's in-memory WAL. Not hashed or signed, so JSON is fine.

import { InvalidInputError } from './errors.ts';
import type { Input, Validator } from './types.ts';

/** Rebuilds the proposer function of a `start` record, which cannot be stored: the engine derives it from chain state. */
export type ProposerResolver = (height: bigint, validators: Validator[]) => (round: number) => string;

type Json = Record<string, unknown>;

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
function unhex(s: unknown): Uint8Array {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) {
    throw new InvalidInputError('wal signature', 'must be lower-case hex');
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
function big(s: unknown, field: string): bigint {
  if (typeof s !== 'string' || !/^-?[0-9]+$/.test(s))
    throw new InvalidInputError(`wal ${field}`, 'must be a decimal string');
  return BigInt(s);
}
function num(n: unknown, field: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n))
    throw new InvalidInputError(`wal ${field}`, 'must be an integer');
  return n;
}
function str(s: unknown, field: string): string {
  if (typeof s !== 'string') throw new InvalidInputError(`wal ${field}`, 'must be a string');
  return s;
}

export function inputToJson(input: Input): Json {
  switch (input.type) {
    case 'start':
      return {
        t: 'start',
        h: input.height.toString(),
        vals: input.validators.map((v) => [v.address, v.power.toString()]),
      };
    case 'proposal': {
      const p = input.proposal;
      const j: Json = {
        t: 'proposal',
        h: p.height.toString(),
        r: p.round,
        v: p.value,
        vr: p.validRound,
        p: p.proposer,
      };
      if (p.signature !== undefined) j.sig = hex(p.signature);
      j.valid = input.valid;
      return j;
    }
    case 'vote': {
      const v = input.vote;
      const j: Json = {
        t: 'vote',
        k: v.kind,
        h: v.height.toString(),
        r: v.round,
        v: v.value,
        val: v.validator,
      };
      if (v.signature !== undefined) j.sig = hex(v.signature);
      return j;
    }
    case 'timeout':
      return { t: 'timeout', k: input.kind, h: input.height.toString(), r: input.round };
    case 'value':
      return { t: 'value', h: input.height.toString(), r: input.round, v: input.value };
  }
}

export function inputFromJson(j: Json, resolveProposer: ProposerResolver): Input {
  const height = big(j.h, 'height');
  switch (j.t) {
    case 'start': {
      if (!Array.isArray(j.vals)) throw new InvalidInputError('wal validators', 'must be an array');
      const validators = j.vals.map((pair: unknown) => {
        if (!Array.isArray(pair) || pair.length !== 2)
          throw new InvalidInputError('wal validator', 'must be a pair');
        return { address: str(pair[0], 'validator'), power: big(pair[1], 'power') };
      });
      return { type: 'start', height, validators, proposer: resolveProposer(height, validators) };
    }
    case 'proposal':
      if (typeof j.valid !== 'boolean') throw new InvalidInputError('wal valid', 'must be a boolean');
      return {
        type: 'proposal',
        proposal: {
          height,
          round: num(j.r, 'round'),
          value: str(j.v, 'value'),
          validRound: num(j.vr, 'validRound'),
          proposer: str(j.p, 'proposer'),
          ...(j.sig !== undefined ? { signature: unhex(j.sig) } : {}),
        },
        valid: j.valid,
      };
    case 'vote': {
      const kind = j.k;
      if (kind !== 'prevote' && kind !== 'precommit')
        throw new InvalidInputError('wal vote kind', String(kind));
      return {
        type: 'vote',
        vote: {
          kind,
          height,
          round: num(j.r, 'round'),
          value: j.v === null ? null : str(j.v, 'value'),
          validator: str(j.val, 'validator'),
          ...(j.sig !== undefined ? { signature: unhex(j.sig) } : {}),
        },
      };
    }
    case 'timeout': {
      const kind = j.k;
      if (kind !== 'propose' && kind !== 'prevote' && kind !== 'precommit') {
        throw new InvalidInputError('wal timeout kind', String(kind));
      }
      return { type: 'timeout', kind, height, round: num(j.r, 'round') };
    }
    case 'value':
      return { type: 'value', height, round: num(j.r, 'round'), value: str(j.v, 'value') };
    default:
      throw new InvalidInputError('wal record type', String(j.t));
  }
}

/** The height an input belongs to (every input carries one). */
export function inputHeight(input: Input): bigint {
  switch (input.type) {
    case 'proposal':
      return input.proposal.height;
    case 'vote':
      return input.vote.height;
    default:
      return input.height;
  }
}
