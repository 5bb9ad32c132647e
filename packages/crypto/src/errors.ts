// Typed errors for every failure in @aivm/crypto, so RPC and the CLI can map them to stable codes.

export type CryptoErrorCode =
  | 'ENCODING'
  | 'INVALID_ADDRESS'
  | 'INVALID_PRIVATE_KEY'
  | 'INVALID_PUBLIC_KEY'
  | 'INVALID_SIGNATURE'
  | 'INVALID_TYPED_DATA'
  | 'KEYSTORE'
  | 'WRONG_PASSWORD'
  | 'INVALID_MNEMONIC'
  | 'BACKEND_UNAVAILABLE';

export class CryptoError extends Error {
  override name = 'CryptoError';
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Malformed hex, UTF-8 or integer input to the byte helpers. */
export class EncodingError extends CryptoError {
  override name = 'EncodingError';
  constructor(message: string, options?: ErrorOptions) {
    super('ENCODING', message, options);
  }
}

export class InvalidAddressError extends CryptoError {
  override name = 'InvalidAddressError';
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_ADDRESS', message, options);
  }
}

export class InvalidPrivateKeyError extends CryptoError {
  override name = 'InvalidPrivateKeyError';
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_PRIVATE_KEY', message, options);
  }
}

export class InvalidPublicKeyError extends CryptoError {
  override name = 'InvalidPublicKeyError';
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_PUBLIC_KEY', message, options);
  }
}

export class InvalidSignatureError extends CryptoError {
  override name = 'InvalidSignatureError';
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_SIGNATURE', message, options);
  }
}

/** Typed data that does not follow EIP-712 (unknown type, missing field, value out of range). */
export class InvalidTypedDataError extends CryptoError {
  override name = 'InvalidTypedDataError';
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_TYPED_DATA', message, options);
  }
}

/** A keystore file that is malformed, unsupported, or asks for more work than we accept. */
export class KeystoreError extends CryptoError {
  override name = 'KeystoreError';
  constructor(message: string, options?: ErrorOptions) {
    super('KEYSTORE', message, options);
  }
}

/** The keystore MAC did not match: wrong password, or the file was altered. */
export class WrongPasswordError extends CryptoError {
  override name = 'WrongPasswordError';
  constructor(message = 'wrong password or corrupted keystore (MAC mismatch)', options?: ErrorOptions) {
    super('WRONG_PASSWORD', message, options);
  }
}

export class InvalidMnemonicError extends CryptoError {
  override name = 'InvalidMnemonicError';
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_MNEMONIC', message, options);
  }
}
