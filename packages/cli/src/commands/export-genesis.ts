// aivm export-genesis: a stopped node's committed state as a genesis file that starts a new chain
// with the same balances, validators, delegations, models and open requests.

import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultModules, exportGenesis, Registry } from '@aivm/chain';
import { ChainStore } from '@aivm/node';
import type { Command } from 'commander';
import { loadGenesis, UsageError } from '../home.ts';

export function registerExportGenesisCommand(program: Command): void {
  program
    .command('export-genesis')
    .description(
      "write the chain's state at its latest block as a genesis file (stop the node first); heights restart at 1",
    )
    .requiredOption('--home <dir>', 'node home directory')
    .option('--out <file>', 'write the genesis here instead of standard output')
    .option('--chain-id <id>', 'chain id of the new chain (default: the same)')
    .action(async (opts: { home: string; out?: string; chainId?: string }) => {
      const home = resolve(opts.home);
      const genesis = await loadGenesis(home);
      const registry = new Registry(defaultModules());
      let store: ChainStore;
      try {
        store = await ChainStore.open(join(home, 'db'), genesis, registry);
      } catch (err) {
        throw new UsageError(
          `cannot open the chain database of ${home} (is the node still running?): ${(err as Error).message}`,
        );
      }
      try {
        if (opts.chainId !== undefined && !/^[1-9][0-9]{0,19}$/.test(opts.chainId))
          throw new UsageError('--chain-id must be a positive integer');
        const doc = await exportGenesis(store.state, registry, {
          chainId: opts.chainId ?? store.chain.chainId,
          // The new chain starts at the exported block's time, so time-based dates keep their meaning.
          genesisTimeMs: store.head.timeMs,
        });
        const json = `${JSON.stringify(doc, null, 2)}\n`;
        if (opts.out) {
          await writeFile(resolve(opts.out), json);
          process.stderr.write(`genesis of height ${store.head.height} written to ${resolve(opts.out)}\n`);
        } else process.stdout.write(json);
      } finally {
        await store.close();
      }
    });
}
