// An inference request: its record (model, tier, fees, slots) and its status history, read from
// the inference events of the transactions between its creation and last update, then followed
// live while the page is open.

import { type AivmClient, getRequest, type RequestInfo, subscribeRequest, type TxView } from '@aivm/sdk';
import { useEffect, useState } from 'react';
import { useConnection } from '../../app/connection.tsx';
import { errorText } from '../../app/log.ts';
import { useAsync } from '../../app/useAsync.ts';
import { formatCgpt } from './format.ts';
import {
  AccountLink,
  Async,
  Badge,
  BlockLink,
  ErrorBox,
  Fields,
  ModelLink,
  PageTitle,
  TxLink,
} from './ui.tsx';

/** Blocks read for the history at most; older requests show what their record holds. */
export const HISTORY_SCAN_BLOCKS = 200;

export type HistoryEntry = { height: bigint; type: string; detail: string; txHash?: string };

const HIDDEN = new Set(['id']);

function detailOf(attributes: Record<string, string>): string {
  return Object.entries(attributes)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The request's inference events found in transaction receipts from its creation on. */
export async function requestHistory(client: AivmClient, req: RequestInfo): Promise<HistoryEntry[]> {
  const from = BigInt(String(req.raw.createdAt ?? '0'));
  const to = BigInt(String(req.raw.updatedAt ?? '0'));
  if (from === 0n) return [];
  const last = to > from + BigInt(HISTORY_SCAN_BLOCKS) ? from + BigInt(HISTORY_SCAN_BLOCKS) : to;
  const want = req.id.toString();
  const out: HistoryEntry[] = [];
  for (let h = from; h <= last; h += 8n) {
    const heights: bigint[] = [];
    for (let x = h; x <= last && x < h + 8n; x++) heights.push(x);
    const blocks = await Promise.all(heights.map((x) => client.getBlock({ height: x, fullTxs: true })));
    for (const b of blocks) {
      if (!b) continue;
      (b.receipts ?? []).forEach((r, i) => {
        for (const e of r.events) {
          if (e.module !== 'inference') continue;
          const attrs = Object.fromEntries(e.attributes.map((a) => [a.key, a.value]));
          if (attrs.id !== want) continue;
          out.push({
            height: b.header.height,
            type: e.type,
            detail: detailOf(attrs),
            txHash: (b.txs[i] as TxView).hash,
          });
        }
      });
    }
  }
  return out;
}

export function RequestPage({ param }: { param: string | undefined }) {
  if (param === undefined || !/^\d{1,20}$/.test(param))
    return <ErrorBox>"{param ?? ''}" is not an inference request id (a whole number).</ErrorBox>;
  return <Request id={param} />;
}

function Request({ id }: { id: string }) {
  const { client, log } = useConnection();
  const [reload, setReload] = useState(0);
  const state = useAsync(async () => {
    const req = await getRequest(client, id);
    return { req, history: await requestHistory(client, req) };
  }, [client, id, reload]);
  const [live, setLive] = useState<HistoryEntry[]>([]);

  useEffect(() => {
    setLive([]);
    let off: (() => Promise<void>) | undefined;
    let active = true;
    subscribeRequest(client, id, (ev) => {
      setLive((l) => [
        ...l,
        { height: ev.height, type: ev.type, detail: detailOf(ev.attributes), txHash: ev.txHash ?? undefined },
      ]);
      if (ev.type === 'status') setReload((n) => n + 1);
    }).then(
      (unsubscribe) => {
        if (active) off = unsubscribe;
        else unsubscribe().catch(() => {});
      },
      (err: unknown) => log.warn('explorer', `request ${id}: no live updates (${errorText(err)})`),
    );
    return () => {
      active = false;
      off?.().catch(() => {});
    };
  }, [client, id, log]);

  return (
    <div className="page">
      <PageTitle>Inference request #{id}</PageTitle>
      <Async state={state} what={`request ${id}`}>
        {({ req, history }) => {
          const seen = new Set(history.map((e) => `${e.height}:${e.type}:${e.detail}`));
          const all = [...history, ...live.filter((e) => !seen.has(`${e.height}:${e.type}:${e.detail}`))];
          return (
            <>
              <section className="card">
                <h2>
                  <Badge ok={req.status !== 'failed' && req.status !== 'expired'}>{req.status}</Badge>{' '}
                  {req.reason && <span className="muted small">{req.reason}</span>}
                </h2>
                <Fields
                  testId="request-fields"
                  rows={[
                    ['Model', <ModelLink key="m" id={req.modelId} />],
                    ['Requester', <AccountLink key="r" address={req.requester} full />],
                    ['Tier', req.tierName],
                    ['Redundancy', String(req.redundancy)],
                    ['Price', `${formatCgpt(req.priceWei, 18)} CGPT per slot`],
                    ['Max fee', `${formatCgpt(req.maxFeeWei, 18)} CGPT`],
                    ['Created at', <BlockLink key="c" height={String(req.raw.createdAt ?? '0')} />],
                    ['Updated at', <BlockLink key="u" height={String(req.raw.updatedAt ?? '0')} />],
                    [
                      'Output',
                      req.outputInts.length ? `[${req.outputInts.join(', ')}] (class ${req.cls})` : '—',
                    ],
                    [
                      'Fees',
                      `owner ${formatCgpt(req.fees.ownerWei)}, provider ${formatCgpt(req.fees.providerWei)}, reviewers ${formatCgpt(req.fees.reviewersWei)}, protocol ${formatCgpt(req.fees.protocolWei)}, refund ${formatCgpt(req.fees.refundWei)} CGPT`,
                    ],
                  ]}
                />
              </section>
              <section className="card">
                <h2>Slots</h2>
                <ul className="plain-list">
                  {req.slots.map((s, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: slots are positional
                    <li key={i}>
                      Slot {i}: <strong>{s.status}</strong>
                      {s.provider && (
                        <>
                          {' '}
                          by <AccountLink address={s.provider} />
                        </>
                      )}{' '}
                      <span className="muted small">
                        attempts {s.attempts}, deadline {String(s.deadline)}
                        {s.computedAt > 0n && `, result at ${s.computedAt}`}
                      </span>
                    </li>
                  ))}
                </ul>
              </section>
              <section className="card">
                <h2>Status history</h2>
                {all.length === 0 && <p className="muted">No events found for this request.</p>}
                <ol className="timeline" data-testid="request-history">
                  {all.map((e, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: the history is append-only
                    <li key={i}>
                      <BlockLink height={e.height} /> <code>{e.type}</code>{' '}
                      <span className="muted small break">{e.detail}</span>{' '}
                      {e.txHash && <TxLink hash={e.txHash} />}
                    </li>
                  ))}
                </ol>
              </section>
            </>
          );
        }}
      </Async>
    </div>
  );
}
