// Structured logs (pino). Secrets never reach a log line: keys and passwords are not passed in.

import { type Logger, pino } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'aivm' },
      redact: { paths: ['privateKey', 'password', 'mnemonic', '*.privateKey', '*.password'], remove: true },
    },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}

export type { Logger };
