// The one error class of every codec failure, with a reason that is a function of the input alone.

/**
 * Why bytes or a value were refused. Consensus code maps these to receipt codes, so each is a
 * function of the input only, never of the machine (stack size, JIT state, memory):
 * - `malformed`: not RLP at all (empty, truncated, a length past the end, trailing bytes);
 * - `non-canonical`: valid RLP or a valid value with a second spelling (a prefixed single byte, a
 *   long-form length under 56, a length or integer with a leading zero, a boolean other than 0/1);
 * - `too-deep`: lists nested deeper than MAX_RLP_DEPTH, or deeper than the schema being decoded;
 * - `too-large`: more bytes or items than a limit allows (the decoder's caps, a schema's `max`);
 * - `schema`: well-formed, but not a value of the schema (wrong kind, field count, range, UTF-8).
 */
export const CODEC_ERROR_REASONS = ['malformed', 'non-canonical', 'too-deep', 'too-large', 'schema'] as const;
export type CodecErrorReason = (typeof CODEC_ERROR_REASONS)[number];

export class CodecError extends Error {
  override name = 'CodecError';
  readonly path: string;
  /** Stable across machines and versions of the message text; see CODEC_ERROR_REASONS. */
  readonly reason: CodecErrorReason;
  constructor(path: string, message: string, reason: CodecErrorReason = 'schema') {
    super(path ? `${path}: ${message}` : message);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * The codec reason behind `err`: its own if it is a CodecError, else that of the first CodecError
 * in its `cause` chain (decoders of other packages wrap codec failures in their own error class).
 */
export function codecErrorReason(err: unknown): CodecErrorReason | undefined {
  let e: unknown = err;
  // A bounded walk: a cause chain is built by our own code, but a cycle must not hang a node.
  for (let i = 0; i < 8 && e instanceof Error; i++) {
    if (e instanceof CodecError) return e.reason;
    e = e.cause;
  }
  return undefined;
}
