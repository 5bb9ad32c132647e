// The contract every Studio tool implements: an entry in the icon bar, a side panel and a main
// panel. The shell owns layout, routing, theme, the node connection and the log; tools reach them
// through the hooks in this folder and own nothing global.

import type { ComponentType } from 'react';

/** The part of the location hash a tool sees: `#/block/12` is `{ segments: ['block', '12'] }`. */
export type Route = { segments: string[]; query: URLSearchParams };

export type ToolProps = { route: Route };

export type Tool = {
  /** Stable id: the hash route `#/<id>` opens the tool; lower case, no slashes. */
  id: string;
  title: string;
  /** A small inline icon (16-24 px, currentColor). */
  icon: ComponentType;
  /** First route segments the tool answers besides its id (e.g. the explorer's `block`, `tx`). */
  routes?: string[];
  SidePanel: ComponentType<ToolProps>;
  MainPanel: ComponentType<ToolProps>;
};

/** The tool that owns a route: by id or declared segment, else the first (default) tool. */
export function toolForRoute(tools: readonly Tool[], route: Route): Tool {
  const first = route.segments[0];
  if (first === undefined) return tools[0]!;
  return tools.find((t) => t.id === first || t.routes?.includes(first)) ?? tools[0]!;
}
