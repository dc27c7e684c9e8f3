import { strict as assert } from 'node:assert';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, readdirSync, utimesSync, statSync, symlinkSync, truncateSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { gzipSync, gunzipSync, brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import { startServer, isSuspiciousPath, createEncodingCache, sendEncoded, type RunningServer } from '../src/web/server.js';
import { writeFile } from 'node:fs/promises';
import { ServeError } from '../src/errors.js';
import { execFileSync, spawn } from 'node:child_process';

/** One raw HTTP exchange over a socket, so the test controls every byte (curl/fetch would normalize paths). */
function raw(port: number, request: string, timeoutMs = 5000): Promise<{ status: number; head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no answer'));
    }, timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', reject);
    sock.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, split < 0 ? all.length : split).toString('latin1');
      resolve({ status: Number(head.split(' ')[1]), head, body: split < 0 ? Buffer.alloc(0) : all.subarray(split + 4) });
    });
    sock.write(request);
  });
}

/** The URL `digits serve` prints on stdout, once it matches `pattern` (a ServeError would have exited instead). */
function printedUrl(child: ReturnType<typeof spawn>, pattern: RegExp): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 20000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[0]);
      }
    });
  });
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`;

function header(head: string, name: string): string | undefined {
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

describe('digits serve (src/web/server.ts)', function () {
  this.timeout(30000);
  let dir: string;
  let root: string;
  let models: string;
  let srv: RunningServer;
  const secret = 'TOP-SECRET-OUTSIDE-ROOT';
  // A wasm-like payload: compressible, like the real ORT binary.
  const wasm = Buffer.from('\0asm\x01\0\0\0' + 'abcdefgh'.repeat(4096), 'latin1');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'digits-serve-'));
    root = join(dir, 'web-dist');
    models = join(dir, 'models');
    mkdirSync(join(root, 'assets'), { recursive: true });
    mkdirSync(models);
    writeFileSync(join(dir, 'secret.txt'), secret);
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>kiosk</title>');
    writeFileSync(join(root, '.env'), secret);
    writeFileSync(join(root, 'assets', 'app-abc123.js'), 'console.log(1)');
    writeFileSync(join(root, 'assets', 'dsp-abc123.mjs'), 'export {}');
    writeFileSync(join(root, 'assets', 'ort-abc123.wasm'), wasm);
    writeFileSync(join(root, 'assets', 'ort-abc123.wasm.br'), brotliCompressSync(wasm));
    writeFileSync(join(root, 'assets', 'ort-abc123.wasm.gz'), gzipSync(wasm));
    // Bigger than the socket buffers, so a client that stops reading stalls the response.
    writeFileSync(join(root, 'assets', 'big-abc123.bin'), Buffer.alloc(16 * 1024 * 1024, 1));
    // Real FSDD-free model bytes are not needed: the server never parses models.
    writeFileSync(join(models, 'default.int8.onnx'), Buffer.alloc(50_000, 7));
    writeFileSync(join(models, 'default.card.json'), '{"name":"default"}');
    srv = await startServer({ root, modelsDir: models, port: 0, limits: { headersTimeoutMs: 1500, requestTimeoutMs: 3000, idleTimeoutMs: 3000, responseTimeoutMs: 6000 } });
  });
  after(async () => {
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('binds loopback by default', () => {
    const addr = srv.server.address();
    assert.ok(addr && typeof addr === 'object');
    assert.equal(addr.address, '127.0.0.1');
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('bound to every interface, gives a URL this machine can open (not http://0.0.0.0)', async () => {
    // Judged by the address bound, so the other spellings of a wildcard count too (0 is 0.0.0.0 to the system).
    for (const host of ['0.0.0.0', '0']) {
      const all = await startServer({ root, modelsDir: models, port: 0, host });
      try {
        assert.equal(all.url, `http://127.0.0.1:${all.port}`, host);
        assert.deepEqual([all.address, all.everyInterface, all.loopbackOnly], ['0.0.0.0', true, false], host);
        assert.equal((await raw(all.port, get('/'))).status, 200);
        // Reached by other machines under names of their own: no loopback Host check.
        assert.equal((await raw(all.port, `GET / HTTP/1.1\r\nHost: kiosk.lan\r\nConnection: close\r\n\r\n`)).status, 200);
      } finally {
        await all.close();
      }
    }
  });

  it('a loopback address however spelt (127.1, ::ffff:127.0.0.1) gets the loopback Host check', async () => {
    const local = await startServer({ root, modelsDir: models, port: 0, host: '127.1' });
    try {
      assert.deepEqual([local.address, local.everyInterface, local.loopbackOnly], ['127.0.0.1', false, true]);
      assert.equal((await raw(local.port, `GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`)).status, 403);
      assert.equal((await raw(local.port, get('/'))).status, 200);
    } finally {
      await local.close();
    }
    const mapped = await startServer({ root, modelsDir: models, port: 0, host: '::ffff:127.0.0.1' });
    try {
      assert.deepEqual([mapped.everyInterface, mapped.loopbackOnly], [false, true], mapped.address);
      assert.equal((await raw(mapped.port, `GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`)).status, 403);
      assert.equal((await raw(mapped.port, `GET / HTTP/1.1\r\nHost: [::ffff:127.0.0.1]:${mapped.port}\r\nConnection: close\r\n\r\n`)).status, 200);
    } finally {
      await mapped.close();
    }
  });

  it('refuses foreign Host names on a loopback bind (DNS rebinding)', async () => {
    assert.equal((await raw(srv.port, `GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`)).status, 403);
    assert.equal((await raw(srv.port, `GET / HTTP/1.1\r\nHost: evil.example:${srv.port}\r\nConnection: close\r\n\r\n`)).status, 403);
    assert.equal((await raw(srv.port, `GET / HTTP/1.0\r\n\r\n`)).status, 403);
    // A name that only starts like a loopback address is the attacker's own (127.attacker.example resolves where it likes).
    for (const host of ['127.attacker.example', `127.0.0.1.nip.io:${srv.port}`, '[::1].evil.example', '127.0.0.1:80:evil']) {
      assert.equal((await raw(srv.port, `GET /models/index.json HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).status, 403, host);
    }
    for (const host of [`localhost:${srv.port}`, `127.0.0.1:${srv.port}`, '127.0.0.2', '[::1]:80', 'LOCALHOST']) {
      assert.equal((await raw(srv.port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).status, 200, host);
    }
  });

  it('serves the app shell with security headers and no-cache', async () => {
    const r = await raw(srv.port, get('/'));
    assert.equal(r.status, 200);
    assert.match(r.body.toString(), /kiosk/);
    assert.match(header(r.head, 'content-type') ?? '', /^text\/html/);
    assert.equal(header(r.head, 'cache-control'), 'no-cache');
    const csp = header(r.head, 'content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
    assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/);
    assert.equal(header(r.head, 'x-content-type-options'), 'nosniff');
    assert.equal(header(r.head, 'referrer-policy'), 'no-referrer');
  });

  it('serves hashed assets immutable with the right MIME types', async () => {
    const js = await raw(srv.port, get('/assets/app-abc123.js'));
    assert.equal(js.status, 200);
    assert.match(header(js.head, 'cache-control') ?? '', /max-age=31536000, immutable/);
    assert.match(header(js.head, 'content-type') ?? '', /^text\/javascript/);
    const mjs = await raw(srv.port, get('/assets/dsp-abc123.mjs'));
    assert.match(header(mjs.head, 'content-type') ?? '', /^text\/javascript/);
    const w = await raw(srv.port, get('/assets/ort-abc123.wasm'));
    assert.equal(header(w.head, 'content-type'), 'application/wasm');
    assert.equal(w.body.length, wasm.length);
  });

  it('sends the precompressed .wasm when the client accepts br or gzip', async () => {
    const br = await raw(srv.port, get('/assets/ort-abc123.wasm', 'Accept-Encoding: gzip, deflate, br\r\n'));
    assert.equal(br.status, 200);
    assert.equal(header(br.head, 'content-encoding'), 'br');
    assert.equal(header(br.head, 'content-type'), 'application/wasm');
    assert.match(header(br.head, 'vary') ?? '', /Accept-Encoding/);
    assert.ok(br.body.length < wasm.length / 10);
    assert.deepEqual(brotliDecompressSync(br.body), wasm);
    const gz = await raw(srv.port, get('/assets/ort-abc123.wasm', 'Accept-Encoding: gzip\r\n'));
    assert.equal(header(gz.head, 'content-encoding'), 'gzip');
  });

  it('serves the npm package\'s web-dist (no .gz files, the .wasm only as .br) in every encoding', async () => {
    const shipped = join(dir, 'shipped');
    mkdirSync(join(shipped, 'assets'), { recursive: true });
    const page = Buffer.from('<!doctype html><title>kiosk</title>' + '<p>digits</p>'.repeat(200));
    writeFileSync(join(shipped, 'index.html'), page);
    writeFileSync(join(shipped, 'index.html.br'), brotliCompressSync(page));
    writeFileSync(join(shipped, 'assets', 'ort-abc123.wasm.br'), brotliCompressSync(wasm));
    const pkg = await startServer({ root: shipped, modelsDir: models, port: 0 });
    try {
      const plain = await raw(pkg.port, get('/assets/ort-abc123.wasm'));
      assert.equal(plain.status, 200);
      assert.equal(header(plain.head, 'content-encoding'), undefined);
      assert.equal(header(plain.head, 'content-type'), 'application/wasm');
      assert.match(header(plain.head, 'cache-control') ?? '', /immutable/);
      assert.deepEqual(plain.body, wasm);
      const gz = await raw(pkg.port, get('/assets/ort-abc123.wasm', 'Accept-Encoding: gzip\r\n'));
      assert.equal(header(gz.head, 'content-encoding'), 'gzip');
      assert.deepEqual(gunzipSync(gz.body), wasm);
      const br = await raw(pkg.port, get('/assets/ort-abc123.wasm', 'Accept-Encoding: gzip, br\r\n'));
      assert.equal(header(br.head, 'content-encoding'), 'br');
      assert.deepEqual(br.body, readFileSync(join(shipped, 'assets', 'ort-abc123.wasm.br')));
      const etag = header(br.head, 'etag');
      assert.ok(etag);
      assert.equal((await raw(pkg.port, get('/assets/ort-abc123.wasm', `Accept-Encoding: br\r\nIf-None-Match: ${etag}\r\n`))).status, 304);
      assert.notEqual(header(plain.head, 'etag'), etag);
      const head = await raw(pkg.port, `HEAD /assets/ort-abc123.wasm HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      // The page itself: raw and .br on disk, gzip made for a client that takes only gzip.
      const shell = await raw(pkg.port, get('/', 'Accept-Encoding: gzip\r\n'));
      assert.equal(shell.status, 200);
      assert.equal(header(shell.head, 'content-encoding'), 'gzip');
      assert.match(header(shell.head, 'content-type') ?? '', /^text\/html/);
      assert.equal(header(shell.head, 'cache-control'), 'no-cache');
      assert.match(header(shell.head, 'content-security-policy') ?? '', /default-src 'self'/);
      assert.deepEqual(gunzipSync(shell.body), page);
      // A file gone from disk after start-up is a 404, whether sirv or the cache would have served it.
      writeFileSync(join(shipped, 'manifest.webmanifest'), '{}');
      const later = await startServer({ root: shipped, modelsDir: models, port: 0 });
      try {
        assert.equal((await raw(later.port, get('/manifest.webmanifest'))).status, 200);
        rmSync(join(shipped, 'manifest.webmanifest'));
        assert.equal((await raw(later.port, get('/manifest.webmanifest'))).status, 404);
        assert.equal((await raw(later.port, get('/'))).status, 200);
      } finally {
        await later.close();
      }
      // A .br that is not brotli is a 500 for that file, not a crash.
      writeFileSync(join(shipped, 'assets', 'ort-abc123.wasm.br'), 'not brotli');
      utimesSync(join(shipped, 'assets', 'ort-abc123.wasm.br'), new Date(), new Date(Date.now() + 5000));
      assert.equal((await raw(pkg.port, get('/assets/ort-abc123.wasm'))).status, 500);
      assert.equal((await raw(pkg.port, get('/'))).status, 200);
    } finally {
      await pkg.close();
    }
  });

  it('serves models compressed on the fly, revalidated by ETag, plus a listing', async () => {
    const m = await raw(srv.port, get('/models/default.int8.onnx', 'Accept-Encoding: br\r\n'));
    assert.equal(m.status, 200);
    assert.equal(header(m.head, 'content-encoding'), 'br');
    assert.equal(header(m.head, 'cache-control'), 'no-cache');
    assert.equal(brotliDecompressSync(m.body).length, 50_000);
    const etag = header(m.head, 'etag');
    assert.ok(etag);
    const again = await raw(srv.port, get('/models/default.int8.onnx', `Accept-Encoding: br\r\nIf-None-Match: W/"x", ${etag}\r\n`));
    assert.equal(again.status, 304);
    // Each encoding is its own representation: the brotli ETag does not match the plain bytes.
    assert.equal((await raw(srv.port, get('/models/default.int8.onnx', `If-None-Match: ${etag}\r\n`))).status, 200);
    const plain = await raw(srv.port, get('/models/default.int8.onnx'));
    assert.equal(plain.body.length, 50_000);
    assert.equal(header(plain.head, 'content-encoding'), undefined);
    const list = await raw(srv.port, get('/models/index.json'));
    assert.deepEqual(JSON.parse(list.body.toString()), { models: [{ name: 'default.int8.onnx', bytes: 50_000 }] });
    // The listing revalidates by ETag too: the same list is a 304.
    const listTag = header(list.head, 'etag');
    assert.ok(listTag, 'the listing has no ETag');
    const relisted = await raw(srv.port, get('/models/index.json', `If-None-Match: ${listTag}\r\n`));
    assert.equal(relisted.status, 304);
    assert.equal(relisted.body.length, 0);
    assert.equal((await raw(srv.port, get('/models/index.json', 'If-None-Match: "other"\r\n'))).status, 200);
  });

  it('serves only models and their cards from the models folder, and lists only what it serves', async () => {
    writeFileSync(join(models, 'notes.json'), '{"private":true}');
    writeFileSync(join(models, 'todo.md'), 'private');
    try {
      assert.equal((await raw(srv.port, get('/models/default.card.json'))).status, 200);
      assert.equal((await raw(srv.port, get('/models/notes.json'))).status, 404);
      assert.equal((await raw(srv.port, get('/models/todo.md'))).status, 404);
    } finally {
      rmSync(join(models, 'notes.json'));
      rmSync(join(models, 'todo.md'));
    }
  });

  it('lists a model linked into the folder, as it serves it', async () => {
    const linked = join(models, 'linked.onnx');
    symlinkSync(join(models, 'default.int8.onnx'), linked);
    try {
      const list = JSON.parse((await raw(srv.port, get('/models/index.json'))).body.toString()) as { models: { name: string; bytes: number }[] };
      assert.deepEqual(list.models, [{ name: 'default.int8.onnx', bytes: 50_000 }, { name: 'linked.onnx', bytes: 50_000 }]);
      assert.equal((await raw(srv.port, get('/models/linked.onnx'))).status, 200);
    } finally {
      rmSync(linked);
    }
  });

  it('`digits serve` names each model it will not serve, and says when none is left', async () => {
    const odd = join(dir, 'odd-models');
    mkdirSync(odd);
    writeFileSync(join(odd, 'my model.onnx'), Buffer.alloc(100, 7));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--root', root, '--models', odd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    try {
      await printedUrl(child, /http:\/\/127\.0\.0\.1:(\d+)/);
      await new Promise((r) => setTimeout(r, 200));
      assert.match(err, /my model\.onnx is not served: its name is not served/);
      assert.match(err, /no \.onnx model to serve in/);
    } finally {
      child.kill('SIGKILL');
      rmSync(odd, { recursive: true, force: true });
    }
  });

  it('neither lists nor serves a model over 64 MB', async () => {
    // Sparse: 65 MB on paper, nothing on disk.
    const huge = join(models, 'huge.onnx');
    writeFileSync(huge, '');
    truncateSync(huge, 65 * 1024 * 1024);
    try {
      const list = JSON.parse((await raw(srv.port, get('/models/index.json'))).body.toString()) as { models: { name: string }[] };
      assert.deepEqual(list.models.map((m) => m.name), ['default.int8.onnx']);
      assert.equal((await raw(srv.port, get('/models/huge.onnx'))).status, 404);
    } finally {
      rmSync(huge);
    }
  });

  it('holds at most maxCacheBytes of files in memory, dropping the least recently asked for, and still serves them all', async () => {
    const files = join(dir, 'cache');
    mkdirSync(files);
    const bytes = new Map<string, Buffer>();
    for (const name of ['a', 'b', 'c', 'huge']) {
      bytes.set(name, randomBytes(name === 'huge' ? 5000 : 1000));
      writeFileSync(join(files, name), bytes.get(name)!);
    }
    const cache = createEncodingCache(2500);
    const fetchFile = async (name: string) => {
      const abs = join(files, name);
      return cache(name, { identity: abs }, [statSync(abs)], false).get('identity');
    };
    assert.deepEqual(await fetchFile('a'), bytes.get('a'));
    await fetchFile('b');
    assert.equal(cache.heldBytes(), 2000);
    await fetchFile('a'); // a hit: b is now the least recently asked for
    await fetchFile('c');
    assert.equal(cache.heldBytes(), 2000);
    cache.forget((key) => key !== 'b');
    assert.equal(cache.heldBytes(), 2000, 'b was dropped for c, not a');
    await fetchFile('b'); // read again, a dropped
    assert.equal(cache.heldBytes(), 2000);
    // One file over the whole budget is served, and held alone.
    assert.deepEqual(await fetchFile('huge'), bytes.get('huge'));
    assert.equal(cache.heldBytes(), 5000);
    assert.deepEqual(await fetchFile('c'), bytes.get('c'));
    assert.equal(cache.heldBytes(), 1000);
    cache.forget(() => false);
    assert.equal(cache.heldBytes(), 0);
    // Bytes that arrive for an entry already dropped (forgotten, or a newer version asked for) are not counted.
    const pending = fetchFile('a');
    cache.forget(() => false);
    await pending;
    assert.equal(cache.heldBytes(), 0, 'a read that ended after its entry was forgotten');
    const old = fetchFile('b');
    writeFileSync(join(files, 'b'), randomBytes(500));
    utimesSync(join(files, 'b'), new Date(), new Date(Date.now() + 5000));
    assert.equal((await fetchFile('b')).length, 500);
    await old;
    assert.equal(cache.heldBytes(), 500, 'only the new version of b');

    // Through the server: a budget smaller than the app, every file and encoding still right.
    const small = await startServer({ root, modelsDir: models, port: 0, limits: { maxCacheBytes: 64 * 1024 } });
    try {
      for (let round = 0; round < 2; round++) {
        for (const accept of ['br', 'gzip', '']) {
          const r = await raw(small.port, get('/assets/ort-abc123.wasm', accept ? `Accept-Encoding: ${accept}\r\n` : ''));
          const body = accept === 'br' ? brotliDecompressSync(r.body) : accept === 'gzip' ? gunzipSync(r.body) : r.body;
          assert.deepEqual(body, wasm, accept);
        }
        assert.equal((await raw(small.port, get('/assets/big-abc123.bin'))).body.length, 16 * 1024 * 1024);
        assert.equal((await raw(small.port, get('/models/default.int8.onnx'))).body.length, 50_000);
        assert.match((await raw(small.port, get('/'))).body.toString(), /kiosk/);
      }
    } finally {
      await small.close();
    }
  });

  it('keeps the newest file when bytes arrive late for an older request', async () => {
    const files = join(dir, 'late');
    mkdirSync(files);
    // A FIFO: its read ends only when the test writes, so "a" is asked for first and arrives last.
    execFileSync('mkfifo', [join(files, 'a')]);
    // Whole seconds: utimes takes seconds as a double, so a millisecond time may come back a hair earlier.
    const stamp = new Date('2026-01-01T00:00:00Z');
    for (const name of ['b', 'c']) {
      writeFileSync(join(files, name), randomBytes(1000));
      utimesSync(join(files, name), stamp, stamp);
    }
    const cache = createEncodingCache(2500);
    const fetchFile = (name: string) => {
      const abs = join(files, name);
      return cache(name, { identity: abs }, [statSync(abs)], false).get('identity');
    };
    const late = fetchFile('a');
    await fetchFile('b');
    await fetchFile('c');
    await writeFile(join(files, 'a'), randomBytes(1000));
    await late;
    assert.equal(cache.heldBytes(), 2000);
    // b and c, both asked for after a, are still held: rewritten with the same size and time, each answers its old bytes.
    for (const name of ['b', 'c']) {
      const before = readFileSync(join(files, name));
      writeFileSync(join(files, name), randomBytes(1000));
      utimesSync(join(files, name), stamp, stamp);
      assert.deepEqual(await fetchFile(name), before, `${name} was dropped for the late a`);
    }
  });

  it('answers a revalidation with 304 without reading or compressing the file', async () => {
    const asked: string[] = [];
    const file = {
      version: '10-1',
      identityBytes: 100,
      encodings: new Set(['identity', 'br', 'gzip'] as const),
      get: async (encoding: string) => {
        asked.push(encoding);
        return Buffer.alloc(encoding === 'identity' ? 100 : 20);
      },
    };
    const exchange = async (headers: Record<string, string>) => {
      const out: { status?: number; headers?: Record<string, string | number> } = {};
      const res = { writeHead: (status: number, h: Record<string, string | number>) => Object.assign(out, { status, headers: h }), end: () => undefined };
      await sendEncoded({ method: 'GET', headers } as never, res as never, file, {});
      return out;
    };
    assert.equal((await exchange({ 'accept-encoding': 'br', 'if-none-match': '"10-1-br"' })).status, 304);
    // A client that holds the identity bytes of this version has them all, whatever it accepts now.
    const identity = await exchange({ 'accept-encoding': 'gzip, br', 'if-none-match': 'W/"10-1"' });
    assert.deepEqual([identity.status, identity.headers?.ETag], [304, '"10-1"']);
    assert.deepEqual(asked, []);
    // Another encoding's or an older version's tag: the bytes are sent.
    assert.equal((await exchange({ 'accept-encoding': 'br', 'if-none-match': '"10-1-gzip", "f-1-br"' })).status, 200);
    assert.deepEqual(asked, ['br']);
  });

  it('a client that goes away mid-download leaves no file open, and a file that changed or became a folder never takes the server down', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    // 200 downloads of the 16 MB file, each reset after its first bytes (sirv left one file descriptor open per abort).
    for (let i = 0; i < 200; i++) {
      const sock = connect(srv.port, '127.0.0.1');
      sock.on('error', () => undefined);
      await new Promise((r) => sock.once('connect', r));
      sock.write(get('/assets/big-abc123.bin'));
      await new Promise((r) => sock.once('data', r));
      sock.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(fds() - before < 20, `${fds() - before} more file descriptors open after 200 aborted downloads`);
    // A file that became a folder after start-up: 404 for it, the server serves on.
    const shipped = join(dir, 'changing');
    mkdirSync(shipped);
    writeFileSync(join(shipped, 'index.html'), '<!doctype html><title>v1</title>');
    writeFileSync(join(shipped, 'icon.svg'), '<svg/>');
    const s2 = await startServer({ root: shipped, modelsDir: models, port: 0 });
    try {
      rmSync(join(shipped, 'icon.svg'));
      mkdirSync(join(shipped, 'icon.svg'));
      assert.equal((await raw(s2.port, get('/icon.svg'))).status, 404);
      // A file rewritten longer (a rebuild beside the running server) goes out whole, not cut at its old length.
      const v2 = '<!doctype html><title>v2</title>' + '<p>longer</p>'.repeat(100);
      writeFileSync(join(shipped, 'index.html'), v2);
      utimesSync(join(shipped, 'index.html'), new Date(), new Date(Date.now() + 5000));
      assert.equal((await raw(s2.port, get('/'))).body.toString(), v2);
      // A new file (a rebuild's new hashed asset) is found without a restart.
      await new Promise((r) => setTimeout(r, 1100));
      writeFileSync(join(shipped, 'app-new123.js'), 'console.log(2)');
      assert.equal((await raw(s2.port, get('/app-new123.js'))).status, 200);
      // A client that refuses brotli (q=0) does not get it.
      const q0 = await raw(s2.port, get('/', 'Accept-Encoding: br;q=0, gzip\r\n'));
      assert.equal(header(q0.head, 'content-encoding'), 'gzip');
      // A file of the app's kind with only a .gz copy goes out in every encoding (making each from the other recursed).
      const script = Buffer.from('console.log("only gzip");'.repeat(50));
      writeFileSync(join(shipped, 'only-gz.js.gz'), gzipSync(script));
      // An image goes out as it is, its type named, not recompressed.
      const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(4000, 3)]);
      writeFileSync(join(shipped, 'picture.png'), png);
      await new Promise((r) => setTimeout(r, 1100));
      for (const accept of ['br', 'gzip', '']) {
        const r = await raw(s2.port, get('/only-gz.js', accept ? `Accept-Encoding: ${accept}\r\n` : ''));
        assert.equal(r.status, 200, accept);
        const body = accept === 'br' ? brotliDecompressSync(r.body) : accept === 'gzip' ? gunzipSync(r.body) : r.body;
        assert.deepEqual(body, script, accept);
      }
      const img = await raw(s2.port, get('/picture.png', 'Accept-Encoding: br, gzip\r\n'));
      assert.equal(header(img.head, 'content-type'), 'image/png');
      assert.equal(header(img.head, 'content-encoding'), undefined);
      assert.deepEqual(img.body, png);
    } finally {
      await s2.close();
    }
  });

  it('refuses path traversal, plain and encoded, and never leaks files outside the roots', async () => {
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E%2Fsecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/%252e%252e/secret.txt',
      '/..%5csecret.txt',
      '/assets/..\\..\\secret.txt',
      '/models/../secret.txt',
      '/models/%2e%2e%2fsecret.txt',
      '/models/..%2f..%2fsecret.txt',
      '/index.html%00.js',
      '/.env',
      '/models/.hidden.onnx',
      '//etc/passwd',
      '/%c0%ae%c0%ae/secret.txt',
    ];
    for (const path of attempts) {
      const r = await raw(srv.port, get(path));
      assert.ok([400, 404].includes(r.status), `${path} -> ${r.status}`);
      assert.ok(!r.body.toString().includes(secret), `${path} leaked the file`);
    }
    // An absolute-form target with a path outside the root.
    const abs = await raw(srv.port, `GET http://127.0.0.1/../secret.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    assert.ok([400, 404].includes(abs.status));
  });

  it('refuses bodies, other methods, long URLs and oversized headers', async () => {
    const post = await raw(srv.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`);
    assert.equal(post.status, 405);
    const withBody = await raw(srv.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n`);
    assert.equal(withBody.status, 413);
    const chunked = await raw(srv.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`);
    assert.equal(chunked.status, 413);
    const longUrl = await raw(srv.port, get('/' + 'a'.repeat(5000)));
    assert.equal(longUrl.status, 414);
    const bigHeader = await raw(srv.port, get('/', `X-Big: ${'b'.repeat(20_000)}\r\n`));
    assert.equal(bigHeader.status, 431);
    const inverted = await raw(srv.port, get('/assets/app-abc123.js', 'Range: bytes=9-2\r\n'));
    assert.equal(inverted.status, 200, 'an inverted Range must not crash the server');
    const garbage = await raw(srv.port, 'HELLO\r\n\r\n');
    assert.equal(garbage.status, 400);
  });

  it('cuts off a slowloris client that never finishes its headers', async () => {
    const started = Date.now();
    const sock: Socket = connect(srv.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.resume();
    sock.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const trickle = setInterval(() => sock.writable && sock.write('X-a: b\r\n'), 200);
    const closed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 10_000);
      sock.on('close', () => {
        clearTimeout(t);
        resolve(true);
      });
      sock.on('error', () => undefined);
    });
    clearInterval(trickle);
    sock.destroy();
    assert.ok(closed, 'the server kept a trickling client for 10 s');
    assert.ok(Date.now() - started < 6000, `cut off after ${Date.now() - started} ms`);
    // And it still serves others.
    assert.equal((await raw(srv.port, get('/'))).status, 200);
  });

  it('cuts off a client that stops reading its response (slow read)', async () => {
    const started = Date.now();
    const sock = connect(srv.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(get('/assets/big-abc123.bin'));
    let received = 0;
    sock.on('data', (d: Buffer) => (received += d.length));
    // Read a first chunk, then stop reading: the server's writes back up.
    await new Promise((r) => sock.once('data', r));
    sock.pause();
    const closed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 15_000);
      sock.on('close', () => {
        clearTimeout(t);
        resolve(true);
      });
      sock.on('error', () => undefined);
      // A paused socket does not notice the server's close until it reads again; peek every second.
      const peek = setInterval(() => {
        if (Date.now() - started > 8000) {
          clearInterval(peek);
          sock.resume();
        }
      }, 1000);
    });
    assert.ok(closed, 'the stalled response was never cut off');
    assert.ok(received < 16 * 1024 * 1024, `the whole ${received}-byte response went out: the server waited for the slow reader`);
    assert.equal((await raw(srv.port, get('/'))).status, 200);
  });

  it('one client address holds at most maxConnectionsPerClient connections; a closed one frees its place', async () => {
    const capped = await startServer({ root, modelsDir: models, port: 0, limits: { maxConnectionsPerClient: 3 } });
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const sock = connect(capped.port, '127.0.0.1');
        sock.on('error', () => undefined);
        await new Promise((r) => sock.once('connect', r));
        held.push(sock);
      }
      // The server has seen the three before the fourth comes.
      await new Promise((r) => setTimeout(r, 100));
      const fourth = await raw(capped.port, get('/')).catch((err: Error) => err);
      assert.ok(fourth instanceof Error || !(fourth.status > 0), `a fourth connection was served: ${JSON.stringify(fourth)}`);
      held.pop()!.destroy();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await raw(capped.port, get('/'))).status, 200);
    } finally {
      for (const sock of held) sock.destroy();
      await capped.close();
    }
  });

  it('cuts off an idle connection that sends nothing', async () => {
    const sock = connect(srv.port, '127.0.0.1');
    sock.resume();
    const closed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 8000);
      sock.on('close', () => {
        clearTimeout(t);
        resolve(true);
      });
      sock.on('error', () => undefined);
    });
    assert.ok(closed);
  });

  it('says what to do when the app is not built or the port is taken', async () => {
    await assert.rejects(startServer({ root: join(dir, 'nope'), modelsDir: models, port: 0 }), (e: unknown) => e instanceof ServeError && /build:web/.test(e.message));
    await assert.rejects(startServer({ root, modelsDir: models, port: srv.port }), (e: unknown) => e instanceof ServeError && /in use/.test(e.message));
  });

  it('flags traversal-shaped paths', () => {
    assert.equal(isSuspiciousPath('/assets/app.js'), false);
    assert.equal(isSuspiciousPath('/a/%2e%2e/b'), true);
    assert.equal(isSuspiciousPath('/%E0%A4%A'), true);
  });

  it('does not leave extra files behind', () => {
    assert.deepEqual(readdirSync(models).sort(), ['default.card.json', 'default.int8.onnx']);
    assert.equal(readFileSync(join(dir, 'secret.txt'), 'utf8'), secret);
  });

  it('`digits serve --port 0` starts from the CLI, prints its URL and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--root', root, '--models', models], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await printedUrl(child, /http:\/\/127\.0\.0\.1:(\d+)/);
      const res = await fetch(`${url}/`);
      assert.equal(res.status, 200);
      const code = await new Promise<number | null>((resolve) => {
        child.once('exit', (c) => resolve(c));
        child.kill('SIGTERM');
      });
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('`digits serve` refuses a bad port with a typed error and exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', 'http'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 2);
    assert.match(err, /--port http must be an integer/);
  });
});

