export { DEV_CHAIN_ID, DEV_PASSWORD } from './commands/node.ts';
export { DEV_MNEMONIC } from './home.ts';
export { createProgram, main } from './program.ts';
