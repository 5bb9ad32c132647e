// @aivm/consensus: the Tendermint BFT core (pure state machine), the write-ahead log and the
// proposer-priority rotation. The simulator is at '@aivm/consensus/sim'.

export {
  ConsensusError,
  InvalidInputError,
  NotStartedError,
  StartHeightError,
  WalCorruptError,
} from './errors.ts';
export {
  Consensus,
  MAX_BUFFERED,
  MAX_BUFFERED_PER_SENDER,
  MAX_FUTURE_ROUNDS_PER_VALIDATOR,
  MAX_PROPOSALS_PER_ROUND,
  PROPOSAL_LOOKAHEAD_ROUNDS,
} from './machine.ts';
export {
  advancePriorities,
  carryPriorities,
  joiningPriority,
  type PrioritizedValidator,
  proposerFor,
} from './proposer.ts';
export type {
  ConsensusConfig,
  ConsensusState,
  Input,
  Output,
  Proposal,
  Step,
  TimeoutConfig,
  TimeoutKind,
  TimeoutSchedule,
  UnsafeRules,
  Validator,
  ValueId,
  Vote,
  VoteKind,
} from './types.ts';
export { DEFAULT_TIMEOUTS } from './types.ts';
export { MAX_VALUES_PER_VOTER, VoteSet } from './vote-set.ts';
export { FileWal } from './wal.ts';
export { inputFromJson, inputHeight, inputToJson, type ProposerResolver } from './wal-record.ts';
