// Loads a module the way a browser bundler would resolve it (browser export conditions, no "node")
// in a fresh child process, and reports every Node built-in its import graph touches.

import { spawnSync } from 'node:child_process';

const PROBE = `
import { builtinModules, registerHooks } from 'node:module';
const builtins = new Set();
const loaded = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const conditions = [...context.conditions.filter((c) => c !== 'node'), 'browser'];
    const r = next(specifier, { ...context, conditions });
    if (r.url.startsWith('node:') || builtinModules.includes(specifier)) builtins.add(specifier + ' <- ' + context.parentURL);
    else loaded.add(r.url);
    return r;
  },
});
const mod = await import(process.argv[1]);
console.log(JSON.stringify({ exports: Object.keys(mod).sort(), builtins: [...builtins], loaded: loaded.size }));
`;

export type BrowserProbe = { exports: string[]; builtins: string[]; loaded: number };

export function probeBrowserImport(entryPath: string): BrowserProbe {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, entryPath], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`probe failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as BrowserProbe;
}
