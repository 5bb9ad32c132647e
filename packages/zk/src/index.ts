// @aivm/zk: zero-knowledge proofs of inference over the runtime's integer semantics.
export * from './compile.ts';
export * from './onchain.ts';
export * from './poseidon.ts';
export * from './proof.ts';
export * from './r1cs.ts';
export * from './weights.ts';
