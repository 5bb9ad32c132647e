// The explorer's home: the latest blocks as they are committed (the connection's newBlocks feed)
// and the transactions in them.

import type { BlockView, Hex } from '@aivm/sdk';
import { useEffect, useState } from 'react';
import { useConnection } from '../../app/connection.tsx';
import { errorText } from '../../app/log.ts';
import { formatInt, shortHex, timeAgo } from './format.ts';
import { AccountLink, BlockLink, PageTitle, TxLink } from './ui.tsx';

export const LATEST_BLOCKS = 12;
const LATEST_TXS = 12;

type Row = { height: bigint; hash: Hex; timeMs: bigint; proposer: string; gasUsed: bigint; txs: Hex[] };

function rowOf(b: BlockView): Row {
  return {
    height: b.header.height,
    hash: b.hash,
    timeMs: b.header.timeMs,
    proposer: b.header.proposer,
    gasUsed: b.header.gasUsed,
    txs: b.txs.map((t) => (typeof t === 'string' ? t : t.hash)),
  };
}

export function LatestBlocks() {
  const { client, feed, log } = useConnection();
  const [rows, setRows] = useState<Row[]>([]);
  const [error, setError] = useState<string>();
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    let live = true;
    const add = (r: Row) =>
      setRows((rs) =>
        rs.some((x) => x.height === r.height)
          ? rs
          : [...rs, r].sort((a, b) => (a.height > b.height ? -1 : 1)).slice(0, LATEST_BLOCKS),
      );
    // One fetch at a time, so a burst of fast blocks cannot queue up requests without bound; a
    // fetch takes every block from the last one shown to the newest announced (at most the
    // LATEST_BLOCKS the table shows), so none is skipped.
    let fetching = false;
    let wanted: bigint | undefined;
    let shownTop = 0n;
    const fetchNext = (): void => {
      if (fetching || wanted === undefined || !live) return;
      const top = wanted;
      wanted = undefined;
      const floor = top - BigInt(LATEST_BLOCKS) + 1n;
      const heights: bigint[] = [];
      for (let h = top; h > shownTop && h >= floor && h >= 1n; h--) heights.push(h);
      if (heights.length === 0) return;
      fetching = true;
      Promise.all(
        heights.map((h) =>
          client.getBlock(h).then(
            (b) => {
              if (b && live) {
                add(rowOf(b));
                if (h > shownTop) shownTop = h;
              }
            },
            (err: unknown) => log.warn('explorer', `block ${h}: ${errorText(err)}`),
          ),
        ),
      ).finally(() => {
        fetching = false;
        fetchNext();
      });
    };
    const off = feed.onBlock((ev) => {
      wanted = ev.height;
      fetchNext();
    });
    const head = feed.snapshot().head;
    const start = head ? Promise.resolve(head.height) : client.status().then((s) => s.height);
    start
      .then(async (top) => {
        const heights: bigint[] = [];
        for (let h = top; h >= 1n && heights.length < LATEST_BLOCKS; h--) heights.push(h);
        const blocks = await Promise.all(heights.map((h) => client.getBlock(h)));
        if (!live) return;
        for (const b of blocks) if (b) add(rowOf(b));
        if (top > shownTop) shownTop = top;
      })
      .catch((err: unknown) => live && setError(`Could not load the latest blocks: ${errorText(err)}`));
    const tick = setInterval(() => setNow(Date.now()), 1_000);
    return () => {
      live = false;
      off();
      clearInterval(tick);
    };
  }, [client, feed, log]);

  const txs = rows.flatMap((r) => r.txs.map((hash) => ({ hash, height: r.height }))).slice(0, LATEST_TXS);
  return (
    <div className="page">
      <PageTitle sub="Live: new blocks appear as they are committed.">Latest blocks</PageTitle>
      {error && (
        <div className="error-box" role="alert">
          {error}
        </div>
      )}
      <div className="cards">
        <section className="card">
          <h2>Blocks</h2>
          {rows.length === 0 && !error && <p className="muted">Waiting for blocks…</p>}
          <div className="table-wrap">
            <table className="table" data-testid="latest-blocks">
              <thead>
                <tr>
                  <th>Height</th>
                  <th className="wide-only">Hash</th>
                  <th>Txs</th>
                  <th className="wide-only">Gas</th>
                  <th className="wide-only">Proposer</th>
                  <th>Age</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.height.toString()}>
                    <td>
                      <BlockLink height={r.height} />
                    </td>
                    <td className="wide-only mono" title={r.hash}>
                      {shortHex(r.hash)}
                    </td>
                    <td>{r.txs.length}</td>
                    <td className="wide-only">{formatInt(r.gasUsed)}</td>
                    <td className="wide-only">
                      <AccountLink address={r.proposer} />
                    </td>
                    <td className="nowrap">{timeAgo(r.timeMs, now)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        <section className="card">
          <h2>Transactions</h2>
          {txs.length === 0 ? (
            <p className="muted">No transactions in these blocks.</p>
          ) : (
            <ul className="plain-list" data-testid="latest-txs">
              {txs.map((t) => (
                <li key={t.hash}>
                  <TxLink hash={t.hash} /> <span className="muted">in block</span>{' '}
                  <BlockLink height={t.height} />
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}