describe('digits serve over https (--tls-cert, --tls-key)', function () {
  this.timeout(30000);
  let dir: string;
  let root: string;
  let models: string;
  let cert: Buffer;
  let key: Buffer;
  let otherKey: Buffer;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'digits-serve-tls-'));
    root = join(dir, 'web-dist');
    models = join(dir, 'models');
    mkdirSync(root);
    mkdirSync(models);
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>kiosk</title>');
    // A self-signed certificate for this test only (openssl: an apt package CI installs).
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', join(dir, 'other.pem')], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
    otherKey = readFileSync(join(dir, 'other.pem'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** One https GET trusting only the test's certificate. */
  const httpsGet = (url: string) =>
    new Promise<{ status: number; body: string; csp: string | undefined }>((resolve, reject) => {
      const req = httpsRequest(url, { ca: cert }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, csp: res.headers['content-security-policy'] as string | undefined }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves the app over https with its usual headers; plain http to the port gets no answer', async () => {
    const srv = await startServer({ root, modelsDir: models, port: 0, tls: { cert, key } });
    try {
      assert.equal(srv.secure, true);
      assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const res = await httpsGet(`${srv.url}/`);
      assert.equal(res.status, 200);
      assert.match(res.body, /<title>kiosk<\/title>/);
      assert.match(res.csp ?? '', /default-src 'self'/);
      // http to an https port: the handshake fails and the socket is dropped, and the server goes on.
      await assert.rejects(raw(srv.port, get('/'), 3000).then((r) => (r.head === '' ? Promise.reject(new Error('dropped')) : r)), /dropped|no answer/);
      assert.equal((await httpsGet(`${srv.url}/`)).status, 200);
    } finally {
      await srv.close();
    }
  });

  it('refuses a key that is not the certificate\'s, or a certificate that is not one, before listening', async () => {
    await assert.rejects(startServer({ root, modelsDir: models, port: 0, tls: { cert, key: otherKey } }), (e: unknown) => e instanceof ServeError && /the private key is not the certificate's/.test(e.message));
    await assert.rejects(startServer({ root, modelsDir: models, port: 0, tls: { cert: 'not a certificate', key } }), (e: unknown) => e instanceof ServeError && /cannot serve https: the certificate is not a PEM certificate/.test(e.message));
    await assert.rejects(startServer({ root, modelsDir: models, port: 0, tls: { cert, key: '' } }), (e: unknown) => e instanceof ServeError && /tls needs both a certificate \(cert\) and its private key/.test(e.message));
    // The message names the file that is wrong: a junk key, or the certificate given as the key, is the key's fault.
    for (const wrongKey of ['not a key', cert]) {
      await assert.rejects(startServer({ root, modelsDir: models, port: 0, tls: { cert, key: wrongKey } }), (e: unknown) => e instanceof ServeError && /cannot serve https: the private key is not a PEM key/.test(e.message));
    }
  });

  it('drops a connection that never starts its TLS handshake, and close() does not wait for one', async () => {
    const srv = await startServer({ root, modelsDir: models, port: 0, tls: { cert, key }, limits: { headersTimeoutMs: 1000 } });
    const silent = () => {
      const sock = connect(srv.port, '127.0.0.1');
      sock.on('error', () => undefined);
      return { sock, closed: new Promise<number>((resolve) => sock.once('close', () => resolve(performance.now()))) };
    };
    try {
      const t0 = performance.now();
      const first = silent();
      const closedAt = await Promise.race([first.closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 8000))]);
      assert.ok(closedAt - t0 < 4000, `a silent TLS connection was held ${(closedAt - t0).toFixed(0)} ms`);
      const second = silent();
      await new Promise((r) => second.sock.once('connect', r));
      const t1 = performance.now();
      await srv.close();
      assert.ok(performance.now() - t1 < 500, `close() took ${(performance.now() - t1).toFixed(0)} ms with a connection mid-handshake`);
      await second.closed;
    } finally {
      await srv.close();
    }
  });

  const serveCli = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--root', root, '--models', models, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

  it('`digits serve --tls-cert --tls-key` prints and serves an https URL', async () => {
    const child = serveCli(['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')]);
    try {
      const url = await printedUrl(child, /https:\/\/127\.0\.0\.1:(\d+)/);
      assert.equal((await httpsGet(`${url}/`)).status, 200);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('`digits serve` refuses --tls-cert without --tls-key, and a key file that is not there, with exit code 2', async () => {
    for (const [args, message] of [
      [['--tls-cert', join(dir, 'cert.pem')], /--tls-cert needs --tls-key too/],
      [['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'missing.pem')], /--tls-key .*missing\.pem: file not found/],
    ] as const) {
      const child = serveCli([...args]);
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      assert.equal(code, 2, err);
      assert.match(err, message);
    }
  });
});
