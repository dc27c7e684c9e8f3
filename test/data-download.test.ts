import { FSDD_ROOT } from './fsdd.js';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import * as tar from 'tar';
import * as zlib from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { DatasetError } from '../src/errors.js';
import { downloadFile, loadFsdd, fetchFsdd, listFsddClips, officialSplit, readProvenance } from '../src/data/index.js';

/*
 * Every download path against a loopback HTTP server serving a tar.gz and parquet files this
 * test builds from real FSDD clips (or from the committed fixture when FSDD is absent). No internet.
 */

const FSDD = FSDD_ROOT;
const RECORDINGS = fs.existsSync(path.join(FSDD, 'recordings')) ? path.join(FSDD, 'recordings') : FSDD;
const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'wav', 's16.wav');

// 20 clips: digits 0-9, two speakers, takes 3 and 7 (so both official splits get some).
const NAMES = Array.from({ length: 20 }, (_, i) => `${i % 10}_${i < 10 ? 'george' : 'theo'}_${i % 2 ? 7 : 3}.wav`);
const clipBytes = (name: string): Buffer => {
  const p = path.join(RECORDINGS, name);
  return fs.readFileSync(fs.existsSync(p) ? p : FIXTURE);
};

/** A raw ustar entry, so the test can write what no well-behaved tar tool would (links, `..`, absolute paths). */
function tarEntry(name: string, body: Buffer, type: '0' | '2' = '0', link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'latin1');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(type, 156, 'latin1');
  h.write(link, 157, 100, 'latin1');
  h.write('ustar\0' + '00', 257, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad]);
}

interface Route {
  body: Buffer;
  type?: string;
  /** Cut the connection after this many bytes on the first full (non-Range) request. */
  cutAfter?: number;
  ignoreRange?: boolean;
  status?: number;
  /** Served with this ETag; a Range request whose If-Range names another gets the whole file (RFC 9110). */
  etag?: string;
  /** Send one byte every this many ms (a server that trickles). */
  trickleMs?: number;
  /** Answer the first request with 429 Too Many Requests and this Retry-After (seconds). */
  busyFirst?: number;
}

