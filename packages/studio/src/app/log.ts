// The log panel's store: tools and the shell append lines (info, warn, error); the panel renders
// the latest. Capped so a long session cannot grow the page without bound.

import { useSyncExternalStore } from 'react';

export type LogLevel = 'info' | 'warn' | 'error';
export type LogEntry = { id: number; timeMs: number; level: LogLevel; source: string; text: string };

export const MAX_LOG_ENTRIES = 500;

export class LogStore {
  #entries: readonly LogEntry[] = [];
  #next = 1;
  readonly #listeners = new Set<() => void>();

  add(level: LogLevel, source: string, text: string): void {
    const entry = { id: this.#next++, timeMs: Date.now(), level, source, text };
    this.#entries = [...this.#entries.slice(-(MAX_LOG_ENTRIES - 1)), entry];
    for (const l of this.#listeners) l();
  }

  info(source: string, text: string): void {
    this.add('info', source, text);
  }

  warn(source: string, text: string): void {
    this.add('warn', source, text);
  }

  error(source: string, text: string): void {
    this.add('error', source, text);
  }

  clear(): void {
    this.#entries = [];
    for (const l of this.#listeners) l();
  }

  entries = (): readonly LogEntry[] => this.#entries;

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };
}

export function useLogEntries(store: LogStore): readonly LogEntry[] {
  return useSyncExternalStore(store.subscribe, store.entries);
}

/** A message for people from anything thrown. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
