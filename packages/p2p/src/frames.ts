// Length-prefixed frames for request/response streams. The length is read before the payload so an
// oversize frame is refused after 4 bytes instead of after buffering it.
//
// request:  u32be length | payload
// response: u8 status    | u32be length | payload   (status 0 = ok, 1 = error with a UTF-8 reason)

import { ProtocolError } from './errors.ts';

export const STATUS_OK = 0;
export const STATUS_ERROR = 1;

/** Longest error reason sent back to a requester; reasons are for logs, not for data. */
export const MAX_ERROR_REASON_BYTES = 256;

/** What a libp2p stream yields: plain bytes or a Uint8ArrayList. */
export type Chunk = Uint8Array | { subarray(): Uint8Array };

export function encodeRequest(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

export function encodeResponse(status: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = status;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

export function encodeErrorResponse(reason: string): Uint8Array {
  const bytes = new TextEncoder().encode(reason);
  return encodeResponse(STATUS_ERROR, bytes.subarray(0, MAX_ERROR_REASON_BYTES));
}

/** Thrown by readFrame when the announced length exceeds the limit. */
export class FrameTooLargeError extends ProtocolError {
  override name = 'FrameTooLargeError';
  readonly sizeBytes: number;
  readonly limitBytes: number;
  constructor(sizeBytes: number, limitBytes: number) {
    super(`frame announces ${sizeBytes} bytes, the limit is ${limitBytes}`);
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

export type Frame = { status: number; payload: Uint8Array };

/**
 * Reads one frame from `source` and stops; bytes after the frame are a protocol violation.
 * `headerBytes` is 4 for requests and 5 for responses (leading status byte).
 */
export async function readFrame(
  source: AsyncIterable<Chunk>,
  headerBytes: 4 | 5,
  maxPayloadBytes: number,
): Promise<Frame> {
  const chunks: Uint8Array[] = [];
  let have = 0;
  let need = -1; // total frame bytes, known once the header is in
  for await (const c of source) {
    const chunk = c instanceof Uint8Array ? c : c.subarray();
    chunks.push(chunk);
    have += chunk.length;
    if (need < 0 && have >= headerBytes) {
      const head = concat(chunks, have).subarray(0, headerBytes);
      const len = new DataView(head.buffer, head.byteOffset).getUint32(headerBytes - 4);
      if (len > maxPayloadBytes) throw new FrameTooLargeError(len, maxPayloadBytes);
      need = headerBytes + len;
    }
    if (need >= 0 && have > need)
      throw new ProtocolError(`stream carries ${have - need} bytes after the frame`);
    if (need >= 0 && have === need) break;
  }
  if (need < 0 || have < need) throw new ProtocolError(`stream ended after ${have} bytes, inside a frame`);
  const all = concat(chunks, have);
  return { status: headerBytes === 5 ? all[0] : STATUS_OK, payload: all.slice(headerBytes) };
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  chunks.length = 0;
  chunks.push(out);
  return out;
}