describe('data: downloads from a local HTTP server', function () {
  this.timeout(30000);
  let server: http.Server;
  let base: string;
  let tmp: string;
  const routes = new Map<string, Route>();
  const requests: Array<{ url: string; range?: string; ifRange?: string }> = [];
  const cutDone = new Set<string>();

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-dl-'));
    // tar.gz laid out like GitHub's archive of the upstream repository
    const src = path.join(tmp, 'src');
    const rec = path.join(src, 'free-spoken-digit-dataset-master', 'recordings');
    fs.mkdirSync(rec, { recursive: true });
    fs.writeFileSync(path.join(src, 'free-spoken-digit-dataset-master', 'README.md'), 'FSDD\n');
    for (const n of NAMES) fs.writeFileSync(path.join(rec, n), clipBytes(n));
    fs.writeFileSync(path.join(rec, 'notes.txt'), 'not a clip');
    const archive = path.join(tmp, 'fsdd.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: src }, ['free-spoken-digit-dataset-master']);
    const archiveBytes = fs.readFileSync(archive);
    routes.set('/fsdd.tar.gz', { body: archiveBytes });
    routes.set('/fsdd-cut.tar.gz', { body: archiveBytes, cutAfter: Math.floor(archiveBytes.length / 2) });
    routes.set('/fsdd-norange.tar.gz', { body: archiveBytes, ignoreRange: true, cutAfter: 1000 });
    const corrupt = Buffer.from(archiveBytes);
    corrupt.fill(0x5a, 200, 1200);
    routes.set('/corrupt.tar.gz', { body: corrupt });
    const legit = NAMES.map((n) => tarEntry(`fsdd-main/recordings/${n}`, clipBytes(n)));
    routes.set('/hostile.tar.gz', {
      body: zlib.gzipSync(
        Buffer.concat([
          ...legit,
          tarEntry('fsdd-main/recordings/0_link_0.wav', Buffer.alloc(0), '2', '/etc/passwd'),
          tarEntry('fsdd-main/recordings/../../0_escape_0.wav', clipBytes(NAMES[0])),
          Buffer.alloc(1024),
        ]),
      ),
    });
    routes.set('/absolute.tar.gz', { body: zlib.gzipSync(Buffer.concat([...legit, tarEntry('/tmp/recordings/0_absolute_0.wav', clipBytes(NAMES[0])), Buffer.alloc(1024)])) });
    routes.set('/bomb.tar.gz', {
      body: zlib.gzipSync(Buffer.concat([...legit, tarEntry('fsdd-main/recordings/1_huge_0.wav', Buffer.alloc(17 * 1024 * 1024)), Buffer.alloc(1024)])),
    });
    routes.set('/truncated.tar.gz', { body: archiveBytes.subarray(0, archiveBytes.length - 5000) });
    routes.set('/fsdd-v2.tar.gz', { body: archiveBytes, etag: '"v2"' });
    routes.set('/trickle.tar.gz', { body: archiveBytes, trickleMs: 50 });
    routes.set('/busy.tar.gz', { body: archiveBytes, busyFirst: 1 });

    // Parquet like the HF audio datasets: audio struct {bytes, path} + label.
    const withPaths = Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'audio', data: NAMES.map((n) => ({ bytes: new Uint8Array(clipBytes(n)), path: `recordings/${n}` })) as never },
          { name: 'label', data: NAMES.map((n) => BigInt(n[0])) as never },
        ],
        schema: [
          { name: 'root', num_children: 2 },
          { name: 'audio', repetition_type: 'OPTIONAL', num_children: 2 },
          { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
          { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
          { name: 'label', type: 'INT64', repetition_type: 'OPTIONAL' },
        ] as never,
      }),
    );
    const withoutPaths = (names: string[]) => Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'audio', data: names.map((n) => ({ bytes: new Uint8Array(clipBytes(n)), path: null })) as never },
          { name: 'label', data: names.map((n) => BigInt(n[0])) as never },
          { name: 'speaker', data: names.map((n) => n.split('_')[1]) as never },
        ],
        schema: [
          { name: 'root', num_children: 3 },
          { name: 'audio', repetition_type: 'OPTIONAL', num_children: 2 },
          { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
          { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
          { name: 'label', type: 'INT64', repetition_type: 'OPTIONAL' },
          { name: 'speaker', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
        ] as never,
      }),
    );
    routes.set('/files/with-paths.parquet', { body: withPaths });
    const noPaths = withoutPaths(NAMES);
    routes.set('/files/no-paths.parquet', { body: noPaths });
    // The same clips as a dataset's own train and test files (takes 7 and 3).
    routes.set('/files/no-paths-train.parquet', { body: withoutPaths(NAMES.filter((n) => n.endsWith('_7.wav'))) });
    routes.set('/files/no-paths-test.parquet', { body: withoutPaths(NAMES.filter((n) => n.endsWith('_3.wav'))) });
    routes.set('/files/garbage.parquet', { body: Buffer.from('PAR1 this is not parquet PAR1') });

    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push({ url: url.pathname + url.search, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
      if (url.pathname === '/parquet') {
        const ds = url.searchParams.get('dataset') ?? '';
        const file = { 'test/with-paths': 'with-paths', 'test/no-paths': 'no-paths', 'test/garbage': 'garbage' }[ds];
        const entry = (name: string, split: string) => ({ dataset: ds, config: 'default', split, url: `${base}/files/${name}.parquet`, filename: '0000.parquet' });
        const listed = ds === 'test/split' ? [entry('no-paths-train', 'train'), entry('no-paths-test', 'test')] : file ? [entry(file, 'train')] : [];
        const body = JSON.stringify({ parquet_files: listed });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        return;
      }
      const route = routes.get(url.pathname);
      if (!route) {
        res.writeHead(404).end('not found');
        return;
      }
      if (route.busyFirst !== undefined && !cutDone.has(`busy:${url.pathname}`)) {
        cutDone.add(`busy:${url.pathname}`);
        res.writeHead(429, { 'retry-after': String(route.busyFirst) }).end('slow down');
        return;
      }
      if (route.trickleMs !== undefined) {
        res.writeHead(200, { 'content-length': route.body.length });
        let at = 0;
        const drip = setInterval(() => (at < route.body.length && !res.destroyed ? res.write(route.body.subarray(at, ++at)) : clearInterval(drip)), route.trickleMs);
        res.on('close', () => clearInterval(drip));
        return;
      }
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const stale = route.etag !== undefined && req.headers['if-range'] !== undefined && req.headers['if-range'] !== route.etag;
      if (m && !route.ignoreRange && !stale) {
        const start = Number(m[1]);
        if (start >= route.body.length) {
          res.writeHead(416, { 'content-range': `bytes */${route.body.length}` }).end();
          return;
        }
        res.writeHead(206, { 'content-length': route.body.length - start, 'content-range': `bytes ${start}-${route.body.length - 1}/${route.body.length}`, ...(route.etag ? { etag: route.etag } : {}) });
        res.end(route.body.subarray(start));
        return;
      }
      res.writeHead(200, { 'content-length': route.body.length, 'content-type': 'application/octet-stream', ...(route.etag ? { etag: route.etag } : {}) });
      if (route.cutAfter !== undefined && !cutDone.has(url.pathname)) {
        cutDone.add(url.pathname);
        res.write(route.body.subarray(0, route.cutAfter), () => setTimeout(() => res.socket?.destroy(), 10));
        return;
      }
      res.end(route.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  beforeEach(() => {
    requests.length = 0;
    cutDone.clear();
  });

  /** What an earlier run of downloadFile leaves for `dest`: the bytes so far and, when given, where they came from (.part.json). */
  const leavePart = (dest: string, bytes: Uint8Array, origin?: object): void => {
    fs.writeFileSync(`${dest}.part`, bytes);
    if (origin) fs.writeFileSync(`${dest}.part.json`, JSON.stringify(origin));
  };

  let n = 0;
  const freshCache = (): string => path.join(tmp, `cache-${++n}`);
  const common = (cache: string) => ({ to: cache, env: {}, progress: false, expectedClips: 20, hfApi: base });

  it('archive: downloads, extracts only recordings/*.wav, verifies and installs with provenance', async () => {
    const cache = freshCache();
    const ds = await fetchFsdd({ ...common(cache), archiveUrl: `${base}/fsdd.tar.gz`, hfDatasets: [] });
    assert.equal(ds.source, 'github-archive');
    assert.equal(ds.clips.length, 20);
    assert.equal(ds.dir, path.join(cache, 'recordings'));
    assert.deepEqual(fs.readdirSync(ds.dir).sort(), [...NAMES].sort());
    assert.equal(readProvenance(cache)?.clips, 20);
    assert.ok(!fs.existsSync(path.join(cache, 'downloads', 'fsdd-archive.tar.gz')), 'archive removed after install');
    assert.ok(fs.readdirSync(cache).every((e) => !e.startsWith('.staging-')), 'staging removed');
    assert.equal(officialSplit(ds.clips).test.length, 10);
    // second call finds the cache without any request
    requests.length = 0;
    const again = await loadFsdd({ cacheDir: cache, env: {}, download: false });
    assert.match(again.source, /^cache /);
    assert.equal(again.provenance?.source, 'github-archive');
    assert.equal(requests.length, 0);
  });

  it('a hostile archive (symlink, ..) yields only the regular clips, nothing outside', async () => {
    const cache = freshCache();
    const ds = await fetchFsdd({ ...common(cache), archiveUrl: `${base}/hostile.tar.gz`, hfDatasets: [] });
    assert.deepEqual(fs.readdirSync(ds.dir).sort(), [...NAMES].sort());
    for (const n of fs.readdirSync(ds.dir)) assert.ok(fs.lstatSync(path.join(ds.dir, n)).isFile());
    assert.ok(!fs.existsSync(path.join(tmp, '0_escape_0.wav')) && !fs.existsSync(path.join(cache, '0_escape_0.wav')));
  });

  it('an archive with an absolute path is refused as a whole, and nothing is written there', async () => {
    const cache = freshCache();
    await assert.rejects(fetchFsdd({ ...common(cache), archiveUrl: `${base}/absolute.tar.gz`, hfDatasets: [] }), (e: unknown) => e instanceof DatasetError && /GitHub archive: archive is corrupt .*absolute path/.test(e.message));
    assert.ok(!fs.existsSync('/tmp/recordings/0_absolute_0.wav'));
  });

  it('an archive entry far bigger than any clip is refused (no decompression bomb)', async () => {
    const cache = freshCache();
    await assert.rejects(fetchFsdd({ ...common(cache), archiveUrl: `${base}/bomb.tar.gz`, hfDatasets: [] }), (e: unknown) => e instanceof DatasetError && /1_huge_0\.wav is 17825792 bytes/.test(e.message));
  });

  it('resumes after a cut connection with an HTTP Range request', async () => {
    const dest = path.join(tmp, 'cut.tar.gz');
    const r = await downloadFile(`${base}/fsdd-cut.tar.gz`, dest, { progress: false });
    assert.equal(r.attempts, 2);
    assert.equal(r.resumed, true);
    const half = routes.get('/fsdd-cut.tar.gz')!.cutAfter!;
    assert.deepEqual(requests.map((q) => q.range), [undefined, `bytes=${half}-`]);
    assert.deepEqual(fs.readFileSync(dest), routes.get('/fsdd-cut.tar.gz')!.body);
    assert.ok(!fs.existsSync(`${dest}.part`));
  });

  it('resumes a .part left by an earlier run, and finishes a .part that was already complete', async () => {
    const body = routes.get('/fsdd.tar.gz')!.body;
    const dest = path.join(tmp, 'earlier.tar.gz');
    // What an earlier run leaves: the bytes so far, and where they came from.
    leavePart(dest, body.subarray(0, 777), { url: `${base}/fsdd.tar.gz`, total: body.length });
    const r = await downloadFile(`${base}/fsdd.tar.gz`, dest, { progress: false });
    assert.equal(r.resumed, true);
    assert.equal(requests[0].range, 'bytes=777-');
    assert.deepEqual(fs.readFileSync(dest), body);
    assert.ok(!fs.existsSync(`${dest}.part.json`));
    const dest2 = path.join(tmp, 'complete.tar.gz');
    leavePart(dest2, body, { url: `${base}/fsdd.tar.gz`, total: body.length });
    await downloadFile(`${base}/fsdd.tar.gz`, dest2, { progress: false });
    assert.deepEqual(fs.readFileSync(dest2), body);
  });

  it('never splices two files: a .part of another URL, or of a file changed on the server since (If-Range), is downloaded again from the start', async () => {
    const body = routes.get('/fsdd.tar.gz')!.body;
    const other = routes.get('/corrupt.tar.gz')!.body;
    // Another URL's bytes (the archive URL changed between runs): not resumed.
    const dest = path.join(tmp, 'other-url.tar.gz');
    leavePart(dest, other.subarray(0, 4000), { url: `${base}/corrupt.tar.gz` });
    assert.equal((await downloadFile(`${base}/fsdd.tar.gz`, dest, { progress: false })).resumed, false);
    assert.deepEqual(requests.map((q) => q.range), [undefined]);
    assert.deepEqual(fs.readFileSync(dest), body);
    // Of the same URL but of another length than the server's file now (no ETag to tell by): started over.
    requests.length = 0;
    const resized = path.join(tmp, 'resized.tar.gz');
    leavePart(resized, other.subarray(0, 4000), { url: `${base}/fsdd.tar.gz`, total: other.length + 1 });
    assert.equal((await downloadFile(`${base}/fsdd.tar.gz`, resized, { progress: false })).resumed, false);
    assert.deepEqual(requests.map((q) => q.range), ['bytes=4000-', undefined]);
    assert.ok(fs.readFileSync(resized).equals(body));
    // With nothing to tell the file by (a server that gave no ETag, date or length): not resumed.
    requests.length = 0;
    const unknown = path.join(tmp, 'unknown.tar.gz');
    leavePart(unknown, other.subarray(0, 4000), { url: `${base}/fsdd.tar.gz` });
    await downloadFile(`${base}/fsdd.tar.gz`, unknown, { progress: false });
    assert.deepEqual([requests.map((q) => q.range), fs.readFileSync(unknown).equals(body)], [[undefined], true]);
    // A .part that does not say where it came from (an older version's): not resumed either.
    requests.length = 0;
    const bare = path.join(tmp, 'bare.tar.gz');
    leavePart(bare, other.subarray(0, 4000));
    await downloadFile(`${base}/fsdd.tar.gz`, bare, { progress: false });
    assert.deepEqual([requests.map((q) => q.range), fs.readFileSync(bare).equals(body)], [[undefined], true]);
    // The same URL, but the server's file is another version now: If-Range gets the whole new file.
    requests.length = 0;
    const changed = path.join(tmp, 'changed.tar.gz');
    leavePart(changed, other.subarray(0, 4000), { url: `${base}/fsdd-v2.tar.gz`, etag: '"v1"' });
    assert.equal((await downloadFile(`${base}/fsdd-v2.tar.gz`, changed, { progress: false })).resumed, false);
    assert.deepEqual(requests.map((q) => [q.range, q.ifRange]), [['bytes=4000-', '"v1"']]);
    assert.deepEqual(fs.readFileSync(changed), body);
    // The same version: resumed, If-Range naming it.
    requests.length = 0;
    const same = path.join(tmp, 'same.tar.gz');
    leavePart(same, body.subarray(0, 4000), { url: `${base}/fsdd-v2.tar.gz`, etag: '"v2"' });
    assert.equal((await downloadFile(`${base}/fsdd-v2.tar.gz`, same, { progress: false })).resumed, true);
    assert.deepEqual(requests.map((q) => [q.range, q.ifRange]), [['bytes=4000-', '"v2"']]);
    assert.deepEqual(fs.readFileSync(same), body);
  });

  it('429 Too Many Requests is waited out as its Retry-After asks, then the download goes on', async () => {
    const dest = path.join(tmp, 'busy.tar.gz');
    const t0 = performance.now();
    const r = await downloadFile(`${base}/busy.tar.gz`, dest, { progress: false });
    assert.equal(r.attempts, 2);
    assert.ok(performance.now() - t0 >= 950, `retried after ${(performance.now() - t0).toFixed(0)} ms, not the 1 s asked`);
    assert.deepEqual(fs.readFileSync(dest), routes.get('/busy.tar.gz')!.body);
  });

  it('a server that trickles is given up on (not waited on for ever), and not tried again', async () => {
    const dest = path.join(tmp, 'trickle.tar.gz');
    await assert.rejects(
      downloadFile(`${base}/trickle.tar.gz`, dest, { progress: false, idleTimeoutMs: 500, minBytesPerSec: 1000 }),
      (e: unknown) => e instanceof DatasetError && /too slow: under 1000 bytes\/s over 0\.5 s/.test(e.message) && !/attempts/.test(e.message),
    );
    assert.equal(requests.length, 1);
  });

  it('a disk that refuses the write (full: /dev/full) fails the fetch at once with what to do, without trying the other sources', async () => {
    const dest = path.join(tmp, 'full.tar.gz');
    fs.symlinkSync('/dev/full', `${dest}.part`);
    await assert.rejects(downloadFile(`${base}/fsdd.tar.gz`, dest, { progress: false }), (e: unknown) => e instanceof DatasetError && /ENOSPC.*no space left there; free some, or fetch elsewhere with --to DIR/.test(e.message));
    assert.equal(requests.length, 1, 'not retried');
    const cache = freshCache();
    fs.mkdirSync(path.join(cache, 'downloads'), { recursive: true });
    fs.symlinkSync('/dev/full', path.join(cache, 'downloads', 'fsdd-archive.tar.gz.part'));
    requests.length = 0;
    await assert.rejects(fetchFsdd({ ...common(cache), archiveUrl: `${base}/fsdd.tar.gz`, hfDatasets: ['test/with-paths'] }), (e: unknown) => e instanceof DatasetError && /^GitHub archive: cannot write .*ENOSPC/.test(e.message));
    assert.deepEqual(requests.map((q) => q.url), ['/fsdd.tar.gz'], 'the Hugging Face sources were not tried');
  });

  it('two fetches into one cache at once: the second waits for the first and takes its copy (one download); leftovers of an interrupted fetch are removed', async () => {
    const cache = freshCache();
    fs.mkdirSync(path.join(cache, '.staging-left'), { recursive: true });
    fs.writeFileSync(path.join(cache, '.staging-left', '0_george_3.wav'), 'half');
    // Left by a fetch interrupted an hour ago; one written to lately may be another process's, and stays.
    const hourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(path.join(cache, '.staging-left'), hourAgo, hourAgo);
    fs.mkdirSync(path.join(cache, '.staging-recent'));
    const logs: string[] = [];
    const [a, b] = await Promise.all([
      fetchFsdd({ ...common(cache), archiveUrl: `${base}/fsdd.tar.gz`, hfDatasets: [], log: (l) => logs.push(l) }),
      fetchFsdd({ ...common(cache), archiveUrl: `${base}/fsdd.tar.gz`, hfDatasets: [], log: (l) => logs.push(l) }),
    ]);
    assert.deepEqual([a.clips.length, b.clips.length, a.dir], [20, 20, b.dir]);
    assert.deepEqual(requests.map((q) => q.url), ['/fsdd.tar.gz'], 'one download');
    assert.ok(logs.some((l) => /another process is fetching FSDD into .*; waiting for it/.test(l)), logs.join('\n'));
    assert.deepEqual(fs.readdirSync(cache).filter((n) => n.startsWith('.staging-')), ['.staging-recent']);
    assert.ok(!fs.existsSync(path.join(cache, '.fetch.lock')), 'the lock was released');
    // A clip lost from the cache afterwards: the cache is no longer taken as it is.
    fs.rmSync(path.join(a.dir, NAMES[0]));
    await assert.rejects(loadFsdd({ cacheDir: cache, env: {}, download: false }), (e: unknown) => e instanceof DatasetError && /holds 19 clips where 20 were installed \(SOURCE\.json\).*digits data fetch --force/.test(e.message));
    fs.writeFileSync(path.join(a.dir, NAMES[0]), clipBytes(NAMES[0]));
    assert.equal((await loadFsdd({ cacheDir: cache, env: {}, download: false })).clips.length, 20);
  });

  it('a server that ignores Range gets a clean restart, not a spliced file', async () => {
    const dest = path.join(tmp, 'norange.tar.gz');
    const r = await downloadFile(`${base}/fsdd-norange.tar.gz`, dest, { progress: false });
    assert.equal(r.attempts, 2);
    assert.equal(r.resumed, false);
    assert.deepEqual(fs.readFileSync(dest), routes.get('/fsdd-norange.tar.gz')!.body);
  });

  it('refuses a download over maxBytes and reports HTTP errors', async () => {
    await assert.rejects(downloadFile(`${base}/fsdd.tar.gz`, path.join(tmp, 'big'), { progress: false, maxBytes: 100 }), (e: unknown) => e instanceof DatasetError && /over the 100-byte limit/.test(e.message));
    await assert.rejects(downloadFile(`${base}/missing`, path.join(tmp, 'missing'), { progress: false }), (e: unknown) => e instanceof DatasetError && /HTTP 404/.test(e.message));
  });

  it('a corrupt archive falls back to the Hugging Face parquet, keeping FSDD names', async () => {
    const cache = freshCache();
    const ds = await fetchFsdd({ ...common(cache), archiveUrl: `${base}/corrupt.tar.gz`, hfDatasets: ['test/with-paths'] });
    assert.equal(ds.source, 'huggingface:test/with-paths');
    assert.equal(ds.failures.length, 2); // the empty cache, then the archive
    assert.match(ds.failures[1].source, /GitHub archive/);
    assert.match(ds.failures[1].reason, /corrupt/);
    assert.deepEqual(fs.readdirSync(ds.dir).sort(), [...NAMES].sort());
    const a = fs.readFileSync(path.join(ds.dir, NAMES[3]));
    assert.deepEqual(a, clipBytes(NAMES[3]));
    assert.equal(readProvenance(cache)?.syntheticNames, undefined);
  });

  it('parquet without file names: named {label}_{speaker}_{n}, flagged as synthetic', async () => {
    const cache = freshCache();
    const ds = await fetchFsdd({ ...common(cache), archiveUrl: `${base}/missing.tar.gz`, hfDatasets: ['test/no-paths'] });
    assert.equal(ds.clips.length, 20);
    assert.ok(fs.existsSync(path.join(ds.dir, '0_george_0.wav')));
    assert.ok(fs.existsSync(path.join(ds.dir, '9_theo_0.wav')));
    assert.equal(ds.provenance?.syntheticNames, true);
  });

  it('parquet without file names, in train and test files: the test rows get takes 0-4, so the official split is the dataset\'s own', async () => {
    const cache = freshCache();
    const ds = await fetchFsdd({ ...common(cache), archiveUrl: `${base}/missing.tar.gz`, hfDatasets: ['test/split'] });
    assert.equal(ds.provenance?.syntheticNames, true);
    const { train, test } = officialSplit(ds.clips);
    assert.deepEqual([train.length, test.length], [10, 10]);
    // Take 3 was the test file's, take 7 the train file's (listed first).
    assert.deepEqual(new Set(test.map((c) => fs.readFileSync(c.path).equals(clipBytes(`${c.digit}_${c.speaker}_3.wav`)))), new Set([true]));
    assert.deepEqual(new Set(train.map((c) => c.take)), new Set([5]));
  });

  it('a count mismatch fails verification', async () => {
    const cache = freshCache();
    await assert.rejects(
      fetchFsdd({ ...common(cache), expectedClips: 21, archiveUrl: `${base}/fsdd.tar.gz`, hfDatasets: [] }),
      (e: unknown) => e instanceof DatasetError && /expected 21 clips, found 20/.test(e.message),
    );
    assert.ok(!fs.existsSync(path.join(cache, 'recordings')), 'nothing installed');
  });

  it('every source failing -> one DatasetError naming each source and its failure', async () => {
    const cache = freshCache();
    await assert.rejects(
      // `data fetch` fetches into the cache (or --to) whatever $SPOKEN_DIGITS_DATA says.
      fetchFsdd({ ...common(cache), env: { SPOKEN_DIGITS_DATA: path.join(tmp, 'nowhere') }, archiveUrl: `${base}/truncated.tar.gz`, hfDatasets: ['test/garbage', 'test/empty'] }),
      (e: unknown) => {
        assert.ok(e instanceof DatasetError);
        const msg = e.message;
        assert.doesNotMatch(msg, /SPOKEN_DIGITS_DATA/);
        assert.match(msg, /cache .*cache-\d+: folder does not exist/);
        assert.match(msg, /GitHub archive: archive is corrupt/);
        assert.match(msg, /Hugging Face test\/garbage: .*not a readable parquet/);
        assert.match(msg, /Hugging Face test\/empty: no parquet files listed/);
        return true;
      },
    );
  });

  it('$SPOKEN_DIGITS_DATA naming a folder without clips is an error, not a silent fall back to the cache', async () => {
    const cache = freshCache();
    await fetchFsdd({ ...common(cache), archiveUrl: `${base}/fsdd.tar.gz`, hfDatasets: [] });
    await assert.rejects(
      loadFsdd({ cacheDir: cache, env: { SPOKEN_DIGITS_DATA: path.join(tmp, 'typo') }, download: false }),
      (e: unknown) => e instanceof DatasetError && /^\$SPOKEN_DIGITS_DATA=.*typo: folder does not exist \(unset SPOKEN_DIGITS_DATA to use the cache/.test(e.message),
    );
    assert.equal((await loadFsdd({ cacheDir: cache, env: {}, download: false })).clips.length, 20);
  });

  it('an unreachable host fails fast with the reason', async () => {
    const cache = freshCache();
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const t0 = performance.now();
    await assert.rejects(fetchFsdd({ ...common(cache), archiveUrl: `${dead}/fsdd.tar.gz`, hfApi: dead, hfDatasets: ['x/y'] }), (e: unknown) => e instanceof DatasetError && /GitHub archive: .*ECONNREFUSED/.test(e.message) && /x\/y: cannot connect/.test(e.message));
    assert.ok(performance.now() - t0 < 5000);
  });

  it('installed clips list like any local folder', () => {
    const dirs = fs.readdirSync(tmp).filter((d) => d.startsWith('cache-') && fs.existsSync(path.join(tmp, d, 'recordings')));
    assert.ok(dirs.length > 0);
    for (const d of dirs) assert.equal(listFsddClips(path.join(tmp, d, 'recordings')).length, 20);
  });
});
