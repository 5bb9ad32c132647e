// Published models (models/list through the SDK's listModels) and one model's record.

import { getModel, listModels } from '@aivm/sdk';
import { useState } from 'react';
import { useConnection } from '../../app/connection.tsx';
import { useAsync } from '../../app/useAsync.ts';
import { formatCgpt, formatInt } from './format.ts';
import { AccountLink, Async, Badge, Fields, ModelLink, PageTitle } from './ui.tsx';

export function ModelsPage() {
  const { client } = useConnection();
  const [all, setAll] = useState(false);
  const state = useAsync(() => listModels(client, { includeInactive: all, limit: 100 }), [client, all]);
  return (
    <div className="page">
      <PageTitle>Models</PageTitle>
      <label className="check">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Include inactive
        models
      </label>
      <section className="card">
        <Async state={state} what="the models">
          {(models) =>
            models.length === 0 ? (
              <p className="muted">No models are published on this chain.</p>
            ) : (
              <div className="table-wrap">
                <table className="table" data-testid="models">
                  <thead>
                    <tr>
                      <th>Model</th>
                      <th className="wide-only">Task</th>
                      <th>Tiers</th>
                      <th>Price (CGPT)</th>
                      <th className="wide-only">Queries</th>
                      <th>Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {models.map((m) => (
                      <tr key={m.id}>
                        <td>
                          <ModelLink id={m.id} name={m.name} />
                        </td>
                        <td className="wide-only">{m.task}</td>
                        <td>{m.tierNames.join(', ')}</td>
                        <td>{formatCgpt(m.priceWei)}</td>
                        <td className="wide-only">{formatInt(m.queries)}</td>
                        <td>
                          <Badge ok={m.status === 'active'}>{m.status}</Badge>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Async>
      </section>
    </div>
  );
}

export function ModelPage({ id }: { id: string | undefined }) {
  const { client } = useConnection();
  const state = useAsync(() => getModel(client, id ?? ''), [client, id]);
  return (
    <div className="page">
      <Async state={state} what={`model ${id ?? ''}`}>
        {(m) => (
          <>
            <PageTitle sub={<span className="mono break">{m.id}</span>}>Model {m.name}</PageTitle>
            <section className="card">
              <Fields
                testId="model-fields"
                rows={[
                  [
                    'Status',
                    <Badge key="s" ok={m.status === 'active'}>
                      {m.status}
                    </Badge>,
                  ],
                  ['Owner', <AccountLink key="o" address={m.owner} full />],
                  ['Task', m.task],
                  ['Description', m.description],
                  ['Version', m.version],
                  ['License', m.license],
                  ['Tiers', m.tierNames.join(', ')],
                  ['Price', `${formatCgpt(m.priceWei, 18)} CGPT per slot`],
                  ['Input', <code key="i">{m.inputSchema}</code>],
                  ['Output', <code key="o2">{m.outputSchema}</code>],
                  ['Artifact', `${formatInt(m.artifactSize)} bytes`],
                  [
                    'zk',
                    m.tierNames.includes('zk')
                      ? `${formatInt(m.zkConstraints)} constraints, inputs ${m.zkInputs}, weights ${m.zkWeights}`
                      : '—',
                  ],
                  ['Queries', formatInt(m.queries)],
                ]}
              />
            </section>
          </>
        )}
      </Async>
    </div>
  );
}
