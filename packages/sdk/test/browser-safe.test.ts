// The SDK must load in a browser: resolved with browser export conditions, its whole import graph
// may not touch a Node built-in module.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeBrowserImport } from '../../../test-support/browser-probe.ts';

const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

it('imports no Node built-in module under browser conditions', () => {
  const out = probeBrowserImport(ENTRY);
  assert.deepEqual(out.builtins, []);
  assert.deepEqual(out.exports, [
    'AivmClient',
    'ArtifactUnavailableError',
    'BLOB_CHUNK_BYTES',
    'BLOB_UPLOAD_TYPES',
    'DEV_MNEMONIC',
    'InferenceRequestRefused',
    'InputError',
    'MODEL_CHUNK_BYTES',
    'MODEL_UPLOAD_BYTES',
    'MalformedResponseError',
    'ModelNotFoundError',
    'RpcError',
    'RpcTimeoutError',
    'TIERS',
    'TxDroppedError',
    'Wallet',
    'blobId',
    'blobUploadTypedData',
    'getModel',
    'getModelArtifact',
    'getModelIO',
    'getModelPart',
    'getModelVerificationKey',
    'getRequest',
    'getZkProof',
    'isPaidSlot',
    'listModels',
    'parseModel',
    'parseRequest',
    'priceFloorWei',
    'publishModel',
    'quantizeInput',
    'readOutput',
    'readRequestResult',
    'requestInference',
    'requestResult',
    'subscribeRequest',
    'verifyStateProof',
    'verifyZkResult',
    'waitForRequest',
  ]);
  assert.ok(out.loaded > 10, `only ${out.loaded} modules seen: the probe did not follow the graph`);
});
