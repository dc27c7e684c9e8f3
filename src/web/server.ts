import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { existsSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants as zlibConstants, gunzip, gzip } from 'node:zlib';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { lookup as lookupType } from 'mrmime';
import { ServeError } from '../errors.js';

/**
 * `digits serve`: the kiosk page (web-dist/) and the model files (models/) as static files, nothing
 * else. The page does all the compute in the browser, so the server never parses audio or models
 * and needs no request bodies at all; everything that is not a small GET/HEAD is refused early.
 */
export interface ServeOptions {
  /** Built app (output of `npm run build:web`). */
  root: string;
  /** Folder of *.onnx models (+ cards); served flat under /models/. */
  modelsDir: string;
  port?: number;
  host?: string;
  /** Limits; defaults suit a kiosk on a LAN. */
  limits?: Partial<ServeLimits>;
  /**
   * Serve https with this certificate chain and private key (PEM): browsers allow the microphone only
   * in a secure context, so a kiosk on another machine than the server needs it.
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface ServeLimits {
  /** Longest accepted request target (path + query), in characters. */
  maxUrlLength: number;
  /** Total size of the request line and headers, in bytes (Node answers 431 beyond it). */
  maxHeaderBytes: number;
  /** Time a client gets to send its complete headers (slowloris guard), ms. */
  headersTimeoutMs: number;
  /** Time for a whole request/response exchange, ms. */
  requestTimeoutMs: number;
  /** A socket with no traffic for this long is closed (slow readers, idle keep-alive), ms. */
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Longest time one response may take to go out, ms: a client reading a trickle cannot hold it forever. */
  responseTimeoutMs: number;
  maxConnections: number;
  /**
   * Open connections one client address may hold: one client holding all maxConnections (half-sent
   * requests) would lock everyone else out until the headers timeout, again and again. On a
   * loopback bind every client shares the address, so it matters for --host beyond this machine.
   */
  maxConnectionsPerClient: number;
  /**
   * Bytes of app and model files (each encoding counted) kept in memory to answer from; the least
   * recently requested are dropped beyond it and read again when asked for.
   */
  maxCacheBytes: number;
}

const DEFAULT_LIMITS: Readonly<ServeLimits> = Object.freeze({
  maxUrlLength: 2048,
  maxHeaderBytes: 8192,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  responseTimeoutMs: 120_000,
  maxConnections: 256,
  maxConnectionsPerClient: 64,
  maxCacheBytes: 128 * 1024 * 1024,
});

export interface RunningServer {
  server: Server;
  /** e.g. http://127.0.0.1:8080 (loopback for a bind to every interface, 0.0.0.0 or ::); https with `tls` */
  url: string;
  /** Serving https (ServeOptions.tls). */
  secure: boolean;
  port: number;
  host: string;
  /** The address bound, as the system reports it (e.g. 0.0.0.0 for a --host of 0, :: for ::0). */
  address: string;
  /** Bound to a loopback address: only this machine reaches it, and only by a loopback Host name. */
  loopbackOnly: boolean;
  /** Bound to every interface (0.0.0.0 or ::): other machines reach it through this machine's addresses. */
  everyInterface: boolean;
  close(): Promise<void>;
}

// 'wasm-unsafe-eval': ORT web and the emscripten DSP module compile WebAssembly from bytes.
// connect-src data: the emscripten DSP module embeds its wasm as a data: URL and fetches it.
// blob: workers: none today (ORT runs single-threaded, no proxy worker), so workers are same-origin only.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'microphone=(self), camera=(), geolocation=(), usb=(), payment=()',
  'X-Frame-Options': 'DENY',
};

/** What /models/ serves: the models and their cards (README-style .card.md, .card.json), no other file of the folder. */
const MODEL_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(onnx|card\.json|card\.md)$/;
const MODEL_TYPES: Record<string, string> = {
  onnx: 'application/octet-stream',
  json: 'application/json; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
};
/** Model files are served (from memory, compressed once) up to this size; larger ones are neither listed nor served. */
const MAX_COMPRESSED_MODEL_BYTES = 64 * 1024 * 1024;

