// Node-only entry of @aivm/zk: key setup, worker-thread proving and the Solidity verifier use the
// file system, worker threads and solc. The main entry stays browser-safe.

export * from './prover.ts';
export * from './setup.ts';
export * from './verifier.ts';
export * from './verify.ts';
