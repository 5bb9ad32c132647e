// models: the model marketplace. Owners publish versioned models (metadata, price, tiers) and
// upload the artifact and verification key on chain in chunks; reviewers stake on models with a
// rating and share a part of inference fees; governance can mark a model faulty, which slashes
// its reviewers. A publish locks a storage deposit (and a zk publish pays the circuit setup fee);
// a model not active by the end of its activation window expires and forfeits the deposit.

import { fromJson, t } from '@aivm/codec';
import { bytesToHex, hexToBytes, isHex, keccak256 } from '@aivm/crypto';
import { modelId } from '@aivm/runtime/core';
import { ModuleError } from '../../errors.ts';
import { exportStateSection, importModuleState } from '../../genesis.ts';
import { defineMsg, type Module, paramsFromJson, readParams, writeParams } from '../../module.ts';
import {
  expireUnactivated,
  handleClaimRewards,
  handleDeprecate,
  handlePublish,
  handleReview,
  handleSetPrice,
  handleTransfer,
  handleUnreview,
  handleUpload,
  publishModel,
  releaseUnbonded,
  uploadPart,
} from './handlers.ts';
import { modelsInvariants } from './invariants.ts';
import { type ModelsKeeper, modelsKeeper } from './keeper.ts';
import {
  ModelsClaimRewards,
  ModelsDeprecate,
  ModelsPublish,
  ModelsReview,
  ModelsSetPrice,
  ModelsTransfer,
  ModelsUnreview,
  ModelsUpload,
} from './messages.ts';
import { modelsParams } from './params.ts';
import { modelsQueries } from './queries.ts';
import { M, PART_ARTIFACT, PART_VK } from './store.ts';

export type ModelsModule = Module & { keeper: ModelsKeeper };

const GenesisModelSchema = t.struct('ModelsGenesisModel', { ...ModelsPublish.fields, owner: t.address });

/** Upload a genesis part in upload-sized pieces, so it lands exactly as uploads would store it. */
const GENESIS_PIECE = 48 * 1024;

function hexField(raw: Record<string, unknown>, name: string, i: number): Uint8Array | undefined {
  const v = raw[name];
  if (v === undefined || v === '') return undefined;
  if (!isHex(v)) throw new ModuleError(`models.models[${i}].${name} must be 0x hex`);
  return hexToBytes(v);
}

export function createModelsModule(): ModelsModule {
  return {
    name: M,
    messages: {
      'models/publish': defineMsg({
        schema: ModelsPublish,
        description:
          'Publish a model version (metadata, price, tiers); locks the storage deposit, pays the zk setup fee; on-chain data follows by upload',
        handler: handlePublish,
      }),
      'models/upload': defineMsg({
        schema: ModelsUpload,
        description: 'Append a chunk (<= 48 KiB) of the artifact (part 0) or verification key (part 1)',
        handler: handleUpload,
      }),
      'models/transfer': defineMsg({
        schema: ModelsTransfer,
        description: 'Give a model to another owner',
        handler: handleTransfer,
      }),
      'models/deprecate': defineMsg({
        schema: ModelsDeprecate,
        description: 'Stop a model from taking new requests; its storage deposit goes back to the owner',
        handler: handleDeprecate,
      }),
      'models/setPrice': defineMsg({
        schema: ModelsSetPrice,
        description: 'Set the price per request (per slot) of a model',
        handler: handleSetPrice,
      }),
      'models/review': defineMsg({
        schema: ModelsReview,
        description: 'Stake on a model with a rating 1..5 (stake 0 only changes the rating)',
        handler: handleReview,
      }),
      'models/unreview': defineMsg({
        schema: ModelsUnreview,
        description: 'Withdraw review stake; released after reviewUnbondingBlocks',
        handler: handleUnreview,
      }),
      'models/claimRewards': defineMsg({
        schema: ModelsClaimRewards,
        description: 'Claim reviewer fees earned on a model',
        handler: handleClaimRewards,
      }),
    },
    queries: modelsQueries,
    params: modelsParams,
    keeper: modelsKeeper,
    /**
     * Section { params?, models?: [{ ...publish fields, owner, artifact?, vk? }] } with artifact
     * and vk as 0x hex. Missing fields default (id from the artifact, artifactSize / vkSize /
     * vkHash from the bytes, the rest zero or empty); every model passes the publish and upload
     * checks and must bring all of its on-chain data (it starts active).
     */
    async initGenesis(ctx, json) {
      const section = (json ?? {}) as { params?: unknown; models?: unknown; state?: unknown };
      writeParams(ctx, 'models', modelsParams, paramsFromJson(modelsParams, section.params));
      // An exported chain's records: models with their artifact and key chunks, reviews, queues.
      importModuleState(ctx, 'models', section.state);
      const params = await readParams(ctx, 'models', modelsParams);
      const list = section.models ?? [];
      if (!Array.isArray(list)) throw new ModuleError('models.models must be an array');
      for (const [i, entry] of list.entries()) {
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
          throw new ModuleError(`models.models[${i}] must be an object`);
        const { artifact: _a, vk: _v, ...raw } = entry as Record<string, unknown>;
        const artifact = hexField(entry as Record<string, unknown>, 'artifact', i);
        const vk = hexField(entry as Record<string, unknown>, 'vk', i);
        let msg: ReturnType<typeof fromJson<typeof GenesisModelSchema>>;
        try {
          msg = fromJson(GenesisModelSchema, {
            id: artifact ? modelId(artifact) : '',
            task: '',
            license: '',
            version: '',
            description: '',
            priceWei: '0',
            artifactSize: artifact?.length ?? 0,
            vkHash: bytesToHex(vk ? keccak256(vk) : new Uint8Array(32)),
            vkSize: vk?.length ?? 0,
            zkInputs: 0,
            zkWeights: 0,
            weightCommitment: '0',
            zkConstraints: '0',
            previous: '',
            ...raw,
          });
        } catch (err) {
          throw new ModuleError(`models.models[${i}]: ${(err as Error).message}`);
        }
        const { owner, ...publish } = msg;
        const m = await publishModel(ctx, publish, owner, { genesis: true });
        for (const [part, bytes] of [
          [PART_ARTIFACT, artifact],
          [PART_VK, vk],
        ] as const) {
          if (!bytes) continue;
          for (let off = 0; off < bytes.length; off += GENESIS_PIECE)
            await uploadPart(ctx, m, part, off, bytes.subarray(off, off + GENESIS_PIECE), params, {
              genesis: true,
            });
        }
        if (m.status !== 'active')
          throw new ModuleError(
            `models.models[${i}] (${m.id}): genesis models must include all on-chain data`,
          );
      }
    },
    exportGenesis: (state) => exportStateSection(state, { name: M, params: modelsParams }),
    invariants: modelsInvariants,
    async endBlock(ctx) {
      await releaseUnbonded(ctx);
      await expireUnactivated(ctx);
    },
  };
}

export const modelsModule: ModelsModule = createModelsModule();