const brotliAsync = promisify(brotliCompress);
const brotliDecompressAsync = promisify(brotliDecompress);
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

type Encoding = 'identity' | 'br' | 'gzip';

/** Where a file's encodings come from: each one read from disk if given, else made from the others. */
interface EncodingSources {
  identity?: string;
  br?: string;
  gzip?: string;
}

/** One version of a file; each encoding is read or made the first time a request needs it, then kept while the cache has room. */
interface EncodedFile {
  /** Size and mtime of each file it comes from: a new version (any of them rewritten) gets a new entry. */
  version: string;
  /** The identity bytes' length when known without decoding (a compressed copy is sent only if smaller). */
  identityBytes: number | undefined;
  /** The encodings it goes out in: every one for a compressible file, else those on disk (an image is sent as it is). */
  encodings: ReadonlySet<Encoding>;
  get(encoding: Encoding): Promise<Buffer>;
}

const brotliOptions = (n: number) => ({ params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: n } });

/**
 * The files a server sends, in memory: each file version is encoded once per encoding, and
 * concurrent requests share the work. A failed read or encoding (a corrupt .br) is forgotten, so
 * the next request tries again. Brotli quality 9 is most of q11's gain at a fraction of its time.
 * The bytes held stay under `maxBytes`: the least recently requested file versions are dropped
 * first (a request in flight keeps the bytes it has; the next one reads them again), never the
 * most recently requested one, so a file larger than the whole budget is still served, and bytes
 * arriving late for an older request cannot push out a newer file. `forget` drops the
 * files no longer served (a rebuild's old hashed assets). Keys are the callers' own.
 */
