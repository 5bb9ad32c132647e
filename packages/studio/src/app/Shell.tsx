// The Studio's layout, after Remix: icon bar (one button per tool, theme toggle), the active
// tool's side panel, its main panel, and the log panel with the connection's status. On narrow
// screens the icon bar runs along the top, the side panel opens over the main one and the log
// starts collapsed.

import { useEffect, useState } from 'react';
import { useFeed } from './connection.tsx';
import { MoonIcon, PanelIcon, SunIcon, TerminalIcon } from './icons.tsx';
import { type LogStore, useLogEntries } from './log.ts';
import { href, parseHash, useHash } from './router.ts';
import { useTheme } from './theme.ts';
import { type Tool, toolForRoute } from './tool.ts';

const NARROW = '(max-width: 720px)';

function isNarrow(): boolean {
  return typeof matchMedia === 'function' && matchMedia(NARROW).matches;
}

export function Shell({ tools, log }: { tools: readonly Tool[]; log: LogStore }) {
  const hash = useHash();
  const route = parseHash(hash);
  const tool = toolForRoute(tools, route);
  const { theme, toggle } = useTheme();
  const [sideOpen, setSideOpen] = useState(() => !isNarrow());
  const [logOpen, setLogOpen] = useState(() => !isNarrow());

  // On a phone the side panel covers the main one: close it once the user went somewhere.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every navigation
  useEffect(() => {
    if (isNarrow()) setSideOpen(false);
  }, [hash]);

  const { SidePanel, MainPanel } = tool;
  return (
    <div className={`shell${sideOpen ? '' : ' side-closed'}${logOpen ? '' : ' log-closed'}`}>
      <nav className="icon-bar" aria-label="Tools">
        <button
          type="button"
          className="icon-button side-toggle"
          aria-label={sideOpen ? 'Hide side panel' : 'Show side panel'}
          aria-pressed={sideOpen}
          onClick={() => setSideOpen((o) => !o)}
        >
          <PanelIcon />
        </button>
        {tools.map((t) => (
          <a
            key={t.id}
            href={href([t.id])}
            className={`icon-button${t === tool ? ' active' : ''}`}
            title={t.title}
            aria-label={t.title}
            aria-current={t === tool ? 'page' : undefined}
          >
            <t.icon />
          </a>
        ))}
        <span className="icon-bar-brand">AIVM Studio</span>
        <span className="icon-bar-spacer" />
        <button
          type="button"
          className="icon-button"
          data-testid="theme-toggle"
          aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
          title={theme === 'dark' ? 'Light theme' : 'Dark theme'}
          onClick={toggle}
        >
          {theme === 'dark' ? <SunIcon /> : <MoonIcon />}
        </button>
      </nav>
      <aside className="side-panel" aria-label={`${tool.title} panel`}>
        <h2 className="side-title">{tool.title}</h2>
        <div className="side-body">
          <SidePanel route={route} />
        </div>
      </aside>
      <main className="main-panel" data-tool={tool.id}>
        <MainPanel route={route} />
      </main>
      <LogPanel log={log} open={logOpen} onToggle={() => setLogOpen((o) => !o)} />
    </div>
  );
}

function ConnectionStatus() {
  const feed = useFeed();
  const label =
    feed.state === 'live'
      ? 'live'
      : feed.state === 'polling'
        ? 'polling'
        : feed.state === 'offline'
          ? 'offline'
          : 'connecting';
  return (
    <span className="conn" data-state={feed.state} title={feed.error}>
      <span className="conn-dot" aria-hidden="true" />
      <span data-testid="conn-state">{label}</span>
      {feed.chainId !== undefined && <span className="conn-extra">chain {String(feed.chainId)}</span>}
      {feed.head && (
        <span className="conn-extra" data-testid="head-height">
          height {String(feed.head.height)}
        </span>
      )}
    </span>
  );
}

function LogPanel({ log, open, onToggle }: { log: LogStore; open: boolean; onToggle: () => void }) {
  const entries = useLogEntries(log);
  const errors = entries.filter((e) => e.level === 'error').length;
  return (
    <section className="log-panel" aria-label="Log">
      <header className="log-header">
        <button
          type="button"
          className="log-toggle"
          aria-expanded={open}
          aria-controls="log-lines"
          onClick={onToggle}
        >
          <TerminalIcon />
          <span>Log</span>
          {errors > 0 && <span className="badge badge-error">{errors}</span>}
        </button>
        <ConnectionStatus />
        {open && (
          <button type="button" className="link-button" onClick={() => log.clear()}>
            Clear
          </button>
        )}
      </header>
      {open && (
        <ol className="log-lines" id="log-lines" data-testid="log">
          {[...entries].reverse().map((e) => (
            <li key={e.id} className={`log-${e.level}`}>
              <time>{new Date(e.timeMs).toLocaleTimeString()}</time>{' '}
              <span className="log-src">[{e.source}]</span> {e.text}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
