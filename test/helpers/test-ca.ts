/**
 * A private CA and one server certificate signed by it, made with the system openssl in `dir`: an https test
 * server with this key/cert is trusted only by a client given this CA.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  /** PEM files in `dir`. */
  readonly caFile: string;
  readonly keyFile: string;
  readonly certFile: string;
}

/** `subjectAltName`: e.g. `IP:127.0.0.1` or `DNS:images.test`; the leaf's CN is the name after the colon. */
export function issueTestCertificate(dir: string, subjectAltName: string, caName = 'raypack test CA'): TestCertificate {
  const openssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const cn = subjectAltName.slice(subjectAltName.indexOf(':') + 1);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${caName}`]);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${cn}`]);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${subjectAltName}\n`);
  openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'ext.cnf']);
  return { caFile: join(dir, 'ca.pem'), keyFile: join(dir, 'leaf.key'), certFile: join(dir, 'leaf.pem') };
}
