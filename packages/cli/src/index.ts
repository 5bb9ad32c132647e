export { DEV_CHAIN_ID, DEV_MNEMONIC, DEV_PASSWORD } from './commands/node.ts';
export { createProgram, main } from './program.ts';
