import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readdirSync, statSync, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants as zlibConstants, gzip } from 'node:zlib';
import { isIP } from 'node:net';
import sirv from 'sirv';
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
});

export interface RunningServer {
  server: Server;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  host: string;
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

const MODEL_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(onnx|json|md)$/;
const MODEL_TYPES: Record<string, string> = {
  onnx: 'application/octet-stream',
  json: 'application/json; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
};
/** Compressing on the fly is worth it for model files up to this size; larger ones go out as they are. */
const MAX_COMPRESSED_MODEL_BYTES = 64 * 1024 * 1024;

const brotliAsync = promisify(brotliCompress);
const brotliDecompressAsync = promisify(brotliDecompress);
const gzipAsync = promisify(gzip);

type Encoding = 'identity' | 'br' | 'gzip';

/** Where a file's encodings come from: each one read from disk if given, else made from the others. */
interface EncodingSources {
  identity?: string;
  br?: string;
  gzip?: string;
}

/** One version of a file; each encoding is read or made the first time a request needs it, then kept. */
interface EncodedFile {
  /** Size and mtime of the file it was made from: a new version gets a new entry. */
  version: string;
  /** The identity bytes' length when known without decoding (a compressed copy is sent only if smaller). */
  identityBytes: number | undefined;
  get(encoding: Encoding): Promise<Buffer>;
}

const brotliOptions = (n: number) => ({ params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: n } });

/**
 * Each file version is encoded once per encoding and kept in memory; concurrent requests share the
 * work. A failed read or encoding (a corrupt .br) is forgotten, so the next request tries again.
 * Brotli quality 9 is most of q11's gain at a fraction of its time.
 */
function createEncodingCache() {
  const cache = new Map<string, EncodedFile>();
  return (name: string, sources: EncodingSources, stats: Stats): EncodedFile => {
    const version = `${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}`;
    const hit = cache.get(name);
    if (hit?.version === version) return hit;
    const made = new Map<Encoding, Promise<Buffer>>();
    const make = async (encoding: Encoding): Promise<Buffer> => {
      const file = sources[encoding];
      if (file) return readFile(file);
      if (encoding === 'identity') return brotliDecompressAsync(await get('br'));
      const identity = await get('identity');
      return encoding === 'br' ? brotliAsync(identity, brotliOptions(identity.length)) : gzipAsync(identity, { level: 9 });
    };
    const get = (encoding: Encoding): Promise<Buffer> => {
      let job = made.get(encoding);
      if (!job) {
        job = make(encoding);
        made.set(encoding, job);
        job.catch(() => made.delete(encoding));
      }
      return job;
    };
    const entry: EncodedFile = { version, identityBytes: sources.identity ? stats.size : undefined, get };
    cache.set(name, entry);
    return entry;
  };
}

