// Node-only part of @aivm/evm: a model's Groth16 verifier contract compiled with solc-js from the
// verification key the AIVM chain stores for it (the source `aivm zk export-verifier` writes for
// the same key), and the one-call deployment of the oracle, the light client and the verifiers of
// a list of AIVM models.

import type { AivmClient } from '@aivm/sdk';
import { getModel, getModelVerificationKey } from '@aivm/sdk';
import type { Address, Hex, PublicClient, WalletClient } from 'viem';
import { u8ToHex } from './codec.ts';
import {
  type AttestationSet,
  deployAivmContracts,
  deployContract,
  type EvmModelConfig,
  getAttestationSet,
  modelConfigFromAivm,
  type OracleConfig,
  registerModel,
} from './oracle.ts';

/** A compiled verifier contract (snarkjs' Groth16 template for the model's key). */
export type VerifierArtifact = { abi: readonly unknown[]; bytecode: Hex; nPublic: number };

/** Compiles the Groth16 verifier of a verification key (encodeVerificationKey bytes or snarkjs JSON). */
export async function compileModelVerifier(
  vk: Uint8Array | Record<string, unknown>,
): Promise<VerifierArtifact> {
  const zk = await import('@aivm/zk');
  const node = await import('@aivm/zk/node');
  const key = vk instanceof Uint8Array ? zk.decodeVerificationKey(vk) : (vk as never);
  const compiled = node.compileVerifier(await node.exportSolidityVerifier(key));
  return { abi: compiled.abi, bytecode: u8ToHex(compiled.bytecode), nPublic: Number(key.nPublic) };
}

/** The verifier of an AIVM model, from the key stored on the AIVM chain (hash-checked). */
export async function compileAivmModelVerifier(aivm: AivmClient, modelId: string): Promise<VerifierArtifact> {
  const model = await getModel(aivm, modelId);
  if (!(model.tiers & 2) || model.vkSize === 0) throw new Error(`model ${modelId} has no zk tier`);
  return compileModelVerifier(await getModelVerificationKey(aivm, model));
}

export type DeployedModel = { aivmModelId: string; modelId: Hex; verifier: Address; config: EvmModelConfig };

export type AivmDeployment = {
  evmChainId: number;
  aivmChainId: bigint;
  setId: bigint;
  lightClient: Address;
  oracle: Address;
  models: DeployedModel[];
};

/**
 * Deploys the light client on the AIVM chain's current attestation set, the oracle on it (its AIVM
 * pricing: `weiPerCgpt`, ETH wei per 1 CGPT with 18 decimals, default 0 = the AIVM part of every
 * quote is free; `premiumBps`, default 0), and for each model its verifier (zk tier) and its
 * registration with what an AIVM request for it costs (its AIVM price and request gas, read from
 * AIVM: see aivmModelPrice; `estimateFrom` is the AIVM account the gas is estimated from).
 */
export async function deployFromAivm(
  pub: PublicClient,
  w: WalletClient,
  aivm: AivmClient,
  opts: {
    models?: string[];
    weiPerCgpt?: bigint;
    premiumBps?: number;
    estimateFrom?: string;
    oracle?: OracleConfig;
    set?: AttestationSet;
    onStep?: (message: string) => void;
  } = {},
): Promise<AivmDeployment> {
  const step = opts.onStep ?? (() => {});
  const set = opts.set ?? (await getAttestationSet(aivm));
  step(`AIVM chain ${set.aivmChainId}, attestation set ${set.setId} (${set.signers.length} members)`);
  const { lightClient, oracle } = await deployAivmContracts(pub, w, set, {
    ...opts.oracle,
    ...(opts.weiPerCgpt !== undefined ? { weiPerCgpt: opts.weiPerCgpt } : {}),
    ...(opts.premiumBps !== undefined ? { premiumBps: opts.premiumBps } : {}),
  });
  step(`light client ${lightClient}, oracle ${oracle}`);
  const models: DeployedModel[] = [];
  for (const id of opts.models ?? []) {
    const info = await getModel(aivm, id);
    let verifier: Address | undefined;
    if (info.tiers & 2 && info.vkSize > 0) {
      step(`compiling the verifier of ${id}`);
      const v = await compileAivmModelVerifier(aivm, id);
      verifier = await deployContract(pub, w, v);
      step(`verifier of ${id}: ${verifier} (${v.nPublic} public signals)`);
    }
    const { modelId, config } = await modelConfigFromAivm(aivm, id, {
      ...(verifier ? { verifier } : {}),
      ...(opts.estimateFrom ? { estimateFrom: opts.estimateFrom } : {}),
    });
    await registerModel(pub, w, oracle, modelId, config);
    step(
      `registered ${id} as ${modelId} (tiers ${config.tiers}, AIVM price ${config.aivmPriceWei} CGPT wei)`,
    );
    models.push({ aivmModelId: id, modelId, verifier: config.verifier, config });
  }
  return {
    evmChainId: await pub.getChainId(),
    aivmChainId: set.aivmChainId,
    setId: set.setId,
    lightClient,
    oracle,
    models,
  };
}
