// Write-ahead log of the consensus machine's inputs for the current height. The engine appends
// (and fsyncs) each input before acting on the outputs of that input, so after a crash replaying
// the log through a fresh machine reproduces its state and its own votes: it never signs a vote
// that conflicts with one it may already have sent.
//
// File format: one record per line, `<crc32 of json, 8 hex digits> <json>\n`. The first record
// names the height. A crash can leave the last record torn (no newline, or a bad checksum): it is
// dropped and cut off when the log is opened. A bad record followed by good ones is not a crash
// artefact and raises WalCorruptError.

import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { InvalidInputError, WalCorruptError } from './errors.ts';
import type { Input } from './types.ts';
import { inputFromJson, inputToJson, type ProposerResolver } from './wal-record.ts';

type StartInput = Extract<Input, { type: 'start' }>;

function frame(json: Record<string, unknown>): string {
  const text = JSON.stringify(json);
  return `${crc32(text).toString(16).padStart(8, '0')} ${text}\n`;
}

function unframe(line: string): Record<string, unknown> | null {
  const m = /^([0-9a-f]{8}) (.*)$/s.exec(line);
  if (m === null || crc32(m[2]!) !== Number.parseInt(m[1]!, 16)) return null;
  try {
    const j: unknown = JSON.parse(m[2]!);
    return typeof j === 'object' && j !== null && !Array.isArray(j) ? (j as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function fsyncDir(path: string): void {
  // Makes the rename itself durable; not every platform lets a directory be opened, hence the guard.
  let fd: number | undefined;
  try {
    fd = openSync(dirname(path), 'r');
    fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export class FileWal {
  readonly path: string;
  private fd: number;
  private records: Record<string, unknown>[];
  private unsynced = false;
  /** Bytes of the file that a crash cut off and open() removed (0 when the log was clean). */
  readonly truncatedBytes: number;
  /** Records (torn or failing their checksum) that open() cut off: 0 or 1, only the last may be. */
  readonly truncatedRecords: number;

  private constructor(
    path: string,
    fd: number,
    records: Record<string, unknown>[],
    truncatedBytes: number,
    truncatedRecords: number,
  ) {
    this.path = path;
    this.fd = fd;
    this.records = records;
    this.truncatedBytes = truncatedBytes;
    this.truncatedRecords = truncatedRecords;
  }

  /**
   * Opens (or creates) the log and removes a torn last record. What was removed is in
   * truncatedBytes and truncatedRecords, for the caller to report (the node logs it at warn).
   */
  static open(path: string): FileWal {
    // Bytes, not text: a torn tail may end inside a multi-byte character (or be any garbage), and
    // decoding it would replace bytes with U+FFFD and miscount what is cut.
    const bytes = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
    const records: Record<string, unknown>[] = [];
    let pos = 0;
    let line = 0;
    while (pos < bytes.length) {
      const nl = bytes.indexOf(0x0a, pos);
      line++;
      const rec = nl === -1 ? null : unframe(bytes.toString('utf8', pos, nl));
      if (rec === null) {
        // Only the last record may be damaged: anything after it means corruption, not a crash.
        if (nl !== -1 && nl + 1 < bytes.length) {
          throw new WalCorruptError(path, line, 'bad record before the end of the log');
        }
        break;
      }
      if (records.length === 0 && rec.t !== 'height') {
        throw new WalCorruptError(path, line, 'the first record must name the height');
      }
      records.push(rec);
      pos = nl + 1;
    }
    // `pos` is where the good records end.
    if (pos < bytes.length) {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, pos);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    const cut = bytes.length - pos;
    return new FileWal(path, openSync(path, 'a'), records, cut, cut > 0 ? 1 : 0);
  }

  /** Height of the log, or null for an empty (new) log. */
  height(): bigint | null {
    const h = this.records[0]?.h;
    return typeof h === 'string' ? BigInt(h) : null;
  }

  /**
   * Appends one input. With `sync` (the default) it is fsynced before this returns. The engine may
   * append peers' messages without sync and call sync() before it signs anything: the log is
   * append-only, so one fsync makes every earlier record durable too, and a replay then sees at
   * least every input that led to a signature.
   */
  append(input: Input, sync = true): void {
    if (this.records.length === 0)
      throw new InvalidInputError('wal', 'startHeight must be called before append');
    const json = inputToJson(input);
    const data = frame(json);
    writeSync(this.fd, data, null, 'utf8');
    this.unsynced = true;
    if (sync) this.sync();
    this.records.push(json);
  }

  /** Makes every appended record durable (a no-op when nothing was appended since the last sync). */
  sync(): void {
    if (!this.unsynced) return;
    fsyncSync(this.fd);
    this.unsynced = false;
  }

  /** The inputs of the logged height, in order, ready to replay through a fresh Consensus. */
  readAll(resolveProposer: ProposerResolver): Input[] {
    return this.records.slice(1).map((r) => inputFromJson(r, resolveProposer));
  }

  /**
   * Atomically replaces the log with one for `start.height`, holding `start` followed by `carried`
   * (the machine's nextHeightInputs() taken before `start` is stepped). The engine steps `start`
   * after this returns, without appending it again. Call it only once the previous height's block
   * is durably committed: the old log is gone afterwards.
   */
  startHeight(start: StartInput, carried: readonly Input[] = []): void {
    const tmp = `${this.path}.tmp`;
    const header = { t: 'height', h: start.height.toString() };
    const records = [header, inputToJson(start), ...carried.map(inputToJson)];
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, records.map(frame).join(''), null, 'utf8');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    fsyncDir(this.path);
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
    this.records = records;
  }

  close(): void {
    closeSync(this.fd);
  }
}
