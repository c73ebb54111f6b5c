/**
 * The built web UI (web-ui/dist), read into memory once at start: a few hundred KB of files, served without a
 * disk read per request and with an ETag each. Bounded: a directory that is not a UI build is refused.
 */

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface UiFile {
  body: Buffer;
  contentType: string;
  etag: string;
  /** Vite names assets by their content hash: they can be cached for good. */
  immutable: boolean;
}

export type UiFiles = Map<string, UiFile>;

/** Where `npm run build` puts the UI, seen from this file's compiled place (query-engine/dist/src/ui). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../../web-ui/dist/', import.meta.url));

const MAX_FILES = 500;
const MAX_TOTAL_BYTES = 50 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}

/** The UI build in `dir`, keyed by URL path ("/index.html", "/assets/index-abc.js"); null when not built. */
export async function loadUiFiles(dir: string): Promise<UiFiles | null> {
  let names: string[];
  try {
    names = await listFiles(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (!names.some((name) => path.relative(dir, name) === 'index.html')) return null;
  if (names.length > MAX_FILES) throw new Error(`${dir}: ${names.length} files, more than a UI build has`);
  const files: UiFiles = new Map();
  let total = 0;
  for (const name of names) {
    const body = await fs.readFile(name);
    total += body.length;
    if (total > MAX_TOTAL_BYTES)
      throw new Error(`${dir}: more than ${MAX_TOTAL_BYTES} bytes, not a UI build`);
    const urlPath = `/${path.relative(dir, name).split(path.sep).join('/')}`;
    files.set(urlPath, {
      body,
      contentType: CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream',
      etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`,
      immutable: urlPath.startsWith('/assets/'),
    });
  }
  return files;
}
