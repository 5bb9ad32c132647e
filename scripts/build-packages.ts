// Builds the packages a dApp installs — @aivm/sdk, @aivm/evm and every @aivm package they depend on —
// into the form npm publishes: JavaScript (ES2022, runs on Node 20+ and in browsers) with type
// declarations, a package.json whose exports point at them, the package README and the LICENSE. The SDK also
// gets a single-file ES module bundle for plain browser pages (dist/browser/aivm-sdk.js, exported
// as @aivm/sdk/browser).
//
//   npm run build:packages                     stage them under build/npm/<package>/
//   npm run build:packages -- --pack <dir>     and `npm pack` each into <dir> (tarballs)
//
// Inside the monorepo nothing changes: workspaces resolve to the TypeScript sources, which Node 24
// runs directly. Only the staged copies are built, so a source edit never waits for a build step.

import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const SCOPE = '@aivm/';
/**
 * The packages dApps import (the AIVM SDK, and the one for EVM chains); the build takes them and
 * the closure of their @aivm dependencies.
 */
const ENTRY_PACKAGES = ['sdk', 'evm'];
/** The package that also gets the single-file browser bundle. */
const BUNDLED_PACKAGE = 'sdk';
const MIN_NODE = '>=20';
/** Where the entry package's single-file browser bundle goes (exported as `<package>/browser`). */
const BROWSER_BUNDLE = 'dist/browser/aivm-sdk.js';

type Exports = string | { [condition: string]: Exports };
type Manifest = {
  name: string;
  version: string;
  description?: string;
  private?: boolean;
  type?: string;
  exports: Record<string, Exports>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  /** Folders besides src that the package needs at run time (e.g. Solidity sources). */
  files?: string[];
  scripts?: Record<string, string>;
};

const readManifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as Manifest;

/** The folder names under packages/ of ENTRY_PACKAGES and their @aivm dependencies, dependencies first. */
export function publishedPackages(): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (dir: string): void => {
    if (order.includes(dir)) return;
    if (visiting.has(dir)) throw new Error(`dependency cycle through @aivm/${dir}`);
    visiting.add(dir);
    for (const dep of Object.keys(readManifest(dir).dependencies ?? {}))
      if (dep.startsWith(SCOPE)) visit(dep.slice(SCOPE.length));
    visiting.delete(dir);
    order.push(dir);
  };
  for (const entry of ENTRY_PACKAGES) visit(entry);
  return order;
}

/** `./src/a/b.ts` → `./dist/a/b` (the built file without its extension). */
function builtPath(source: string): string {
  const m = /^\.\/src\/(.+)\.ts$/.exec(source);
  if (!m) throw new Error(`export target ${source} is not a ./src/**/*.ts file`);
  return `./dist/${m[1]}`;
}

/** The published exports: each source target becomes its .js, with its .d.ts as the `types` condition first. */
export function publishedExports(exports: Record<string, Exports>): Record<string, Exports> {
  const leaf = (target: Exports): Exports => {
    if (typeof target === 'string') return `${builtPath(target)}.js`;
    return Object.fromEntries(Object.entries(target).map(([cond, t]) => [cond, leaf(t)]));
  };
  const typesOf = (target: Exports): string => {
    if (typeof target === 'string') return `${builtPath(target)}.d.ts`;
    const def = target.default ?? Object.values(target)[0];
    if (def === undefined) throw new Error('an export with no target');
    return typesOf(def);
  };
  return Object.fromEntries(
    Object.entries(exports).map(([path, target]): [string, Exports] => {
      const built = leaf(target);
      return [path, { types: typesOf(target), ...(typeof built === 'string' ? { default: built } : built) }];
    }),
  );
}

/** The package.json npm publishes for a workspace package. */
export function publishedManifest(m: Manifest, versions: Map<string, string>): Record<string, unknown> {
  if (!m.description) throw new Error(`${m.name} has no description in its package.json`);
  const dependencies = Object.fromEntries(
    Object.entries(m.dependencies ?? {}).map(([name, range]) => {
      if (!name.startsWith(SCOPE)) return [name, range];
      const version = versions.get(name);
      if (!version) throw new Error(`${m.name} depends on ${name}, which is not built`);
      return [name, version]; // the packages are released together: pin the exact version
    }),
  );
  return {
    name: m.name,
    version: m.version,
    description: m.description,
    license: 'Apache-2.0',
    type: 'module',
    engines: { node: MIN_NODE },
    exports: publishedExports(m.exports),
    files: ['dist', ...extraFiles(m)],
    dependencies,
    // Optional peers: what only one entry needs (solc, for compiling Solidity in Node).
    ...(m.peerDependencies ? { peerDependencies: m.peerDependencies } : {}),
    ...(m.peerDependenciesMeta ? { peerDependenciesMeta: m.peerDependenciesMeta } : {}),
  };
}

/** The package's `files` besides `src` (built into dist): folders its code reads at run time. */
function extraFiles(m: Manifest): string[] {
  return (m.files ?? []).filter((f) => f !== 'src' && !f.startsWith('src/'));
}

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

/** The package name of a bare import specifier (`@scope/name/sub` → `@scope/name`). */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/**
 * Every package a staged package's JavaScript imports must be one it declares (a dependency or a
 * peer), itself, or a Node built-in: otherwise it would install and then fail on first import.
 */
