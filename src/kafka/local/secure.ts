import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BrokerError } from '../../errors.ts';
import { execCollect, tailLines } from './exec.ts';

/**
 * `prism kafka up --secure`: a SASL_SSL listener next to the internal PLAINTEXT one. A throw-away
 * CA and a broker certificate (SAN 127.0.0.1 and localhost) are made with openssl in
 * `<runDir>/secure/`; one SCRAM-SHA-512 (and -256) user is created when the log dir is formatted.
 * Secrets (SCRAM password, keystore password) live in 0600 files there and are shown as paths only.
 */
export const DEFAULT_SCRAM_USER = 'prism';

export interface SecureMaterial {
  /** PEM of the CA that signed the broker certificate: what clients trust (kafka.ssl.caFile). */
  caFile: string;
  /** PKCS#12 keystore of the broker (key + cert chain). */
  keystoreFile: string;
  /** 0600 file holding the keystore password. */
  keystorePasswordFile: string;
  keystorePassword: string;
  username: string;
  /** 0600 file holding the SCRAM password (kafka.sasl.passwordFile). */
  passwordFile: string;
  password: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  let res;
  try {
    res = await execCollect('openssl', args, { cwd });
  } catch (err) {
    throw new BrokerError(
      'BROKER_FORMAT_FAILED',
      `openssl is needed for --secure but could not run: ${String(err)}`,
      {
        cause: err,
      },
    );
  }
  if (res.code !== 0) {
    throw new BrokerError(
      'BROKER_FORMAT_FAILED',
      `openssl ${args[0]} failed (exit ${res.code}):\n${tailLines(res.output, 10)}`,
    );
  }
}

async function secretFile(path: string, value: string): Promise<void> {
  await writeFile(path, `${value}\n`, { mode: 0o600 });
  await chmod(path, 0o600); // an existing file keeps its mode on writeFile
}

/** Validity of the throw-away certificates, in days. */
const CERT_DAYS = '825';

/** Self-signed CA (ca.key, ca.pem). */
async function createCa(dir: string): Promise<void> {
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      CERT_DAYS,
      '-subj',
      '/CN=prism-stream local Kafka CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

/** Broker key and signing request (broker.key, broker.csr). */
async function createBrokerKey(dir: string): Promise<void> {
  await openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'broker.key',
      '-out',
      'broker.csr',
      '-subj',
      '/CN=localhost',
    ],
    dir,
  );
}

/** Broker certificate signed by the CA, SAN from broker-ext.cnf (broker.pem). */
async function signBrokerCert(dir: string): Promise<void> {
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      'broker.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'broker.pem',
      '-days',
      CERT_DAYS,
      '-extfile',
      'broker-ext.cnf',
    ],
    dir,
  );
}

/** PKCS#12 keystore of key + chain (broker.p12), protected by the keystore password file. */
async function exportKeystore(dir: string, keystorePasswordFile: string): Promise<void> {
  await openssl(
    [
      'pkcs12',
      '-export',
      '-in',
      'broker.pem',
      '-inkey',
      'broker.key',
      '-certfile',
      'ca.pem',
      '-name',
      'broker',
      '-out',
      'broker.p12',
      '-passout',
      `file:${keystorePasswordFile}`,
    ],
    dir,
  );
}

/** The CA, the broker certificate and its keystore, in that order (each step reads the last one's files). */
async function issueCertificates(dir: string, keystorePasswordFile: string): Promise<void> {
  await createCa(dir);
  await createBrokerKey(dir);
  await signBrokerCert(dir);
  await exportKeystore(dir, keystorePasswordFile);
}

/** Fresh CA, broker key/cert and passwords in `<runDir>/secure` (regenerated on every start). */
export async function createSecureMaterial(
  runDir: string,
  username = DEFAULT_SCRAM_USER,
): Promise<SecureMaterial> {
  const dir = join(runDir, 'secure');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const password = randomBytes(18).toString('base64url');
  const keystorePassword = randomBytes(18).toString('base64url');
  const m: SecureMaterial = {
    caFile: join(dir, 'ca.pem'),
    keystoreFile: join(dir, 'broker.p12'),
    keystorePasswordFile: join(dir, 'keystore.password'),
    keystorePassword,
    username,
    passwordFile: join(dir, `${username}.password`),
    password,
  };
  await secretFile(m.passwordFile, password);
  await secretFile(m.keystorePasswordFile, keystorePassword);
  await writeFile(
    join(dir, 'broker-ext.cnf'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
      'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  await issueCertificates(dir, m.keystorePasswordFile);
  await Promise.all(['ca.key', 'broker.key', 'broker.p12'].map((f) => chmod(join(dir, f), 0o600)));
  return m;
}

/** server.properties lines for the SASL_SSL listener (appended to the rendered template). */
export function secureServerProperties(
  securePort: number,
  m: Pick<SecureMaterial, 'keystoreFile' | 'keystorePassword'>,
): string[] {
  const jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  return [
    'sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256',
    `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${jaas}`,
    `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${jaas}`,
    'listener.name.sasl_ssl.ssl.keystore.type=PKCS12',
    `listener.name.sasl_ssl.ssl.keystore.location=${m.keystoreFile.replaceAll('\\', '/')}`,
    `listener.name.sasl_ssl.ssl.keystore.password=${m.keystorePassword}`,
    `listener.name.sasl_ssl.ssl.key.password=${m.keystorePassword}`,
    'listener.name.sasl_ssl.ssl.client.auth=none',
    // Host-name verification is the client's job (kafka.ssl.*); this is the broker-side default.
    `# SASL_SSL listener on 127.0.0.1:${securePort}`,
  ];
}

/** StorageTool `format` arguments that create the SCRAM user (both hash sizes). */
export function scramFormatArgs(m: Pick<SecureMaterial, 'username' | 'password'>): string[] {
  return ['SCRAM-SHA-512', 'SCRAM-SHA-256'].flatMap((mech) => [
    '--add-scram',
    `${mech}=[name=${m.username},password=${m.password}]`,
  ]);
}
