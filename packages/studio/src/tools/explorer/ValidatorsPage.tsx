// The validator set from staking/validators: power, tokens, commission, status and jailing.

import { useConnection } from '../../app/connection.tsx';
import { useAsync } from '../../app/useAsync.ts';
import { formatCgpt, formatInt, formatRate } from './format.ts';
import { AccountLink, Async, Badge, PageTitle } from './ui.tsx';

export type ValidatorRow = {
  operator: string;
  moniker: string;
  status: string;
  jailed: boolean;
  tombstoned: boolean;
  tokens: string;
  power: string;
  commissionRate: string;
};

export function ValidatorsPage() {
  const { client } = useConnection();
  const state = useAsync(async () => (await client.query('staking/validators')) as ValidatorRow[], [client]);
  return (
    <div className="page">
      <PageTitle>Validators</PageTitle>
      <section className="card">
        <Async state={state} what="the validators">
          {(vs) => {
            const total = vs.reduce((s, v) => s + BigInt(v.power || '0'), 0n);
            return (
              <div className="table-wrap">
                <table className="table" data-testid="validators">
                  <thead>
                    <tr>
                      <th>Validator</th>
                      <th>Power</th>
                      <th className="wide-only">Stake (CGPT)</th>
                      <th>Commission</th>
                      <th>Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {vs.map((v) => (
                      <tr key={v.operator}>
                        <td>
                          <strong>{v.moniker || '(no moniker)'}</strong>
                          <br />
                          <AccountLink address={v.operator} />
                        </td>
                        <td>
                          {formatInt(v.power)}
                          {total > 0n && (
                            <span className="muted small">
                              {' '}
                              ({((Number(BigInt(v.power)) / Number(total)) * 100).toFixed(1)} %)
                            </span>
                          )}
                        </td>
                        <td className="wide-only">{formatCgpt(BigInt(v.tokens || '0'), 2)}</td>
                        <td>{formatRate(v.commissionRate)}</td>
                        <td>
                          <Badge ok={!v.jailed && !v.tombstoned}>
                            {v.tombstoned ? 'tombstoned' : v.jailed ? 'jailed' : v.status}
                          </Badge>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          }}
        </Async>
      </section>
    </div>
  );
}