export function undeclaredImports(stage: string, manifest: Record<string, unknown>): string[] {
  const declared = new Set([
    manifest.name as string,
    ...Object.keys((manifest.dependencies as Record<string, string>) ?? {}),
    ...Object.keys((manifest.peerDependencies as Record<string, string>) ?? {}),
  ]);
  const missing = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js') && !p.includes(`${join('dist', 'browser')}`)) {
        for (const m of readFileSync(p, 'utf8').matchAll(IMPORT_RE)) {
          const spec = m[1] ?? m[2] ?? m[3]!;
          if (spec.startsWith('.') || spec.startsWith('node:') || isBuiltin(spec)) continue;
          if (!declared.has(packageOf(spec))) missing.add(`${packageOf(spec)} (${relative(stage, p)})`);
        }
      }
    }
  };
  walk(join(stage, 'dist'));
  return [...missing].sort();
}

function run(cmd: string, args: string[], cwd = ROOT): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function step(what: string): () => void {
  const started = performance.now();
  process.stdout.write(`${what}… `);
  return () => console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      out: { type: 'string', default: join(ROOT, 'build', 'npm') },
      pack: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (args.help) {
    console.log('usage: npm run build:packages [-- --out <dir>] [-- --pack <tarball dir>]');
    return;
  }
  const out = resolve(args.out!);
  const dirs = publishedPackages();
  const manifests = new Map(dirs.map((d) => [d, readManifest(d)]));
  const versions = new Map([...manifests.values()].map((m) => [m.name, m.version]));
  console.log(`packages: ${[...versions.keys()].join(', ')}`);

  // One tsc program over every published package: their sources import each other by package
  // name, which tsc follows into the sibling sources; emitting them together keeps each file
  // under its own package folder (build/tsc/<package>/src/...).
  const tscOut = join(ROOT, 'build', 'tsc');
  rmSync(tscOut, { recursive: true, force: true });
  mkdirSync(join(ROOT, 'build'), { recursive: true });
  const tsconfig = join(ROOT, 'build', 'tsconfig.packages.json');
  writeFileSync(
    tsconfig,
    JSON.stringify(
      {
        extends: '../tsconfig.json',
        compilerOptions: {
          noEmit: false,
          declaration: true,
          rewriteRelativeImportExtensions: true,
          // Node 20 and current browsers run ES2022 syntax; the ES2023 library keeps out runtime
          // APIs they lack (Promise.withResolvers, Object.groupBy, ...).
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          rootDir: '../packages',
          outDir: 'tsc',
        },
        include: dirs.map((d) => `../packages/${d}/src/**/*.ts`),
      },
      null,
      2,
    ),
  );
  let done = step('compiling (tsc: JavaScript and declarations)');
  run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig]);
  done();

  rmSync(out, { recursive: true, force: true });
  done = step(`staging under ${relative(ROOT, out) || out}`);
  for (const dir of dirs) {
    const m = manifests.get(dir)!;
    const stage = join(out, dir);
    const readme = join(ROOT, 'packages', dir, 'README.md');
    if (!existsSync(readme)) throw new Error(`${m.name} has no README.md`);
    cpSync(join(tscOut, dir, 'src'), join(stage, 'dist'), { recursive: true });
    for (const extra of extraFiles(m))
      cpSync(join(ROOT, 'packages', dir, extra), join(stage, extra), { recursive: true });
    cpSync(readme, join(stage, 'README.md'));
    cpSync(join(ROOT, 'LICENSE'), join(stage, 'LICENSE'));
    const manifest = publishedManifest(m, versions);
    // The browser bundle (made below) as an entry of its own, typed as the package's main entry.
    if (dir === BUNDLED_PACKAGE)
      (manifest.exports as Record<string, Exports>)['./browser'] = {
        types: './dist/index.d.ts',
        default: `./${BROWSER_BUNDLE}`,
      };
    writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const missing = undeclaredImports(stage, manifest);
    if (missing.length)
      throw new Error(`${m.name} imports packages it does not declare: ${missing.join(', ')}`);
  }
  done();

  done = step('bundling the SDK for browsers (esbuild)');
  const bundle = join(out, BUNDLED_PACKAGE, BROWSER_BUNDLE);
  await build({
    entryPoints: [join(ROOT, 'packages', BUNDLED_PACKAGE, 'src', 'index.ts')],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'linked',
    logLevel: 'error',
  });
  done();
  console.log(`  ${relative(ROOT, bundle)}: ${(statSync(bundle).size / 1024).toFixed(0)} KiB`);

  if (args.pack) {
    const packDir = resolve(args.pack);
    mkdirSync(packDir, { recursive: true });
    done = step(`packing into ${packDir}`);
    const packed: { name: string; filename: string; size: number; entryCount: number }[] = [];
    for (const dir of dirs) {
      const json = run('npm', ['pack', '--json', '--pack-destination', packDir, join(out, dir)], out);
      packed.push(...(JSON.parse(json) as typeof packed));
    }
    done();
    for (const p of packed)
      console.log(
        `  ${p.filename.padEnd(28)} ${`${(p.size / 1024).toFixed(0)} KiB`.padStart(9)} ${String(p.entryCount).padStart(5)} files`,
      );
  }
}

if (import.meta.main) await main();
