// The aivm command line.

import { Command, CommanderError } from 'commander';
import { globals } from './args.ts';
import { registerClientCommands } from './commands/client.ts';
import { registerEvmCommands } from './commands/evm.ts';
import { registerInferCommand } from './commands/infer.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerModelCommands } from './commands/model.ts';
import { registerNodeCommands } from './commands/node.ts';
import { registerRelayerCommand } from './commands/relayer.ts';
import { registerTestnetCommand } from './commands/testnet.ts';
import { registerZkCommands } from './commands/zk.ts';

export function createProgram(): Command {
  const program = new Command('aivm')
    .description('AIVM: a proof-of-stake chain for verifiable AI')
    .version('0.1.0')
    .option('--json', 'machine-readable JSON output')
    .option('--rpc <url>', 'JSON-RPC endpoint of a node (or AIVM_RPC)', undefined)
    .option('--keystore <dir>', 'directory of account keys (or AIVM_KEYSTORE; default ~/.aivm/keystore)')
    .showHelpAfterError()
    .exitOverride();
  registerNodeCommands(program);
  registerTestnetCommand(program);
  registerKeyCommands(program);
  registerClientCommands(program);
  registerModelCommands(program);
  registerZkCommands(program);
  registerInferCommand(program);
  registerEvmCommands(program);
  registerRelayerCommand(program);
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting so tests can call it. */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command may set a non-zero code without failing (zk verify on an invalid proof: 2).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const e = err as Error & { code?: number };
    const json = argv.includes('--json');
    const message = unreachableNode(err, globals(program).rpc) ?? e.message ?? String(err);
    if (json) process.stderr.write(`${JSON.stringify({ error: message, code: e.code ?? null })}\n`);
    else process.stderr.write(`error: ${message}\n`);
    return 1;
  }
}

/** Socket errors of fetch that mean no node answers at that URL (Node's fetch: TypeError with a cause). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ECONNRESET']);

/** The message for a client command that found no node, naming the fix; undefined for other errors. */
function unreachableNode(err: unknown, rpc: string): string | undefined {
  if (!(err instanceof TypeError)) return undefined;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !UNREACHABLE.has(code)) return undefined;
  return `no node answers at ${rpc} (${code}): start one with "npm start" (aivm devnet), or point --rpc or AIVM_RPC at a running node`;
}
