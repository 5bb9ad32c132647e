// @aivm/state: the chain's authenticated key-value state (sparse Merkle tree in LevelDB) and its proofs.

export {
  type BatchOp,
  type Bytes,
  Database,
  type IterateOptions,
  type KVReader,
  type KVScanner,
} from './db.ts';
export {
  CorruptStateError,
  EmptyKeyError,
  KeyTooLargeError,
  MissingNodeError,
  StaleStagedStateError,
  StateError,
  StateVersionError,
  UnknownRootError,
  ValueTooLargeError,
} from './errors.ts';
export {
  EMPTY_ROOT,
  type Hex,
  hashInternal,
  hashLeaf,
  INTERNAL_DOMAIN,
  LEAF_DOMAIN,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  type StateProof,
  verifyStateProof,
} from './proof.ts';
export {
  STATE_KEY_PREFIXES,
  type StagedState,
  type StateChange,
  StateTree,
  type StateTreeOptions,
} from './tree.ts';
