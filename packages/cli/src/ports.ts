// Port checks made before a node prints its banner: a port another process holds is reported where
// the user looks (the terminal, with the flag that changes it), not later in a log file.

import { createServer } from 'node:net';
import { UsageError } from './home.ts';

/** One port a command is about to listen on, and the flag (or config) that chooses it. */
export type PortUse = { host: string; port: number; what: string; flag: string };

export class PortInUse extends UsageError {
  readonly use: PortUse;
  constructor(use: PortUse, reason: string) {
    super(
      `${use.what} port ${use.port} on ${use.host} is ${reason}: stop what holds it, or choose another port with ${use.flag}`,
    );
    this.use = use;
  }
}

/** Binds and releases `use.port`; port 0 (any free port) always passes. */
async function checkPort(use: PortUse): Promise<void> {
  if (use.port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new PortInUse(use, 'already in use'));
      else if (err.code === 'EACCES') reject(new PortInUse(use, 'not allowed for this user'));
      else reject(err);
    });
    server.listen({ port: use.port, host: use.host, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Throws `PortInUse` for the first port of `uses` that cannot be bound. */
export async function assertPortsFree(uses: PortUse[]): Promise<void> {
  for (const use of uses) await checkPort(use);
}

/** The host and port of a `/ip4/<host>/tcp/<port>` listen multiaddr (undefined for other forms). */
export function tcpListenAddress(multiaddr: string): { host: string; port: number } | undefined {
  const m = /^\/ip4\/([0-9.]+)\/tcp\/([0-9]+)(?:\/|$)/.exec(multiaddr);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}
