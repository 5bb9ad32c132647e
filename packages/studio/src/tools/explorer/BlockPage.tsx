// A block: its header fields and its transactions, each with its decoded message and receipt.

import type { ReceiptView, TxView } from '@aivm/sdk';
import { useConnection } from '../../app/connection.tsx';
import { href } from '../../app/router.ts';
import { useAsync } from '../../app/useAsync.ts';
import { fieldText, formatCgpt, formatInt, formatTime } from './format.ts';
import { AccountLink, Async, Badge, ErrorBox, Fields, PageTitle, TxLink } from './ui.tsx';

export function BlockPage({ param }: { param: string | undefined }) {
  if (param === undefined || !/^\d{1,20}$/.test(param))
    return (
      <ErrorBox>
        "{param ?? ''}" is not a block height: a block's address is #/block/&lt;height&gt;, e.g.{' '}
        <a href={href(['block', '1'])}>#/block/1</a>.
      </ErrorBox>
    );
  return <Block height={BigInt(param)} />;
}

function Block({ height }: { height: bigint }) {
  const { client } = useConnection();
  const state = useAsync(() => client.getBlock({ height, fullTxs: true }), [client, height]);
  return (
    <div className="page">
      <Async state={state} what={`block ${height}`}>
        {(block) => {
          if (!block)
            return (
              <>
                <PageTitle>Block {String(height)}</PageTitle>
                <ErrorBox>There is no block at height {String(height)} on this chain (yet).</ErrorBox>
              </>
            );
          const h = block.header;
          const txs = block.txs as TxView[];
          return (
            <>
              <PageTitle sub={<span className="mono break">{block.hash}</span>}>
                Block {String(h.height)}
              </PageTitle>
              <nav className="pager">
                {h.height > 1n && (
                  <a href={href(['block', String(h.height - 1n)])}>← {String(h.height - 1n)}</a>
                )}
                <a href={href(['block', String(h.height + 1n)])}>{String(h.height + 1n)} →</a>
              </nav>
              <section className="card">
                <h2>Header</h2>
                <Fields
                  testId="block-header"
                  rows={[
                    ['Height', String(h.height)],
                    ['Time', formatTime(h.timeMs)],
                    ['Proposer', <AccountLink key="p" address={h.proposer} full />],
                    ['Transactions', String(txs.length)],
                    ['Gas used', formatInt(h.gasUsed)],
                    ['Chain id', String(h.chainId)],
                    [
                      'Parent hash',
                      <span key="ph" className="mono break">
                        {h.parentHash}
                      </span>,
                    ],
                    [
                      'State root',
                      <span key="sr" className="mono break">
                        {h.stateRoot}
                      </span>,
                    ],
                    [
                      'Tx root',
                      <span key="tr" className="mono break">
                        {h.txRoot}
                      </span>,
                    ],
                    [
                      'Results root',
                      <span key="rr" className="mono break">
                        {h.resultsRoot}
                      </span>,
                    ],
                    [
                      'Validator set',
                      <span key="vs" className="mono break">
                        {h.validatorSetHash}
                      </span>,
                    ],
                    [
                      'Last commit',
                      `round ${block.lastCommit.round}, ${block.lastCommit.signatures.length} signatures`,
                    ],
                  ]}
                />
              </section>
              <section className="card">
                <h2>Transactions ({txs.length})</h2>
                {txs.length === 0 && <p className="muted">This block has no transactions.</p>}
                <div data-testid="block-txs">
                  {txs.map((tx, i) => (
                    <TxSummary key={tx.hash} tx={tx} receipt={block.receipts?.[i]} />
                  ))}
                </div>
              </section>
            </>
          );
        }}
      </Async>
    </div>
  );
}

function TxSummary({ tx, receipt }: { tx: TxView; receipt: ReceiptView | undefined }) {
  return (
    <article className="tx-summary">
      <header>
        <TxLink hash={tx.hash} /> <code className="msg-type">{tx.msgType}</code>{' '}
        {receipt && (
          <Badge ok={receipt.success}>{receipt.success ? 'success' : `failed (${receipt.code})`}</Badge>
        )}
      </header>
      <p className="muted small">
        from <AccountLink address={tx.from} /> · nonce {String(tx.nonce)}
        {receipt && ` · gas ${formatInt(receipt.gasUsed)} · fee ${formatCgpt(receipt.feeWei)} CGPT`}
      </p>
      <MsgFields msg={tx.msg} />
      {receipt && !receipt.success && receipt.error && <p className="error-text">{receipt.error}</p>}
    </article>
  );
}

/** A message's fields, addresses linked and amounts in wei also shown in CGPT. */
export function MsgFields({ msg }: { msg: Record<string, unknown> }) {
  const entries = Object.entries(msg);
  if (entries.length === 0) return <p className="muted small">No fields.</p>;
  return (
    <Fields
      rows={entries.map(([k, v]): [string, React.ReactNode] => {
        const text = fieldText(v);
        if (typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v))
          return [k, <AccountLink key={k} address={v} full />];
        if (typeof v === 'string' && /wei$/i.test(k) && /^\d+$/.test(v))
          return [k, `${formatCgpt(BigInt(v), 18)} CGPT (${v} wei)`];
        if (k === 'amount' && typeof v === 'string' && /^\d+$/.test(v))
          return [k, `${formatCgpt(BigInt(v), 18)} CGPT (${v} wei)`];
        return [
          k,
          <span key={k} className="mono break">
            {text.length > 600 ? `${text.slice(0, 600)}… (${text.length} characters)` : text}
          </span>,
        ];
      })}
    />
  );
}
