// Solidity verifier for a Groth16 key: snarkjs' own template (templates/verifier_groth16.sol.ejs),
// rendered from a .zkey by snarkjs or from a verification key JSON by a small EJS-subset renderer
// (the two give byte-identical source), and compiled with solc-js (standard JSON, optimizer on).
// Node only (reads the template from the installed snarkjs package).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as snarkjs from 'snarkjs';
import solc from 'solc';
import type { VerificationKey } from './proof.ts';

export type CompiledVerifier = {
  contractName: string;
  /** Creation bytecode (deploy this). */
  bytecode: Uint8Array;
  /** Runtime bytecode. */
  deployedBytecode: Uint8Array;
  abi: unknown[];
  /** Function signature → 4-byte selector in hex (solc's methodIdentifiers). */
  methodIdentifiers: Record<string, string>;
  solcVersion: string;
};

export class VerifierError extends Error {
  override name = 'VerifierError';
}

let templateCache: string | undefined;
/** The Groth16 Solidity template shipped with the installed snarkjs. */
export function groth16Template(): string {
  if (templateCache === undefined) {
    const main = fileURLToPath(import.meta.resolve('snarkjs'));
    templateCache = readFileSync(join(main, '..', 'templates', 'verifier_groth16.sol.ejs'), 'utf8');
  }
  return templateCache;
}

/**
 * Renders the EJS subset snarkjs' templates use (`<% code %>`, `<%= expr %>`, no escaping, no
 * includes) with the fields of data in scope.
 */
function renderEjs(template: string, data: Record<string, unknown>): string {
  let body = 'let __o = "";\n';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('<%', i);
    if (open < 0) {
      body += `__o += ${JSON.stringify(template.slice(i))};\n`;
      break;
    }
    body += `__o += ${JSON.stringify(template.slice(i, open))};\n`;
    const close = template.indexOf('%>', open);
    if (close < 0) throw new VerifierError('unterminated <% in template');
    const tag = template.slice(open + 2, close);
    if (tag.startsWith('=')) body += `__o += String(${tag.slice(1)});\n`;
    else body += `${tag}\n`;
    i = close + 2;
  }
  body += 'return __o;';
  const names = Object.keys(data);
  return new Function(...names, body)(...names.map((n) => data[n])) as string;
}

function isVk(v: unknown): v is VerificationKey {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && 'IC' in v;
}

/**
 * Solidity source of a Groth16 verifier (contract Groth16Verifier, function
 * verifyProof(uint[2] a, uint[2][2] b, uint[2] c, uint[nPublic] input) view returns (bool)).
 * From a verification key JSON, or a .zkey (bytes or path) through snarkjs zKey.exportSolidityVerifier.
 */
export async function exportSolidityVerifier(key: VerificationKey | Uint8Array | string): Promise<string> {
  const template = groth16Template();
  if (isVk(key)) {
    if (key.protocol !== 'groth16') throw new VerifierError(`protocol ${key.protocol} is not groth16`);
    if (!Array.isArray(key.IC) || key.IC.length !== key.nPublic + 1)
      throw new VerifierError(`IC has ${key.IC?.length} points, expected nPublic + 1 = ${key.nPublic + 1}`);
    return renderEjs(template, key as unknown as Record<string, unknown>);
  }
  const zk = snarkjs.zKey as unknown as {
    exportSolidityVerifier(zkey: unknown, templates: Record<string, string>): Promise<string>;
  };
  if (typeof key === 'string') return zk.exportSolidityVerifier(key, { groth16: template });
  // snarkjs reads a zkey from a path or a { type: 'mem' } file.
  const dir = mkdtempSync(join(tmpdir(), 'aivm-zk-vfy-'));
  try {
    const path = join(dir, 'k.zkey');
    writeFileSync(path, key);
    return await zk.exportSolidityVerifier(path, { groth16: template });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const hexBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** Compiles Solidity source with solc-js (standard JSON, optimizer on, 200 runs). */
export function compileVerifier(
  source: string,
  opts: { contractName?: string; runs?: number } = {},
): CompiledVerifier {
  const contractName = opts.contractName ?? 'Groth16Verifier';
  const input = {
    language: 'Solidity',
    sources: { 'Verifier.sol': { content: source } },
    settings: {
      optimizer: { enabled: true, runs: opts.runs ?? 200 },
      outputSelection: {
        '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.methodIdentifiers'] },
      },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { abi: unknown[]; evm: Record<string, never> }>>;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new VerifierError(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const c = out.contracts?.['Verifier.sol']?.[contractName];
  if (!c) throw new VerifierError(`contract ${contractName} not found in the compiled output`);
  const evm = c.evm as unknown as {
    bytecode: { object: string };
    deployedBytecode: { object: string };
    methodIdentifiers: Record<string, string>;
  };
  return {
    contractName,
    bytecode: hexBytes(evm.bytecode.object),
    deployedBytecode: hexBytes(evm.deployedBytecode.object),
    abi: c.abi,
    methodIdentifiers: evm.methodIdentifiers,
    solcVersion: solc.version() as string,
  };
}
