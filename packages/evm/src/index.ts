// @aivm/evm: AIVM for EVM chains, with viem (see docs/evm.md). Browser-safe; the relayer is
// @aivm/evm/relayer and the verifier compiler (solc) @aivm/evm/node.
export * from './codec.ts';
export * from './oracle.ts';
