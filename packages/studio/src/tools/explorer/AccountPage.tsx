// An account: balance in CGPT, nonce, and its inference requests.

import { parseRequest } from '@aivm/sdk';
import { useConnection } from '../../app/connection.tsx';
import { useAsync } from '../../app/useAsync.ts';
import { formatCgpt } from './format.ts';
import { Async, ErrorBox, Fields, ModelLink, PageTitle, RequestLink } from './ui.tsx';

export function AccountPage({ param }: { param: string | undefined }) {
  if (param === undefined || !/^0x[0-9a-fA-F]{40}$/.test(param))
    return <ErrorBox>"{param ?? ''}" is not an address (0x followed by 40 hex digits).</ErrorBox>;
  return <Account address={param as `0x${string}`} />;
}

function Account({ address }: { address: `0x${string}` }) {
  const { client } = useConnection();
  const account = useAsync(() => client.getAccount(address), [client, address]);
  const requests = useAsync(
    async () =>
      ((await client.query('inference/requests', { requester: address, limit: 20 })) as unknown[]).map(
        parseRequest,
      ),
    [client, address],
  );
  return (
    <div className="page">
      <PageTitle sub={<span className="mono break">{address}</span>}>Account</PageTitle>
      <section className="card">
        <Async state={account} what="the account">
          {(a) => (
            <Fields
              testId="account-fields"
              rows={[
                [
                  'Balance',
                  <strong key="b" data-testid="balance">
                    {formatCgpt(a.balanceWei, 18)} CGPT
                  </strong>,
                ],
                ['Nonce', String(a.nonce)],
                ...(a.pendingNonce !== a.nonce
                  ? [['Pending nonce', String(a.pendingNonce)] as [string, string]]
                  : []),
              ]}
            />
          )}
        </Async>
      </section>
      <section className="card">
        <h2>Inference requests</h2>
        <Async state={requests} what="its inference requests">
          {(rs) =>
            rs.length === 0 ? (
              <p className="muted">None.</p>
            ) : (
              <ul className="plain-list">
                {rs.map((r) => (
                  <li key={r.id.toString()}>
                    <RequestLink id={r.id} /> <ModelLink id={r.modelId} /> · {r.tierName} · {r.status}
                  </li>
                ))}
              </ul>
            )
          }
        </Async>
      </section>
    </div>
  );
}
