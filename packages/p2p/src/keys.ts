// Node identity helpers: the caller persists the protobuf bytes and passes them back as privateKey.

import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { InvalidP2POptionsError } from './errors.ts';

/** A fresh Ed25519 node key, protobuf-encoded (the format libp2p and P2POptions.privateKey use). */
export async function generatePrivateKey(): Promise<Uint8Array> {
  return privateKeyToProtobuf(await generateKeyPair('Ed25519'));
}

export function decodePrivateKey(bytes: Uint8Array): ReturnType<typeof privateKeyFromProtobuf> {
  try {
    return privateKeyFromProtobuf(bytes);
  } catch (e) {
    throw new InvalidP2POptionsError(
      `privateKey is not a protobuf-encoded libp2p key: ${(e as Error).message}`,
    );
  }
}

/** The peer id (base58 string) that a node started with this key will have. */
export function peerIdOf(privateKey: Uint8Array): string {
  return peerIdFromPrivateKey(decodePrivateKey(privateKey)).toString();
}
