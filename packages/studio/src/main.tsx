// AIVM Studio's entry: applies the theme before the first paint, then mounts the app.

import { createRoot } from 'react-dom/client';
import { App } from './app/App.tsx';
import { applyTheme, initialTheme } from './app/theme.ts';
import { TOOLS } from './tools/index.tsx';
import './styles.css';

applyTheme(initialTheme());
// No StrictMode: its double effects would open and close the node connection twice on start.
createRoot(document.getElementById('root')!).render(<App tools={TOOLS} />);
