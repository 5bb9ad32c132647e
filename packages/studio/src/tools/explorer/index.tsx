// The Explorer tool: blocks, transactions, accounts, validators, models and inference requests of
// the connected chain. Routes: #/ and #/explorer (latest blocks), #/block/<height>, #/tx/<hash>,
// #/account/<address>, #/validators, #/models, #/model/<id>, #/request/<id>, #/search/<query>.

import { useFeed } from '../../app/connection.tsx';
import { ExplorerIcon } from '../../app/icons.tsx';
import { href } from '../../app/router.ts';
import type { Tool, ToolProps } from '../../app/tool.ts';
import { AccountPage } from './AccountPage.tsx';
import { BlockPage } from './BlockPage.tsx';
import { LatestBlocks } from './LatestBlocks.tsx';
import { ModelPage, ModelsPage } from './ModelsPage.tsx';
import { RequestPage } from './RequestPage.tsx';
import { SearchBox } from './SearchBox.tsx';
import { SearchPage } from './SearchPage.tsx';
import { TxPage } from './TxPage.tsx';
import { ErrorBox } from './ui.tsx';
import { ValidatorsPage } from './ValidatorsPage.tsx';

const SECTIONS = [
  { route: 'explorer', label: 'Latest blocks' },
  { route: 'validators', label: 'Validators' },
  { route: 'models', label: 'Models' },
] as const;

function SidePanel({ route }: ToolProps) {
  const feed = useFeed();
  const current = route.segments[0] ?? 'explorer';
  return (
    <div className="stack">
      <SearchBox />
      <nav aria-label="Explorer sections">
        <ul className="nav-list">
          {SECTIONS.map((s) => (
            <li key={s.route}>
              <a href={href([s.route])} aria-current={current === s.route ? 'page' : undefined}>
                {s.label}
              </a>
            </li>
          ))}
          {feed.head && (
            <li>
              <a href={href(['block', String(feed.head.height)])}>Head block {String(feed.head.height)}</a>
            </li>
          )}
        </ul>
      </nav>
    </div>
  );
}

function Page({ route }: ToolProps) {
  const [section, param] = route.segments;
  switch (section) {
    case undefined:
    case 'explorer':
      return <LatestBlocks />;
    case 'block':
      return <BlockPage param={param} />;
    case 'tx':
      return <TxPage param={param} />;
    case 'account':
      return <AccountPage param={param} />;
    case 'validators':
      return <ValidatorsPage />;
    case 'models':
      return <ModelsPage />;
    case 'model':
      return <ModelPage id={param} />;
    case 'request':
      return <RequestPage param={param} />;
    case 'search':
      return <SearchPage query={route.segments.slice(1).join('/')} />;
    default:
      return <ErrorBox>There is no page "#/{route.segments.join('/')}". Try the search box.</ErrorBox>;
  }
}

function MainPanel({ route }: ToolProps) {
  return (
    <div className="explorer">
      <div className="explorer-top">
        <SearchBox />
        <nav className="explorer-tabs" aria-label="Explorer sections">
          {SECTIONS.map((s) => (
            <a key={s.route} href={href([s.route])}>
              {s.label}
            </a>
          ))}
        </nav>
      </div>
      {/* A new page starts fresh: no state carried from the previous one. */}
      <Page key={route.segments.join('/')} route={route} />
    </div>
  );
}

export const explorerTool: Tool = {
  id: 'explorer',
  title: 'Explorer',
  icon: ExplorerIcon,
  routes: ['block', 'tx', 'account', 'validators', 'models', 'model', 'request', 'search'],
  SidePanel,
  MainPanel,
};
