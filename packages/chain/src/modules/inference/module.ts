// inference: providers stake and serve requests for models of the models module in three tiers:
// on-chain (executed in the request transaction), zk (Groth16 proofs verified on chain) and
// optimistic (results with layer commitments, challengeable by bisection and one-step
// re-execution). Stake-weighted assignment from the parent block hash, deadlines with
// reassignment, slashing, fee split among owner, provider, reviewers and validators, escrow refund.

import { exportStateSection, importModuleState } from '../../genesis.ts';
import { defineMsg, type Module, paramsFromJson, writeParams } from '../../module.ts';
import { handleChallenge, handleOneStep, handleReveal } from './dispute.ts';
import { inferenceEndBlock } from './endblock.ts';
import { inferenceInvariants } from './invariants.ts';
import {
  InferenceAddStake,
  InferenceChallenge,
  InferenceDecline,
  InferenceOneStep,
  InferenceRegisterProvider,
  InferenceRequest,
  InferenceReveal,
  InferenceSubmitProof,
  InferenceSubmitResult,
  InferenceUnbond,
  InferenceUpdateProvider,
} from './messages.ts';
import { inferenceParams } from './params.ts';
import { handleAddStake, handleRegisterProvider, handleUnbond, handleUpdateProvider } from './providers.ts';
import { inferenceQueries } from './queries.ts';
import { handleDecline, handleRequest, handleSubmitProof, handleSubmitResult } from './requests.ts';
import { M } from './store.ts';

export function createInferenceModule(): Module {
  return {
    name: M,
    messages: {
      'inference/registerProvider': defineMsg({
        schema: InferenceRegisterProvider,
        description: 'Register as an inference provider with a stake, capacity, tiers and models served',
        handler: handleRegisterProvider,
      }),
      'inference/updateProvider': defineMsg({
        schema: InferenceUpdateProvider,
        description: "Change a provider's capacity, tiers, models and endpoint",
        handler: handleUpdateProvider,
      }),
      'inference/addStake': defineMsg({
        schema: InferenceAddStake,
        description: "Add to a provider's stake",
        handler: handleAddStake,
      }),
      'inference/unbond': defineMsg({
        schema: InferenceUnbond,
        description: 'Withdraw provider stake; released after providerUnbondingBlocks',
        handler: handleUnbond,
      }),
      'inference/request': defineMsg({
        schema: InferenceRequest,
        description:
          'Request an inference of a model in one tier (1 on-chain, 2 zk, 4 optimistic), fee escrowed',
        handler: handleRequest,
      }),
      'inference/submitProof': defineMsg({
        schema: InferenceSubmitProof,
        description: 'zk tier: the assigned provider submits the output and its Groth16 proof',
        handler: handleSubmitProof,
      }),
      'inference/submitResult': defineMsg({
        schema: InferenceSubmitResult,
        description: 'Optimistic tier: the assigned provider submits the output and its layer root',
        handler: handleSubmitResult,
      }),
      'inference/decline': defineMsg({
        schema: InferenceDecline,
        description:
          'The assigned provider gives its slot back before the deadline (no slash); the slot is reassigned',
        handler: handleDecline,
      }),
      'inference/challenge': defineMsg({
        schema: InferenceChallenge,
        description: 'Challenge an optimistic result within its window, with a bond and a different output',
        handler: handleChallenge,
      }),
      'inference/reveal': defineMsg({
        schema: InferenceReveal,
        description: 'Dispute: reveal the layer leaf at the current midpoint with its Merkle proof',
        handler: handleReveal,
      }),
      'inference/oneStep': defineMsg({
        schema: InferenceOneStep,
        description: 'Dispute: send the agreed tensor; the chain re-runs the disputed node',
        handler: handleOneStep,
      }),
    },
    queries: inferenceQueries,
    params: inferenceParams,
    async initGenesis(ctx, json) {
      const section = (json ?? {}) as { params?: unknown; state?: unknown };
      writeParams(ctx, 'inference', inferenceParams, paramsFromJson(inferenceParams, section.params));
      // Providers, requests (open ones with their escrow), disputes and the due and pending queues.
      importModuleState(ctx, 'inference', section.state);
    },
    exportGenesis: (state) => exportStateSection(state, { name: M, params: inferenceParams }),
    invariants: inferenceInvariants,
    endBlock: inferenceEndBlock,
  };
}

export const inferenceModule: Module = createInferenceModule();
