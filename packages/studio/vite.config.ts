// Vite build of AIVM Studio: a static single-page app in dist/, served by the node at / (staticDir).
// Relative asset URLs (base './') so the same build works wherever a node serves it.

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  base: './',
  plugins: [react()],
  resolve: { conditions: ['browser'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
    reportCompressedSize: false,
  },
  // The Models tool's worker imports @aivm/zk lazily: code-splitting needs ES-module workers.
  worker: { format: 'es' },
  server: { host: '127.0.0.1' },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    setupFiles: ['src/test-setup.ts'],
  },
});
