// Compiles every Solidity source under packages/contracts/contracts with solc-js (standard JSON,
// optimizer on, 200 runs, evmVersion cancun: anvil 1.7's default hardfork is newer and runs it,
// and cancun is what most EVM chains support today). Offline: solc-js ships its compiler.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

export const CONTRACTS_DIR = fileURLToPath(new URL('../contracts/', import.meta.url));
export const EVM_VERSION = 'cancun';
export const OPTIMIZER_RUNS = 200;

export type CompiledContract = {
  /** Source path relative to the contracts folder, with forward slashes. */
  source: string;
  name: string;
  abi: unknown[];
  /** Creation bytecode, 0x-hex. */
  bytecode: `0x${string}`;
  /** Runtime bytecode, 0x-hex. */
  deployedBytecode: `0x${string}`;
};

export class SolidityCompileError extends Error {
  override name = 'SolidityCompileError';
}

/** Every .sol file under dir, as { 'relative/path.sol': { content } }, in sorted order. */
export function readSources(dir: string = CONTRACTS_DIR): Record<string, { content: string }> {
  const out: Record<string, { content: string }> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.sol'))
        out[relative(dir, p).split(sep).join('/')] = { content: readFileSync(p, 'utf8') };
    }
  };
  walk(dir);
  return out;
}

export function solcVersion(): string {
  return solc.version() as string;
}

/**
 * Compiles the sources (default: the package's contracts folder) and returns every contract that
 * has bytecode (libraries used only internally and interfaces have none and are left out).
 * Throws SolidityCompileError on any error; warnings are returned.
 */
export function compileContracts(sources = readSources()): {
  contracts: CompiledContract[];
  warnings: string[];
} {
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      evmVersion: EVM_VERSION,
      viaIR: true,
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const findImports = (path: string) => ({ error: `import ${path} is outside the contracts folder` });
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<
      string,
      Record<
        string,
        { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }
      >
    >;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new SolidityCompileError(errors.map((e) => e.formattedMessage).join('\n'));
  const warnings = (out.errors ?? []).filter((e) => e.severity !== 'error').map((e) => e.formattedMessage);
  const contracts: CompiledContract[] = [];
  for (const source of Object.keys(out.contracts ?? {}).sort())
    for (const [name, c] of Object.entries(out.contracts?.[source] ?? {}).sort(([a], [b]) =>
      a < b ? -1 : 1,
    )) {
      // Interfaces, abstract contracts and internal-only libraries: nothing to deploy or call.
      if (
        c.evm.bytecode.object.length === 0 ||
        !c.abi.some((e) => (e as { type?: string }).type === 'function')
      )
        continue;
      contracts.push({
        source,
        name,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
      });
    }
  return { contracts, warnings };
}
