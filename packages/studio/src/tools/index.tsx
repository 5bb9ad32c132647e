// The Studio's tools, in icon-bar order; the first is the default. A new tool is a module
// implementing Tool (app/tool.ts) added here.

import type { Tool } from '../app/tool.ts';
import { explorerTool } from './explorer/index.tsx';
import { modelsTool } from './models/index.tsx';

export const TOOLS: readonly Tool[] = [explorerTool, modelsTool];
