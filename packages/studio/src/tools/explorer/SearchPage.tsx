// Where a search leads when it could mean several things (a number that is both a height and a
// request id, a model name several models share).

import { useConnection } from '../../app/connection.tsx';
import { href } from '../../app/router.ts';
import { useAsync } from '../../app/useAsync.ts';
import { resolveSearch } from './search.ts';
import { Async, ErrorBox, PageTitle } from './ui.tsx';

export function SearchPage({ query }: { query: string }) {
  const { client } = useConnection();
  const state = useAsync(() => resolveSearch(client, query), [client, query]);
  return (
    <div className="page">
      <PageTitle>Results for "{query}"</PageTitle>
      <Async state={state} what="the results">
        {(out) =>
          out.kind === 'none' ? (
            <ErrorBox>{out.message}</ErrorBox>
          ) : (
            <ul className="plain-list" data-testid="search-results">
              {(out.kind === 'go' ? [out.target] : out.targets).map((t) => (
                <li key={t.route.join('/')}>
                  <a href={href(t.route)}>{t.label}</a>
                </li>
              ))}
            </ul>
          )
        }
      </Async>
    </div>
  );
}
