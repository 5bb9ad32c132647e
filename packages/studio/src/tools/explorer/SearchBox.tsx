// The explorer's search box: a height or hash, an address, a model id or name, a request id.
// Form mistakes are reported at once; the node is asked only for well-formed queries.

import { type FormEvent, useState } from 'react';
import { useConnection } from '../../app/connection.tsx';
import { errorText } from '../../app/log.ts';
import { navigate } from '../../app/router.ts';
import { classify, resolveSearch } from './search.ts';

export function SearchBox() {
  const { client } = useConnection();
  const [q, setQ] = useState('');
  const [message, setMessage] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const c = classify(q);
    if (c.kind === 'invalid') {
      setMessage(c.message);
      return;
    }
    setBusy(true);
    setMessage(undefined);
    resolveSearch(client, q)
      .then((out) => {
        if (out.kind === 'go') {
          navigate(out.target.route);
          setQ('');
        } else if (out.kind === 'choose') navigate(['search', q.trim()]);
        else setMessage(out.message);
      })
      .catch((err: unknown) => setMessage(`Search failed: ${errorText(err)}`))
      .finally(() => setBusy(false));
  };

  return (
    <form className="search" aria-label="Search" onSubmit={submit}>
      <input
        type="search"
        aria-label="Search the chain"
        placeholder="Block, tx hash, address, model, request id"
        value={q}
        onChange={(e) => {
          setQ(e.target.value);
          setMessage(undefined);
        }}
        spellCheck={false}
        autoComplete="off"
        maxLength={200}
        aria-invalid={message ? true : undefined}
        aria-describedby={message ? 'search-message' : undefined}
      />
      <button type="submit" className="button" disabled={busy}>
        {busy ? 'Searching…' : 'Search'}
      </button>
      {message && (
        <p id="search-message" className="search-message" role="alert">
          {message}
        </p>
      )}
    </form>
  );
}
