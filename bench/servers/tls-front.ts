/**
 * The interop tests' TLS front (test/interop/support/tls-front.ts) as its own process, so that the
 * benchmark can count its CPU apart from rclone's and the server's: a throwaway CA and certificate for
 * Box's host names, and an HTTP CONNECT proxy that lands api.box.com and upload.box.com on `--target`.
 * Prints {proxyUrl, caPath} as one JSON line, then serves until SIGTERM.
 */
import { startTlsFront } from '../../test/interop/support/tls-front.js';
import { BOX_HOSTS, makeCertificates } from '../../test/interop/support/tls.js';
import { args, fail, required } from '../clients/common.js';

try {
  const options = args();
  const certificates = await makeCertificates(BOX_HOSTS);
  const front = await startTlsFront(required(options, 'target'), certificates, BOX_HOSTS);
  const shutdown = async () => {
    await front.close();
    await certificates.remove();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  process.stdout.write(`${JSON.stringify({ proxyUrl: front.proxyUrl, caPath: certificates.caPath })}\n`);
} catch (error) {
  fail(error);
}
