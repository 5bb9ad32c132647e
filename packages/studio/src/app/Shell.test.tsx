import type { AivmClient } from '@aivm/sdk';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from './App.tsx';
import { LogStore } from './log.ts';
import { parseHash } from './router.ts';
import { THEME_KEY } from './theme.ts';
import type { Tool, ToolProps } from './tool.ts';

const header = {
  chainId: 7n,
  height: 3n,
  timeMs: 0n,
  parentHash: '0x',
  stateRoot: '0x',
  txRoot: '0x',
  resultsRoot: '0x',
  validatorSetHash: '0x',
  lastCommitHash: '0x',
  gasUsed: 0n,
  proposer: '0x',
};

function fakeClient(): AivmClient {
  return {
    url: 'http://node.test',
    status: async () => ({ chainId: 7n, height: 3n }),
    getBlock: async () => ({ hash: '0xaa', header, txs: [], lastCommit: { round: 0, signatures: [] } }),
    subscribe: async () => async () => {},
    close: () => {},
  } as unknown as AivmClient;
}

function Icon() {
  return <svg />;
}

function SideOne() {
  return <p>side of one</p>;
}
function MainOne({ route }: ToolProps) {
  return <p>main of one {route.segments.join('/')}</p>;
}
function SideTwo() {
  return <p>side of two</p>;
}
function MainTwo({ route }: ToolProps) {
  return <p>main of two {route.segments.join('/')}</p>;
}

const ONE: Tool = {
  id: 'one',
  title: 'One',
  icon: Icon,
  routes: ['one-page'],
  SidePanel: SideOne,
  MainPanel: MainOne,
};
const TWO: Tool = {
  id: 'two',
  title: 'Two',
  icon: Icon,
  routes: ['two-page'],
  SidePanel: SideTwo,
  MainPanel: MainTwo,
};

beforeEach(() => {
  localStorage.clear();
  location.hash = '';
});
afterEach(cleanup);

describe('Shell', () => {
  it('renders the icon bar, the routed tool and the connection status', async () => {
    const tools = [ONE, TWO];
    const log = new LogStore();
    render(<App tools={tools} rpcUrl="http://node.test" client={fakeClient()} log={log} />);
    expect(screen.getByRole('navigation', { name: 'Tools' })).toBeTruthy();
    expect(screen.getByText(/main of one/)).toBeTruthy();
    await act(async () => {
      location.hash = '#/two-page/9';
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    expect(screen.getByText('main of two two-page/9')).toBeTruthy();
    expect(screen.getByText('side of two')).toBeTruthy();
    expect(await screen.findByText('live')).toBeTruthy();
    expect(await screen.findByText('height 3')).toBeTruthy();
    expect(log.entries().some((e) => e.text.includes('chain 7'))).toBe(true);
  });

  it('toggles the theme and keeps the choice', async () => {
    render(<App tools={[ONE]} rpcUrl="http://node.test" client={fakeClient()} />);
    const before = document.documentElement.dataset.theme;
    fireEvent.click(screen.getByTestId('theme-toggle'));
    const after = document.documentElement.dataset.theme;
    expect(after).not.toBe(before);
    expect(localStorage.getItem(THEME_KEY)).toBe(after);
  });

  it('parses hash routes', () => {
    expect(parseHash('#/block/12?x=1').segments).toEqual(['block', '12']);
    expect(parseHash('#/search/a%20b').segments).toEqual(['search', 'a b']);
    expect(parseHash('').segments).toEqual([]);
  });
});