/** The ETags of an If-None-Match header (weak ones compared by their value, as RFC 9110 says for GET). */
function requestedTags(req: IncomingMessage): string[] {
  const header = req.headers['if-none-match'];
  return typeof header === 'string' ? header.split(',').map((t) => t.trim().replace(/^W\//, '')) : [];
}

/**
 * Answers with the encoding the client prefers among those it accepts (br, then gzip), or the
 * identity bytes when compressing did not make them smaller; 304 when it holds that encoding's ETag.
 */
async function sendEncoded(req: IncomingMessage, res: ServerResponse, file: EncodedFile, headers: Record<string, string | number>): Promise<void> {
  let encoding: Encoding = acceptsEncoding(req, 'br') ? 'br' : acceptsEncoding(req, 'gzip') ? 'gzip' : 'identity';
  let body = await file.get(encoding);
  if (encoding !== 'identity' && file.identityBytes !== undefined && body.length >= file.identityBytes) {
    encoding = 'identity';
    body = await file.get('identity');
  }
  // Each encoding is its own representation, with its own strong ETag.
  const etag = `"${file.version}${encoding === 'identity' ? '' : `-${encoding}`}"`;
  headers = { ...headers, ETag: etag, Vary: 'Accept-Encoding' };
  if (requestedTags(req).some((t) => t === etag || t === '*')) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
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

/** The model folder, listed for the page's model picker. */
function listModels(modelsDir: string): { name: string; bytes: number }[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.onnx') && MODEL_FILE.test(d.name))
    .map((d) => ({ name: d.name, bytes: statSync(join(modelsDir, d.name)).size }))
    // The page takes the first entry by default: the shipped int8 model, then fp32, then the rest.
    .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

function createModelHandler(modelsDir: string) {
  const encoded = createEncodingCache();

  return async (req: IncomingMessage, res: ServerResponse, name: string): Promise<void> => {
    if (name === 'index.json') {
      const body = JSON.stringify({ models: listModels(modelsDir) });
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (!MODEL_FILE.test(name)) return refuse(res, 404, 'Not Found');
    const abs = join(modelsDir, name);
    let stats: Stats;
    try {
      stats = statSync(abs);
    } catch {
      return refuse(res, 404, 'Not Found');
    }
    if (!stats.isFile()) return refuse(res, 404, 'Not Found');
    if (stats.size > MAX_COMPRESSED_MODEL_BYTES) return refuse(res, 404, 'Not Found');
    const type = MODEL_TYPES[name.slice(name.lastIndexOf('.') + 1)];
    // Models keep their names across retraining, so the browser must revalidate (ETag makes that cheap).
    await sendEncoded(req, res, encoded(abs, { identity: abs }, stats), { 'Content-Type': type, 'Cache-Control': 'no-cache' });
  };
}

/** Cache policy by path: content-hashed build assets never change; everything else revalidates. */
function cacheControlFor(pathname: string): string {
  if (pathname.startsWith('/assets/')) return 'public, max-age=31536000, immutable';
  return 'no-cache';
}

function indexRoot(root: string) {
  return sirv(root, {
    dev: false,
    etag: true,
    brotli: true,
    gzip: true,
    dotfiles: false,
    setHeaders: (res, pathname) => {
      res.setHeader('Cache-Control', cacheControlFor(pathname));
      if (pathname.endsWith('.wasm')) res.setHeader('Content-Type', 'application/wasm');
      if (pathname.endsWith('.mjs')) res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
      if (pathname.endsWith('.webmanifest')) res.setHeader('Content-Type', 'application/manifest+json');
    },
    onNoMatch: (_req, res) => refuse(res, 404, 'Not Found'),
  });
}

const APP_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  json: 'application/json; charset=utf-8',
  webmanifest: 'application/manifest+json',
  wasm: 'application/wasm',
};

/**
 * The app's files by URL path, each with the encodings on disk. Those the build compressed but that are
 * not there in every encoding are `partial`: the npm package leaves out the .gz files and ORT's raw 14 MB
 * .wasm (its .br stays), which cuts the download by more than half; they are served from memory, each
 * missing encoding made the first time a client asks for it.
 */
function indexApp(root: string): { partial: Map<string, EncodingSources>; onDisk: Map<string, string[]> } {
  const files = new Set<string>();
  const walk = (dir: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (d.name.startsWith('.')) continue;
      const abs = join(dir, d.name);
      if (d.isDirectory()) walk(abs);
      else if (d.isFile()) files.add(abs);
    }
  };
  walk(root);
  const urlPath = (abs: string) => '/' + relative(root, abs).split(sep).join('/');
  const partial = new Map<string, EncodingSources>();
  const onDisk = new Map<string, string[]>();
  for (const file of files) {
    const base = file.replace(/\.(br|gz)$/, '');
    if (onDisk.has(urlPath(base))) continue;
    onDisk.set(urlPath(base), [base, `${base}.br`, `${base}.gz`].filter((f) => files.has(f)));
    if (!APP_TYPES[extname(base).slice(1)]) continue;
    const sources: EncodingSources = {
      identity: files.has(base) ? base : undefined,
      br: files.has(`${base}.br`) ? `${base}.br` : undefined,
      gzip: files.has(`${base}.gz`) ? `${base}.gz` : undefined,
    };
    const have = [sources.identity, sources.br, sources.gzip].filter(Boolean).length;
    // Nothing precompressed (small files) or everything there: sirv serves it from disk.
    if (have === 3 || !(sources.br || sources.gzip) || !(sources.identity || sources.br)) continue;
    partial.set(urlPath(base), sources);
  }
  return { partial, onDisk };
}

function createAppFileGuard(root: string) {
  const { partial, onDisk } = indexApp(root);
  const encoded = createEncodingCache();
  /**
   * Serves the path itself if its file is partially encoded, or answers 404 if a file sirv would
   * stream has gone from disk since start-up (sirv's read stream would throw ENOENT and take the
   * server down). Returns false when sirv should serve it.
   */
  return (req: IncomingMessage, res: ServerResponse, pathname: string): boolean => {
    const file = pathname === '/' ? '/index.html' : pathname;
    const sources = partial.get(file);
    if (!sources) {
      // The files sirv may map the path to: itself, with .html/.htm, or a folder's index.
      const folder = pathname.replace(/\/$/, '');
      const candidates = [pathname, `${pathname}.html`, `${pathname}.htm`, `${folder}/index.html`, `${folder}/index.htm`];
      if (candidates.some((c) => onDisk.get(c)?.some((f) => !existsSync(f)))) {
        refuse(res, 404, 'Not Found');
        return true;
      }
      return false;
    }
    (async () => {
      let stats: Stats;
      try {
        stats = statSync((sources.identity ?? sources.br)!);
      } catch {
        return refuse(res, 404, 'Not Found');
      }
      const headers = { 'Content-Type': APP_TYPES[extname(file).slice(1)], 'Cache-Control': cacheControlFor(file) };
      await sendEncoded(req, res, encoded(file, sources, stats), headers);
    })().catch(() => refuse(res, 500, 'Internal Server Error'));
    return true;
  };
}

/** Host header names that mean "this machine"; anything else reaching a loopback bind is a rebinding attempt. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const h = header.trim().toLowerCase();
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0];
}

function createRequestHandler(
  options: Pick<ServeOptions, 'root' | 'modelsDir'> & { limits?: Partial<ServeLimits>; loopbackOnly?: boolean },
) {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const root = resolve(options.root);
  const modelsDir = resolve(options.modelsDir);
  if (!existsSync(join(root, 'index.html'))) {
    throw new ServeError(`no built web app in ${root} (index.html is missing); run \`npm run build:web\` first, or pass --root`);
  }
  // Production mode: sirv indexes the folder once at start-up and serves only files in that index,
  // so no request path can reach a file outside it. It serves the .br/.gz siblings the build wrote.
  let app: ReturnType<typeof sirv>;
  try {
    app = indexRoot(root);
  } catch (err) {
    // e.g. ELOOP from a symlink loop under the root: say so instead of crashing untyped.
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ELOOP' ? 'it contains a symbolic link loop' : e.message.split('\n')[0].slice(0, 300);
    throw new ServeError(`cannot index the web app folder ${root}: ${why}; remove the link or pass another --root`, { cause: err });
  }
  const models = createModelHandler(modelsDir);
  const appFiles = createAppFileGuard(root);

  return (req: IncomingMessage, res: ServerResponse): void => {
    const deadline = setTimeout(() => res.destroy(), limits.responseTimeoutMs);
    deadline.unref();
    res.once('close', () => clearTimeout(deadline));
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const url = req.url ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
    // DNS rebinding: a web page whose name now points at 127.0.0.1 must not read a loopback-only server.
    if (options.loopbackOnly) {
      const name = hostName(req.headers.host);
      if (name === undefined || !(LOOPBACK_NAMES.has(name) || name.startsWith('127.'))) return refuse(res, 403, 'Forbidden: unexpected Host');
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
    // sirv's naive Range parsing can throw on inverted ranges; a static kiosk page needs no ranges.
    delete req.headers.range;
    if (pathname.startsWith('/models/')) {
      models(req, res, decodeURIComponent(pathname.slice('/models/'.length))).catch(() => refuse(res, 500, 'Internal Server Error'));
      return;
    }
    if (appFiles(req, res, decodeURIComponent(pathname))) return;
    try {
      app(req, res);
    } catch {
      refuse(res, 500, 'Internal Server Error');
    }
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Starts the server; resolves once it listens. Default bind is loopback only. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ServeError(`port ${port} must be an integer in 0..65535`);
  // An empty host binds every interface (Node's default), the opposite of what an unset variable meant.
  if (host.trim() === '') throw new ServeError("host is empty; give an address (127.0.0.1 for this machine only, 0.0.0.0 for every interface)");
  const handler = createRequestHandler({ ...options, loopbackOnly: isLoopback(host) });
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Never let a malformed request reach the handler half-parsed.
      insecureHTTPParser: false,
      // Node checks headersTimeout/requestTimeout on this interval; the default (30 s) is too coarse.
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
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
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    url: `http://${urlHost}:${actualPort}`,
    port: actualPort,
    host,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

export { isLoopback };
