// Structured logs (pino). Secrets never reach a log line: keys and passwords are not passed in.

import { type Logger, pino } from 'pino';
import { build as prettyStream } from 'pino-pretty';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** `json`: one JSON object a line, for machines. `pretty`: one readable line each, for people. */
export type LogFormat = 'json' | 'pretty';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** Pretty on a terminal, JSON when stderr goes to a file or a pipe (a log collector, a test). */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stderr): LogFormat {
  return stream.isTTY ? 'pretty' : 'json';
}

export function createLogger(
  level: LogLevel = 'info',
  destination?: NodeJS.WritableStream,
  format: LogFormat = 'json',
): Logger {
  const options = {
    level,
    base: { service: 'aivm' },
    redact: { paths: ['privateKey', 'password', 'mnemonic', '*.privateKey', '*.password'], remove: true },
  };
  if (format === 'pretty') {
    // In-process and synchronous, so the last lines before an exit are not lost.
    const pretty = prettyStream({
      destination: destination ?? 2,
      sync: true,
      colorize: destination === undefined && process.stderr.isTTY === true,
      ignore: 'pid,hostname,service',
      translateTime: 'HH:MM:ss.l',
      singleLine: true,
    });
    return pino(options, pretty);
  }
  return pino(options, destination ?? pino.destination({ dest: 2, sync: false }));
}

export type { Logger };