export function createEncodingCache(maxBytes: number) {
  /** Least recently requested first: a hit moves its entry to the end. */
  const cache = new Map<string, EncodedFile & { bytes: number; dropped: boolean }>();
  let held = 0;
  const drop = (key: string): void => {
    const entry = cache.get(key);
    if (!entry) return;
    cache.delete(key);
    held -= entry.bytes;
    entry.dropped = true;
  };
  /** Drops the least recently requested entries until the bytes fit, never the most recent one. */
  const trim = (): void => {
    const newest = [...cache.keys()].at(-1);
    for (const key of cache.keys()) {
      if (held <= maxBytes || key === newest) return;
      drop(key);
    }
  };
  /** `stats` of `sources`, in identity, br, gzip order; throws when one cannot be read (a 404 for the caller). */
  const lookup = (key: string, sources: EncodingSources, stats: Stats[], compressible: boolean): EncodedFile => {
    const version = stats.map((st) => `${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}`).join('.');
    const hit = cache.get(key);
    if (hit?.version === version) {
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    drop(key);
    const made = new Map<Encoding, Promise<Buffer>>();
    const make = async (encoding: Encoding): Promise<Buffer> => {
      const file = sources[encoding];
      if (file) return readFile(file);
      if (encoding === 'identity') return sources.br ? brotliDecompressAsync(await readFile(sources.br)) : gunzipAsync(await readFile(sources.gzip!));
      const identity = await get('identity');
      return encoding === 'br' ? brotliAsync(identity, brotliOptions(identity.length)) : gzipAsync(identity, { level: 9 });
    };
    const get = (encoding: Encoding): Promise<Buffer> => {
      let job = made.get(encoding);
      if (!job) {
        job = make(encoding);
        made.set(encoding, job);
        job.then(
          (bytes) => {
            if (entry.dropped) return;
            entry.bytes += bytes.length;
            held += bytes.length;
            trim();
          },
          () => made.delete(encoding),
        );
      }
      return job;
    };
    const onDisk = (['identity', 'br', 'gzip'] as const).filter((e) => sources[e]);
    const encodings = new Set<Encoding>(compressible ? ['identity', 'br', 'gzip'] : onDisk.includes('identity') ? onDisk : ['identity', ...onDisk]);
    const entry = { version, identityBytes: sources.identity ? stats[0].size : undefined, encodings, get, bytes: 0, dropped: false };
    cache.set(key, entry);
    return entry;
  };
  lookup.forget = (keep: (key: string) => boolean): void => {
    for (const key of cache.keys()) if (!keep(key)) drop(key);
  };
  /** Bytes held now. */
  lookup.heldBytes = (): number => held;
  return lookup;
}

/** The ETags of an If-None-Match header (weak ones compared by their value, as RFC 9110 says for GET). */
function requestedTags(req: IncomingMessage): string[] {
  const header = req.headers['if-none-match'];
  return typeof header === 'string' ? header.split(',').map((t) => t.trim().replace(/^W\//, '')) : [];
}

/**
 * A 304 when the request's If-None-Match holds one of `tags` (or `*`: the first of them), with that
 * ETag and `headers`; false (nothing sent) otherwise.
 */
function answeredNotModified(req: IncomingMessage, res: ServerResponse, tags: readonly string[], headers: Record<string, string | number>): boolean {
  const held = requestedTags(req).find((t) => t === '*' || tags.includes(t));
  if (held === undefined) return false;
  res.writeHead(304, { ...headers, ETag: held === '*' ? tags[0] : held });
  res.end();
  return true;
}

/**
 * Answers with the encoding the client prefers among those it accepts (br, then gzip), or the
 * identity bytes when compressing did not make them smaller; 304 when it holds that encoding's ETag.
 */
export async function sendEncoded(req: IncomingMessage, res: ServerResponse, file: EncodedFile, headers: Record<string, string | number>): Promise<void> {
  const offers = (e: Encoding) => file.encodings.has(e) && acceptsEncoding(req, e);
  let encoding: Encoding = offers('br') ? 'br' : offers('gzip') ? 'gzip' : 'identity';
  // Each encoding is its own representation, with its own strong ETag.
  const etagOf = (e: Encoding) => `"${file.version}${e === 'identity' ? '' : `-${e}`}"`;
  headers = { ...headers, Vary: 'Accept-Encoding' };
  // Answered before any bytes are read or compressed (the file may have left the cache): a client
  // holding this version in the encoding it would get, or as identity bytes, has all it needs.
  if (answeredNotModified(req, res, [etagOf(encoding), etagOf('identity')], headers)) return;
  let body = await file.get(encoding);
  if (encoding !== 'identity' && file.identityBytes !== undefined && body.length >= file.identityBytes) {
    encoding = 'identity';
    body = await file.get('identity');
  }
  headers.ETag = etagOf(encoding);
  if (encoding !== 'identity') headers['Content-Encoding'] = encoding;
  headers['Content-Length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A path is refused outright if, once decoded, it could climb out of its folder or smuggle bytes. */
export function isSuspiciousPath(rawPath: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
    // Double-encoded dots (%252e) climb out once a second decoder sees them.
    if (decoded.includes('%')) decoded = decodeURIComponent(decoded);
  } catch {
    return true;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return true;
  return decoded.split('/').some((seg) => seg === '..' || seg === '.');
}

function refuse(res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'close', ...extra });
  res.end(`${status} ${message}\n`);
}

function acceptsEncoding(req: IncomingMessage, name: string): boolean {
  const header = req.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [token, ...params] = part.trim().split(';');
    if (token.trim().toLowerCase() !== name) return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

const rank = (name: string) => (name === 'default.int8.onnx' ? 0 : name === 'default.onnx' ? 1 : 2);

/**
 * An entry of the models folder as /models/ serves it (links are followed): its stats, or why it is not served.
 * One stat, shared by the listing and the request: a file removed meanwhile is "cannot be read", not an error.
 */
function modelFile(modelsDir: string, name: string): { stats: Stats; why: null } | { stats: null; why: string } {
  if (!MODEL_FILE.test(name)) return { stats: null, why: 'its name is not served (letters, digits, ".", "_" and "-" only, starting with a letter or digit, at most 128 before the extension)' };
  let stats: Stats;
  try {
    stats = statSync(join(modelsDir, name));
  } catch {
    return { stats: null, why: 'it cannot be read (a broken link, or removed)' };
  }
  if (!stats.isFile()) return { stats: null, why: 'it is not a regular file' };
  if (stats.size > MAX_COMPRESSED_MODEL_BYTES) return { stats: null, why: `it is over ${MAX_COMPRESSED_MODEL_BYTES >> 20} MiB` };
  return { stats, why: null };
}

/**
 * The .onnx models of the folder as the page's model picker lists them, and those it cannot serve with the reason
 * (for the operator: `digits serve` names them when it starts).
 */
export function scanModels(modelsDir: string): { served: { name: string; bytes: number }[]; unserved: { name: string; why: string }[] } {
  const served: { name: string; bytes: number }[] = [];
  const unserved: { name: string; why: string }[] = [];
  let names: string[];
  try {
    names = readdirSync(modelsDir);
  } catch {
    return { served, unserved }; // no folder (any more): nothing to serve
  }
  for (const name of names) {
    if (!name.endsWith('.onnx')) continue;
    const file = modelFile(modelsDir, name);
    if (file.why !== null) unserved.push({ name, why: file.why });
    else served.push({ name, bytes: file.stats.size });
  }
  // The page takes the first entry by default: the shipped int8 model, then fp32, then the rest.
  served.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  return { served, unserved };
}

type EncodingCache = ReturnType<typeof createEncodingCache>;

function createModelHandler(modelsDir: string, encoded: EncodingCache) {

  return async (req: IncomingMessage, res: ServerResponse, name: string): Promise<void> => {
    if (name === 'index.json') {
      const body = JSON.stringify({ models: scanModels(modelsDir).served });
      // Listed afresh on every request; tagged by its content, so a revalidation that finds the same list is a 304.
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      const headers = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' };
      if (answeredNotModified(req, res, [etag], headers)) return;
      res.writeHead(200, { ...headers, ETag: etag, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const { stats } = modelFile(modelsDir, name);
    if (!stats) return refuse(res, 404, 'Not Found');
    const abs = join(modelsDir, name);
    const type = MODEL_TYPES[name.slice(name.lastIndexOf('.') + 1)];
    // Models keep their names across retraining, so the browser must revalidate (ETag makes that cheap).
    await sendEncoded(req, res, encoded(`model:${name}`, { identity: abs }, [stats], true), { 'Content-Type': type, 'Cache-Control': 'no-cache' });
  };
}

/** Cache policy by path: content-hashed build assets never change; everything else revalidates. */
function cacheControlFor(pathname: string): string {
  if (pathname.startsWith('/assets/')) return 'public, max-age=31536000, immutable';
  return 'no-cache';
}

/** The app's own types, with charsets; others come from mrmime's table, and are compressed only when they are text. */
const APP_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  json: 'application/json; charset=utf-8',
  webmanifest: 'application/manifest+json',
  wasm: 'application/wasm',
  txt: 'text/plain; charset=utf-8',
  map: 'application/json; charset=utf-8',
};

function appFileType(file: string): { type: string; compressible: boolean } {
  const ext = extname(file).slice(1).toLowerCase();
  if (APP_TYPES[ext]) return { type: APP_TYPES[ext], compressible: true };
  const type = lookupType(ext) ?? 'application/octet-stream';
  return { type, compressible: type.startsWith('text/') || /[+/](xml|json)$/.test(type) };
}

/** App files are served up to this size (from memory); encodings the folder does not hold are made only for files up to MAX_ENCODE_BYTES. */
const MAX_APP_FILE_BYTES = 64 * 1024 * 1024;
const MAX_ENCODE_BYTES = 16 * 1024 * 1024;

/**
 * The app's files by URL path, each with its encodings on disk (`name`, `name.br`, `name.gz`). Dot
 * files are left out; symbolic links are followed, each real folder walked once, and a link that
 * leads back into a folder being walked is an error (a loop). Only files in this index are served.
 */
function indexApp(root: string): Map<string, EncodingSources> {
  const files = new Set<string>();
  const visited = new Set<string>();
  const walk = (dir: string, walking: Set<string>): void => {
    const real = realpathSync(dir);
    if (walking.has(real)) throw Object.assign(new Error(`${dir} leads back to ${real}`), { code: 'ELOOP' });
    if (visited.has(real)) return;
    visited.add(real);
    walking.add(real);
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const abs = join(dir, name);
      const stats = statSync(abs, { throwIfNoEntry: false });
      if (stats?.isDirectory()) walk(abs, walking);
      else if (stats?.isFile()) files.add(abs);
    }
    walking.delete(real);
  };
  walk(root, new Set());
  const urlPath = (abs: string) => '/' + relative(root, abs).split(sep).join('/');
  const index = new Map<string, EncodingSources>();
  for (const file of files) {
    const base = file.replace(/\.(br|gz)$/, '');
    if (index.has(urlPath(base))) continue;
    // Compressed copies are the build's for the app's own types; other .br/.gz files are files of their own.
    if (!APP_TYPES[extname(base).slice(1)]) {
      if (files.has(base)) index.set(urlPath(base), { identity: base });
      continue;
    }
    index.set(urlPath(base), {
      identity: files.has(base) ? base : undefined,
      br: files.has(`${base}.br`) ? `${base}.br` : undefined,
      gzip: files.has(`${base}.gz`) ? `${base}.gz` : undefined,
    });
  }
  for (const file of files) if (/\.(br|gz)$/.test(file) && !index.has(urlPath(file))) index.set(urlPath(file), { identity: file });
  return index;
}

/**
 * The app's files, from an index of the folder made at start-up and made again when a path is
 * missing and the folder was rebuilt since (its own or index.html's mtime changed; at most once a
 * second), so a rebuild beside a running server is served, and a made-up path costs a stat, not a
 * walk. Each file goes out whole from memory in the encoding the client prefers (see
 * createEncodingCache; a file rewritten is read anew by its size and mtime): no file stream is left
 * open by a client that goes away, and a file that cannot be read is a 404 or 500 for that request,
 * never a crash. (sirv, used before, leaked a file descriptor per aborted download, took the server
 * down on an unreadable file, and served a file with its start-up length.) Files over
 * MAX_APP_FILE_BYTES are not served.
 */
function createAppHandler(root: string, encoded: EncodingCache) {
  const stamp = () => [root, join(root, 'index.html')].map((f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0).join();
  let index = indexApp(root);
  let indexed = { at: Date.now(), stamp: stamp() };
  const find = (pathname: string): [string, EncodingSources] | undefined => {
    const folder = pathname.replace(/\/$/, '');
    for (const c of [pathname, `${pathname}.html`, `${pathname}.htm`, `${folder}/index.html`, `${folder}/index.htm`]) {
      const sources = index.get(c);
      if (sources) return [c, sources];
    }
    return undefined;
  };
  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    let hit = find(pathname);
    if (!hit && Date.now() - indexed.at >= 1000) {
      const now = stamp();
      indexed.at = Date.now();
      if (now !== indexed.stamp) {
        try {
          index = indexApp(root);
          encoded.forget((key) => !key.startsWith('app:') || index.has(key.slice('app:'.length)));
          indexed.stamp = now;
        } catch {
          // A folder that cannot be walked now (a rebuild half done) keeps the index it had, and is tried again.
        }
        hit = find(pathname);
      }
    }
    if (!hit) return refuse(res, 404, 'Not Found');
    const [file, sources] = hit;
    let stats: Stats[];
    try {
      stats = (['identity', 'br', 'gzip'] as const).flatMap((e) => (sources[e] ? [statSync(sources[e]!)] : []));
      if (!stats.every((st) => st.isFile()) || stats.some((st) => st.size > MAX_APP_FILE_BYTES)) throw new Error('not served');
    } catch {
      return refuse(res, 404, 'Not Found');
    }
    const { type, compressible } = appFileType(file);
    const headers = { 'Content-Type': type, 'Cache-Control': cacheControlFor(file) };
    await sendEncoded(req, res, encoded(`app:${file}`, sources, stats, compressible && stats[0].size <= MAX_ENCODE_BYTES), headers);
  };
}

/** Host header names (besides loopback addresses) that mean "this machine"; anything else reaching a loopback bind is a rebinding attempt. */
const LOOPBACK_NAMES = new Set(['localhost']);

/** The name in a Host header without its port (an IPv6 address without its brackets), or undefined when the header is not `name[:port]`. */
function hostName(header: string | undefined): string | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(header?.trim().toLowerCase() ?? '');
  return m ? (m[1] ?? m[2]) : undefined;
}

function createRequestHandler(
  options: Pick<ServeOptions, 'root' | 'modelsDir'> & { limits?: Partial<ServeLimits>; bind: { loopbackOnly: boolean } },
) {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const root = resolve(options.root);
  const modelsDir = resolve(options.modelsDir);
  if (!existsSync(join(root, 'index.html'))) {
    throw new ServeError(`no built web app in ${root} (index.html is missing); run \`npm run build:web\` first, or pass --root`);
  }
  const cache = createEncodingCache(limits.maxCacheBytes);
  // Only files in the folder's index are served, so no request path can reach a file outside it.
  let app: ReturnType<typeof createAppHandler>;
  try {
    app = createAppHandler(root, cache);
  } catch (err) {
    // e.g. ELOOP from a symlink loop under the root: say so instead of crashing untyped.
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ELOOP' ? 'it contains a symbolic link loop' : e.message.split('\n')[0].slice(0, 300);
    throw new ServeError(`cannot index the web app folder ${root}: ${why}; remove the link or pass another --root`, { cause: err });
  }
  const models = createModelHandler(modelsDir, cache);

  return (req: IncomingMessage, res: ServerResponse): void => {
    const deadline = setTimeout(() => res.destroy(), limits.responseTimeoutMs);
    deadline.unref();
    res.once('close', () => clearTimeout(deadline));
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const url = req.url ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
    // DNS rebinding: a web page whose name now points at 127.0.0.1 must not read a loopback-only server.
    if (options.bind.loopbackOnly) {
      const name = hostName(req.headers.host);
      // 127.x.y.z only as an address: a name such as 127.attacker.example is the attacker's own.
      if (name === undefined || !(LOOPBACK_NAMES.has(name) || isLoopbackAddress(name))) return refuse(res, 403, 'Forbidden: unexpected Host');
    }
    if (url.length > limits.maxUrlLength) return refuse(res, 414, 'URI Too Long');
    // Static files take no body; refusing here stops a client from streaming one at us.
    const declared = req.headers['content-length'];
    if ((declared !== undefined && declared !== '0') || req.headers['transfer-encoding'] !== undefined) {
      return refuse(res, 413, 'Content Too Large');
    }
    if (!url.startsWith('/')) return refuse(res, 400, 'Bad Request');
    const pathname = url.split('?')[0].split('#')[0];
    if (isSuspiciousPath(pathname)) return refuse(res, 400, 'Bad Request');
    // Every response is the whole file (a Range header is ignored, as RFC 9110 allows): a static kiosk page needs no ranges.
    const served = pathname.startsWith('/models/') ? models(req, res, decodeURIComponent(pathname.slice('/models/'.length))) : app(req, res, decodeURIComponent(pathname));
    served.catch(() => refuse(res, 500, 'Internal Server Error'));
  };
}

/** A loopback address as the system reports a bound one (127.0.0.1 for a --host of localhost or 127.1). */
function isLoopbackAddress(address: string): boolean {
  const v4 = /^::ffff:/i.test(address) && isIP(address.slice(7)) === 4 ? address.slice(7) : address; // IPv4-mapped IPv6
  return v4 === '::1' || (isIP(v4) === 4 && v4.startsWith('127.'));
}

/** The URL of a server at `host` (a name or an address; IPv6 in brackets) and `port`. */
function httpUrl(host: string, port: number, secure = false): string {
  return `${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The TLS options, checked before the server starts: a certificate and key Node cannot use is a ServeError saying which. */
function tlsOptions(tls: ServeOptions['tls']): { cert: string | Buffer; key: string | Buffer } | null {
  if (tls === undefined) return null;
  if (tls === null || typeof tls !== 'object' || !tls.cert || !tls.key) throw new ServeError('tls needs both a certificate (cert) and its private key (key), in PEM');
  // Each file checked alone first, so the message names the one that is wrong (OpenSSL's own words do not).
  const fail = (which: string, err: unknown): never => {
    throw new ServeError(`cannot serve https: ${which} (${(err as Error).message})`, { cause: err });
  };
  try {
    createPrivateKey(tls.key);
  } catch (err) {
    fail('the private key is not a PEM key Node can use', err);
  }
  try {
    new X509Certificate(tls.cert);
  } catch (err) {
    fail('the certificate is not a PEM certificate Node can use', err);
  }
  try {
    createSecureContext({ cert: tls.cert, key: tls.key });
  } catch (err) {
    fail(/key values mismatch/i.test((err as Error).message) ? "the private key is not the certificate's" : 'the certificate and key cannot be used together', err);
  }
  return { cert: tls.cert, key: tls.key };
}

/** Starts the server; resolves once it listens. Default bind is loopback only. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ServeError(`port ${port} must be an integer in 0..65535`);
  // An empty host binds every interface (Node's default), the opposite of what an unset variable meant.
  if (host.trim() === '') throw new ServeError("host is empty; give an address (127.0.0.1 for this machine only, 0.0.0.0 for every interface)");
  // Which Host names to answer depends on the address the system binds (a --host of 0 or 127.1 is
  // only known once bound); until then every request gets the strict loopback check.
  const bind = { loopbackOnly: true };
  const tls = tlsOptions(options.tls);
  const handler = createRequestHandler({ ...options, bind });
  const httpOptions: ServerOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Never let a malformed request reach the handler half-parsed.
    insecureHTTPParser: false,
    // Node checks headersTimeout/requestTimeout on this interval; the default (30 s) is too coarse.
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
  // A connection that never starts its TLS handshake is dropped as one that never sends its headers is.
  const server: Server = tls ? createTlsServer({ ...httpOptions, ...tls, handshakeTimeout: limits.headersTimeoutMs }, handler) : createServer(httpOptions, handler);
  // A client that fails the TLS handshake (plain http to the https port, a distrusted certificate) is dropped.
  if (tls) server.on('tlsClientError', (_err: Error, socket: { destroy(): void }) => socket.destroy());
  server.maxConnections = limits.maxConnections;
  const perClient = new Map<string, number>();
  // Every open TCP connection, HTTP or not yet (one mid-TLS-handshake is unknown to closeAllConnections), so close() ends them all.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const address = socket.remoteAddress ?? '';
    const open = (perClient.get(address) ?? 0) + 1;
    if (open > limits.maxConnectionsPerClient) {
      socket.destroy();
      return;
    }
    perClient.set(address, open);
    socket.once('close', () => {
      const left = (perClient.get(address) ?? 1) - 1;
      if (left > 0) perClient.set(address, left);
      else perClient.delete(address);
    });
  });
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' :
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    // end() alone leaves the socket half-open for as long as a slow client keeps trickling bytes.
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
    else socket.destroy();
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use; pick another with --port` :
        err.code === 'EACCES' ? `no permission to listen on port ${port}; use a port above 1023` :
        err.code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine; check --host` : err.message;
      rejectListen(new ServeError(`cannot listen on ${host}:${port}: ${hint}`, { cause: err }));
    });
    server.listen(port, host, () => resolveListen());
  });
  const bound = server.address() as AddressInfo;
  bind.loopbackOnly = isLoopbackAddress(bound.address);
  const everyInterface = bound.address === '0.0.0.0' || bound.address === '::';
  // A wildcard bind is opened on this machine through loopback; the CLI names the other addresses.
  return {
    server,
    url: httpUrl(everyInterface ? (bound.family === 'IPv6' ? '::1' : '127.0.0.1') : host, bound.port, tls !== null),
    secure: tls !== null,
    port: bound.port,
    host,
    address: bound.address,
    loopbackOnly: bind.loopbackOnly,
    everyInterface,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
}

export { httpUrl };
