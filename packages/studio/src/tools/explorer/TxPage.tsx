// A transaction: where it stands (committed, pending, dropped), its decoded message and receipt.

import { useConnection } from '../../app/connection.tsx';
import { useAsync } from '../../app/useAsync.ts';
import { MsgFields } from './BlockPage.tsx';
import { formatCgpt, formatInt } from './format.ts';
import { AccountLink, Async, Badge, BlockLink, ErrorBox, Fields, PageTitle } from './ui.tsx';

export function TxPage({ param }: { param: string | undefined }) {
  if (param === undefined || !/^0x[0-9a-fA-F]{64}$/.test(param))
    return <ErrorBox>"{param ?? ''}" is not a transaction hash (0x followed by 64 hex digits).</ErrorBox>;
  return <Tx hash={param.toLowerCase() as `0x${string}`} />;
}

function Tx({ hash }: { hash: `0x${string}` }) {
  const { client } = useConnection();
  const state = useAsync(async () => {
    const tx = await client.getTx(hash);
    return { tx, status: tx ? undefined : await client.getTxStatus(hash) };
  }, [client, hash]);
  return (
    <div className="page">
      <PageTitle sub={<span className="mono break">{hash}</span>}>Transaction</PageTitle>
      <Async state={state} what="the transaction">
        {({ tx, status }) => {
          if (!tx) {
            if (status?.status === 'pending')
              return (
                <p role="status">Pending: in the node's mempool, not yet in a block. Reload in a moment.</p>
              );
            if (status?.status === 'dropped')
              return (
                <ErrorBox>
                  Dropped without being committed: {status.reason}
                  {status.code !== undefined && ` (code ${status.code})`}
                </ErrorBox>
              );
            return <ErrorBox>This node knows no transaction with this hash.</ErrorBox>;
          }
          const r = tx.receipt;
          return (
            <>
              <section className="card">
                <h2>
                  <code className="msg-type">{tx.msgType}</code>{' '}
                  <Badge ok={r.success}>{r.success ? 'success' : `failed (code ${r.code})`}</Badge>
                </h2>
                <Fields
                  testId="tx-fields"
                  rows={[
                    ['Block', <BlockLink key="b" height={tx.height} />],
                    ['Position', String(tx.index)],
                    ['From', <AccountLink key="f" address={tx.from} full />],
                    ['Nonce', String(tx.nonce)],
                    ['Gas used / limit', `${formatInt(r.gasUsed)} / ${formatInt(tx.gasLimit)}`],
                    ['Gas price', `${formatInt(tx.gasPrice)} wei`],
                    ['Fee', `${formatCgpt(r.feeWei, 18)} CGPT`],
                    ...(r.error
                      ? [
                          [
                            'Error',
                            <span key="e" className="error-text">
                              {r.error}
                            </span>,
                          ] as [string, React.ReactNode],
                        ]
                      : []),
                  ]}
                />
              </section>
              <section className="card">
                <h2>Message</h2>
                <MsgFields msg={tx.msg} />
              </section>
              <section className="card">
                <h2>Events ({r.events.length})</h2>
                {r.events.length === 0 && <p className="muted">No events.</p>}
                <ul className="plain-list" data-testid="tx-events">
                  {r.events.map((e, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: events have no id; their order is fixed
                    <li key={i}>
                      <code>
                        {e.module}/{e.type}
                      </code>{' '}
                      <span className="muted small mono break">
                        {e.attributes.map((a) => `${a.key}=${a.value}`).join(' ')}
                      </span>
                    </li>
                  ))}
                </ul>
              </section>
            </>
          );
        }}
      </Async>
    </div>
  );
}
