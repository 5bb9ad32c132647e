// Hash routing (#/block/12): links work from a file, a bookmark or a reload without any server
// rewrites. One subscription to hashchange per hook; navigate() only sets location.hash.

import { useSyncExternalStore } from 'react';
import type { Route } from './tool.ts';

/** Parses `#/a/b?x=1` into segments (URI-decoded, empty ones dropped) and a query. */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const segments = path
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)) };
}

/** The hash of a route from its segments, each URI-encoded: href(['block', 12]) is '#/block/12'. */
export function href(segments: readonly (string | number | bigint)[]): string {
  return `#/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}

export function navigate(segments: readonly (string | number | bigint)[]): void {
  location.hash = href(segments);
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

/** The current hash; re-renders on change. */
export function useHash(): string {
  return useSyncExternalStore(subscribe, () => location.hash);
}
