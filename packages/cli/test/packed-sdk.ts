// The SDK as a dApp developer gets it: the packages built and packed by scripts/build-packages.ts
// (the tarballs `npm publish` would upload), installed with npm into a fresh project outside the
// repository. Used by examples.test.ts.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');

export type Run = { code: number | null; stdout: string; stderr: string };

/** Runs a command to its end, collecting its output (no shell). */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function mustRun(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await runCommand(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * Builds and packs the published packages into `<dir>/tarballs` (staging in `<dir>/stage`), then
 * makes `<dir>/app`, a new npm project, and installs the tarballs there as a user would (with
 * `alsoInstall`, registry packages a user adds beside them, e.g. viem): npm resolves their
 * third-party dependencies from the registry (its cache first).
 */
export async function installPackedSdk(
  dir: string,
  alsoInstall: string[] = [],
): Promise<{ app: string; tarballs: string[]; stage: string }> {
  const stage = join(dir, 'stage');
  const packDir = join(dir, 'tarballs');
  await mustRun(process.execPath, [
    join(ROOT, 'scripts', 'build-packages.ts'),
    '--out',
    stage,
    '--pack',
    packDir,
  ]);
  const tarballs = readdirSync(packDir)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(packDir, f));
  const app = join(dir, 'app');
  mkdirSync(app, { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'aivm-packed-sdk-check', private: true, type: 'module' }, null, 2)}\n`,
  );
  await mustRun(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs, ...alsoInstall],
    {
      cwd: app,
    },
  );
  return { app, tarballs, stage };
}

/**
 * Another Node.js than the one running the tests (which the repository pins to 24), of major
 * version 20 or more: the system's, found on PATH outside node_modules. Undefined when there is none.
 */
export function otherNode(): { path: string; version: string } | undefined {
  const seen = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue;
    const path = join(dir, 'node');
    if (seen.has(path)) continue;
    seen.add(path);
    const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const version = r.stdout.trim();
    const major = Number(/^v(\d+)\./.exec(version)?.[1]);
    if (major >= 20 && version !== process.version) return { path, version };
  }
  return undefined;
}
