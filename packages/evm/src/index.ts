// @aivm/evm: AIVM for EVM chains, with viem (see docs/evm.md).
export {};
