import type { Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { networkInterfaces } from 'node:os';
import { ServeError } from '../../errors.js';
import { fsReason } from '../../fs-reason.js';
import { readRegularFile } from '../../files.js';
import { packageRoot } from '../../package-root.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the kiosk web app and the models (static files; all recognition runs in the browser)')
    .option('--port <n>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <addr>', 'address to bind; the default serves this machine only', '127.0.0.1')
    .option('--root <dir>', 'built web app folder (default: web-dist/ of the package)')
    .option('--models <dir>', 'folder of .onnx models (default: models/ of the package)')
    .option('--tls-cert <file>', 'serve https with this PEM certificate (chain); with --tls-key. Browsers allow the microphone only on https or localhost')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .action(async (opts: { port: string; host: string; root?: string; models?: string; tlsCert?: string; tlsKey?: string }) => {
      const port = Number(opts.port);
      if (!/^\d+$/.test(opts.port) || port > 65535) throw new ServeError(`--port ${opts.port} must be an integer in 0..65535`);
      const tls = await readTls(opts.tlsCert, opts.tlsKey);
      const { startServer, httpUrl, scanModels } = await import('../../web/server.js');
      const base = packageRoot();
      const modelsDir = resolve(opts.models ?? join(base, 'models'));
      // Checked before the server starts: an error after it would leave it serving.
      checkModelsFolder(modelsDir, opts.models !== undefined);
      const { served, unserved } = scanModels(modelsDir);
      const running = await startServer({ root: resolve(opts.root ?? join(base, 'web-dist')), modelsDir, port, host: opts.host, tls });
      process.stdout.write(`digits serve: ${running.url}/  (kiosk: ${running.url}/?kiosk=1)\n`);
      for (const { name, why } of unserved) process.stderr.write(`digits serve: warning: ${join(modelsDir, name)} is not served: ${why}\n`);
      if (served.length === 0) process.stderr.write(`digits serve: warning: no .onnx model to serve in ${modelsDir}; the page will have nothing to run (pass --models)\n`);
      if (!running.loopbackOnly) {
        const others = running.everyInterface ? networkAddresses(running.address === '::') : [];
        process.stderr.write(
          `digits serve: warning: listening on ${running.address}, reachable from other machines` +
            (others.length ? ` (${others.map((a) => `${httpUrl(a, running.port, running.secure)}/`).join(', ')})` : '') +
            (running.secure ? '.\n' : '. Browsers only allow the microphone on https or localhost, so remote kiosks need --tls-cert and --tls-key (or a TLS proxy in front).\n'),
        );
      }
      const stop = () => void running.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise<void>((done) => running.server.once('close', () => done()));
    });
}

/** --tls-cert and --tls-key read, or undefined when neither is given; a ServeError for one alone or an unreadable file. */
async function readTls(certFile: string | undefined, keyFile: string | undefined): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new ServeError(`${certFile === undefined ? '--tls-key' : '--tls-cert'} needs ${certFile === undefined ? '--tls-cert' : '--tls-key'} too: https takes a certificate and its private key`);
  // PEM files of a few KB; a chain of many certificates stays far below 1 MB.
  const read = async (flag: string, file: string) => Buffer.from(await readRegularFile(file, 1 << 20, (why, cause) => new ServeError(`${flag} ${file}: ${why}`, { cause })));
  return { cert: await read('--tls-cert', certFile), key: await read('--tls-key', keyFile) };
}

/** A ServeError when the models folder is not a readable folder (a missing default folder is let be: nothing to serve). */
function checkModelsFolder(dir: string, given: boolean): void {
  if (!existsSync(dir) && !given) return;
  try {
    if (!statSync(dir).isDirectory()) throw new ServeError(`--models ${dir} is not a folder`);
    readdirSync(dir);
  } catch (err) {
    if (err instanceof ServeError) throw err;
    throw new ServeError(`--models ${dir}: ${fsReason(err, { ENOENT: 'no such folder' })}`, { cause: err });
  }
}

/** This machine's non-loopback addresses (IPv4; IPv6 too for a bind to ::), for a bind to every interface. */
function networkAddresses(ipv6: boolean): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && (a.family === 'IPv4' || (ipv6 && a.family === 'IPv6' && !a.address.startsWith('fe80'))))
    .map((a) => a!.address);
}
