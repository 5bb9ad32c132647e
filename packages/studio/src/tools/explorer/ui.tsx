// Small building blocks the explorer pages share: links to chain objects, key/value tables,
// loading and error states.

import type { ReactNode } from 'react';
import { errorText } from '../../app/log.ts';
import { href } from '../../app/router.ts';
import type { AsyncState } from '../../app/useAsync.ts';
import { shortHex } from './format.ts';

export function BlockLink({ height }: { height: bigint | number | string }) {
  return <a href={href(['block', String(height)])}>{String(height)}</a>;
}

export function TxLink({ hash, full = false }: { hash: string; full?: boolean }) {
  return (
    <a className="mono" href={href(['tx', hash])} title={hash}>
      {full ? hash : shortHex(hash)}
    </a>
  );
}

export function AccountLink({ address, full = false }: { address: string; full?: boolean }) {
  return (
    <a className="mono" href={href(['account', address])} title={address}>
      {full ? address : shortHex(address)}
    </a>
  );
}

export function ModelLink({ id, name }: { id: string; name?: string }) {
  return (
    <a className={name ? undefined : 'mono'} href={href(['model', id])} title={id}>
      {name || shortHex(id, 8)}
    </a>
  );
}

export function RequestLink({ id }: { id: bigint | string }) {
  return <a href={href(['request', String(id)])}>#{String(id)}</a>;
}

/** A two-column table of fields: label, value. */
export function Fields({ rows, testId }: { rows: [string, ReactNode][]; testId?: string }) {
  return (
    <dl className="fields" data-testid={testId}>
      {rows.map(([k, v]) => (
        <div key={k} className="field">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ children }: { children: ReactNode }) {
  return (
    <div className="error-box" role="alert">
      {children}
    </div>
  );
}

/** Loading, error or the content for the data. */
export function Async<T>({
  state,
  what,
  children,
}: {
  state: AsyncState<T>;
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (state.status === 'loading') return <Loading what={what} />;
  if (state.status === 'error')
    return (
      <ErrorBox>
        Could not load {what}: {errorText(state.error)}
      </ErrorBox>
    );
  return <>{children(state.data)}</>;
}

export function Badge({ ok, children }: { ok: boolean; children: ReactNode }) {
  return <span className={`badge ${ok ? 'badge-ok' : 'badge-error'}`}>{children}</span>;
}

export function PageTitle({ children, sub }: { children: ReactNode; sub?: ReactNode }) {
  return (
    <header className="page-title">
      <h1>{children}</h1>
      {sub && <p className="muted">{sub}</p>}
    </header>
  );
}
