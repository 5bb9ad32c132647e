// The Studio app: a connection to the node (from the page's URL) around the shell and its tools.

import type { AivmClient } from '@aivm/sdk';
import { useMemo } from 'react';
import { ConnectionProvider, resolveRpcUrl } from './connection.tsx';
import { LogStore } from './log.ts';
import { Shell } from './Shell.tsx';
import type { Tool } from './tool.ts';

export function App({
  tools,
  rpcUrl,
  client,
  log: given,
}: {
  tools: readonly Tool[];
  /** The node; default: `?rpc=` or the page's origin. */
  rpcUrl?: string;
  client?: AivmClient;
  log?: LogStore;
}) {
  const log = useMemo(() => given ?? new LogStore(), [given]);
  const url = useMemo(() => {
    if (rpcUrl) return rpcUrl;
    const r = resolveRpcUrl(location.search, location.origin, import.meta.env.DEV);
    if (r.error) log.error('studio', r.error);
    return r.url;
  }, [rpcUrl, log]);
  return (
    <ConnectionProvider rpcUrl={url} log={log} client={client}>
      <Shell tools={tools} log={log} />
    </ConnectionProvider>
  );
}
