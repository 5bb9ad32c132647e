// Serves a directory of static files (AIVM Studio's build) on the RPC server's GET requests: the
// index for /, hashed assets (Vite's assets/<name>-<hash>.<ext>) cached for a year, everything
// else revalidated. Paths are resolved inside the directory and nowhere else: `..`, encoded
// separators, NUL bytes and symbolic links that lead outside are refused.

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

export const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite's content-hashed file names: safe to cache forever. */
const HASHED = /^\/assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
export const REVALIDATE_CACHE = 'no-cache';

export type StaticFiles = {
  root: string;
  /**
   * Answers a GET or HEAD for `pathname` if it names a file in the directory (`/` is index.html);
   * false (nothing sent) when it does not, so the caller answers.
   */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean>;
};

/** The file of `dir` that URL path `pathname` names, or undefined when it cannot name one. */
export function staticPath(root: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').slice(1);
  // No parent references and no hidden files (.env, .git) whatever the directory holds.
  if (segments.some((s) => s === '..' || s.startsWith('.'))) return undefined;
  const rel = decoded === '/' ? 'index.html' : segments.join(sep);
  const file = resolve(join(root, rel));
  return file.startsWith(root + sep) ? file : undefined;
}

export async function staticFiles(dir: string): Promise<StaticFiles> {
  const root = await realpath(resolve(dir));
  if (!(await stat(root)).isDirectory()) throw new Error(`${dir} is not a directory`);
  return {
    root,
    async serve(req, res, pathname) {
      const file = staticPath(root, pathname);
      if (!file) return false;
      let real: string;
      let size: number;
      let mtime: Date;
      try {
        real = await realpath(file);
        const s = await stat(real);
        if (!s.isFile()) return false;
        size = s.size;
        mtime = s.mtime;
      } catch {
        return false;
      }
      if (!real.startsWith(root + sep)) return false;
      res.writeHead(200, {
        'content-type': STATIC_TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
        'content-length': size,
        'cache-control': HASHED.test(pathname) ? IMMUTABLE_CACHE : REVALIDATE_CACHE,
        'last-modified': mtime.toUTCString(),
        'x-content-type-options': 'nosniff',
      });
      if (req.method === 'HEAD') {
        res.end();
        return true;
      }
      await new Promise<void>((ok) => {
        const stream = createReadStream(real);
        stream.on('error', () => {
          res.destroy();
          ok();
        });
        res.on('close', () => {
          stream.destroy();
          ok();
        });
        stream.pipe(res);
      });
      return true;
    },
  };
}
