// Typed errors of the p2p package; each names the limit or peer a caller needs to act on.

export class P2PError extends Error {
  override name = 'P2PError';
}

export class InvalidP2POptionsError extends P2PError {
  override name = 'InvalidP2POptionsError';
}

/** A local publish or request whose payload exceeds the configured limit (the caller's bug). */
export class MessageTooLargeError extends P2PError {
  override name = 'MessageTooLargeError';
  readonly sizeBytes: number;
  readonly limitBytes: number;
  constructor(what: string, sizeBytes: number, limitBytes: number) {
    super(`${what} is ${sizeBytes} bytes, the limit is ${limitBytes}`);
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

/** The remote answered with more bytes than maxResponseBytes; the stream was cut and the peer penalised. */
export class ResponseTooLargeError extends P2PError {
  override name = 'ResponseTooLargeError';
  readonly peer: string;
  readonly limitBytes: number;
  constructor(peer: string, sizeBytes: number, limitBytes: number) {
    super(`response from ${peer} announces ${sizeBytes} bytes, the limit is ${limitBytes}`);
    this.peer = peer;
    this.limitBytes = limitBytes;
  }
}

export class RequestTimeoutError extends P2PError {
  override name = 'RequestTimeoutError';
  readonly peer: string;
  readonly timeoutMs: number;
  constructor(peer: string, protocol: string, timeoutMs: number) {
    super(`request '${protocol}' to ${peer} timed out after ${timeoutMs} ms`);
    this.peer = peer;
    this.timeoutMs = timeoutMs;
  }
}

/** The remote handler failed, refused (rate limit, oversize) or the protocol is unknown there. */
export class RemoteError extends P2PError {
  override name = 'RemoteError';
  readonly peer: string;
  constructor(peer: string, message: string) {
    super(`peer ${peer}: ${message}`);
    this.peer = peer;
  }
}

/** The stream broke or carried bytes that are not a valid frame. */
export class ProtocolError extends P2PError {
  override name = 'ProtocolError';
}

export class NotStartedError extends P2PError {
  override name = 'NotStartedError';
  constructor(op: string) {
    super(`p2p node is not started; cannot ${op}`);
  }
}
