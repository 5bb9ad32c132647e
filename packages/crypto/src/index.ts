// Public API of @aivm/crypto (browser entry; Node loads index.node.ts, which adds native secp256k1).

export { type Address, addressToBytes, bytesToAddress, isAddress, toChecksumAddress } from './address.ts';
export * from './bytes.ts';
export {
  type Ed25519KeyPair,
  ed25519GenerateKey,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
} from './ed25519.ts';
export {
  EIP712_DOMAIN_FIELDS,
  encodeType,
  hashDomain,
  hashStruct,
  hashTypedData,
  signTypedData,
  type TypedData,
  type TypedDataDomain,
  type TypedDataField,
  type TypedDataTypes,
} from './eip712.ts';
export {
  CryptoError,
  type CryptoErrorCode,
  InvalidAddressError,
  InvalidMnemonicError,
  InvalidPrivateKeyError,
  InvalidPublicKeyError,
  InvalidSignatureError,
  InvalidTypedDataError,
  KeystoreError,
  WrongPasswordError,
} from './errors.ts';
export * from './hash.ts';
export {
  decryptKeystore,
  type EncryptKeystoreOptions,
  encryptKeystore,
  KEYSTORE_LIMITS,
  type KeystorePbkdf2Params,
  type KeystoreScryptParams,
  type KeystoreV3,
} from './keystore.ts';
export {
  generateMnemonic,
  mnemonicToPrivateKey,
  mnemonicToPrivateKeys,
  validateMnemonic,
} from './mnemonic.ts';
export {
  generatePrivateKey,
  privateKeyToAddress,
  privateKeyToPublicKey,
  publicKeyToAddress,
  recoverAddress,
  recoverAddressWith,
  recoverPublicKey,
  type Secp256k1BackendName,
  secp256k1Backend,
  signDigest,
} from './secp256k1.ts';
