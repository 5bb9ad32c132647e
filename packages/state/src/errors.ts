// Typed errors of the state package; each carries the numbers a caller needs to fix the request.

import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from './proof.ts';

export class StateError extends Error {
  override name = 'StateError';
}

export class EmptyKeyError extends StateError {
  override name = 'EmptyKeyError';
  constructor() {
    super('state keys must not be empty');
  }
}

export class KeyTooLargeError extends StateError {
  override name = 'KeyTooLargeError';
  readonly sizeBytes: number;
  readonly limitBytes = MAX_KEY_BYTES;
  constructor(sizeBytes: number) {
    super(`state key is ${sizeBytes} bytes, the limit is ${MAX_KEY_BYTES}`);
    this.sizeBytes = sizeBytes;
  }
}

export class ValueTooLargeError extends StateError {
  override name = 'ValueTooLargeError';
  readonly sizeBytes: number;
  readonly limitBytes = MAX_VALUE_BYTES;
  constructor(sizeBytes: number) {
    super(`state value is ${sizeBytes} bytes, the limit is ${MAX_VALUE_BYTES}`);
    this.sizeBytes = sizeBytes;
  }
}

/** stage() was asked for a version that does not come after the last committed one. */
export class StateVersionError extends StateError {
  override name = 'StateVersionError';
  readonly version: bigint;
  readonly committedVersion: bigint;
  constructor(version: bigint, committedVersion: bigint) {
    super(`cannot stage version ${version}: version ${committedVersion} is already committed`);
    this.version = version;
    this.committedVersion = committedVersion;
  }
}

/** applyStaged() got a StagedState that was not staged on top of the current committed root (or not by this tree). */
export class StaleStagedStateError extends StateError {
  override name = 'StaleStagedStateError';
}

/** prove() was asked about a root whose node this database does not hold. */
export class UnknownRootError extends StateError {
  override name = 'UnknownRootError';
  readonly root: string;
  constructor(root: string) {
    super(`unknown state root ${root}`);
    this.root = root;
  }
}

/** A node or value referenced by a committed root is missing: the database is damaged or from another chain. */
export class MissingNodeError extends StateError {
  override name = 'MissingNodeError';
  readonly hash: string;
  constructor(what: string, hash: string) {
    super(`state ${what} ${hash} is missing from the database`);
    this.hash = hash;
  }
}

/** A record of the state in LevelDB does not parse: the database is damaged or was written by something else. */
export class CorruptStateError extends StateError {
  override name = 'CorruptStateError';
}
