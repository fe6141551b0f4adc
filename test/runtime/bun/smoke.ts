/**
 * Smoke checks of the Bun adapter against servers on 127.0.0.1, run by `bun run`. The checks
 * that Deno runs too live in `../shared-checks.ts`; this script adds the Bun-only ones. Each
 * check prints `ok - NAME` or `not ok - NAME: reason`; the last line counts them and the exit
 * code is 1 when any failed. Settings come from `--name=value` arguments or
 * `MAILWIRE_SMOKE_NAME` variables: host, starttls-port, tls-port, tls12-port, closed-port,
 * smtp-port, ca-file, log-dir, user;
 * the password comes only from MAILWIRE_SMOKE_PASS so that it never shows in a process list.
 */
import { readFile, stat } from 'node:fs/promises';
import { bunConnector } from '../../../packages/bun/src/connect.ts';
import {
  createTransporter,
  globalLogFile,
  openLogFile,
  setGlobalLogFile,
} from '../../../packages/bun/src/index.ts';
import {
  assert,
  checkGlobalLogFile,
  checkImplicitTls,
  checkLogFiles,
  checkPlainSockets,
  checkStartTls,
  checkTransporter,
  command,
  expectRejection,
  SmokeRun,
  sleep,
} from '../shared-checks.ts';

function setting(name: string): string {
  const prefix = `--${name}=`;
  const fromArgs = process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
  const variable = `MAILWIRE_SMOKE_${name.toUpperCase().replaceAll('-', '_')}`;
  const value = fromArgs ?? process.env[variable];
  if (!value) throw new Error(`Missing setting: pass --${name}=VALUE or set ${variable}`);
  return value;
}

const host = setting('host');
const tls12Port = Number(setting('tls12-port'));
const ca = await readFile(setting('ca-file'), 'utf8');
const logDir = setting('log-dir');

const run = new SmokeRun(
  {
    host,
    starttlsPort: Number(setting('starttls-port')),
    tlsPort: Number(setting('tls-port')),
    closedPort: Number(setting('closed-port')),
    smtpPort: Number(setting('smtp-port')),
    ca,
    logDir,
    user: setting('user'),
    pass: process.env.MAILWIRE_SMOKE_PASS ?? '',
  },
  {
    name: 'Bun',
    connector: bunConnector,
    processId: process.pid,
    createTransporter,
    openLogFile,
    globalLogFile,
    setGlobalLogFile,
    readTextFile: (path) => readFile(path, 'utf8'),
    fileStat: (path) => stat(path),
  },
);

await checkPlainSockets(run);

// Bun reads the peer certificate, so its details carry more than Deno's.
await checkStartTls(run, (details) => {
  assert(details.protocol === 'TLSv1.3', `protocol: ${details.protocol}`);
  assert(details.cipher !== undefined, 'no cipher');
  assert(details.subject?.startsWith('CN=localhost') === true, `subject: ${details.subject}`);
  assert(details.validTo !== undefined, 'no validTo');
  assert(!Number.isNaN(Date.parse(details.validTo)), `validTo: ${details.validTo}`);
  assert(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(details.fingerprint256 ?? ''), 'fingerprint256');
});

await run.check('STARTTLS drops unread plaintext', async () => {
  const socket = await run.openPlain();
  // The 220 reply arrives while no read is pending; it must not surface on either socket.
  await socket.write(new TextEncoder().encode('STARTTLS\r\n'));
  await sleep(200);
  const upgraded = await socket.upgradeTls({ host, ca, servername: 'localhost' });
  assert((await socket.read()) === null, 'the plain socket still returns the 220 reply');
  const ehlo = await command(upgraded.socket, 'EHLO smoke.example.test');
  assert(ehlo.startsWith('250-smoke.test over TLS'), `first reply over TLS: ${ehlo}`);
  upgraded.socket.close();
});

await run.check('implicit TLS enforces minVersion', async () => {
  const options = { host, port: tls12Port, secure: true };
  const { socket, tls } = await bunConnector.connect({ ...options, tls: { ca } });
  assert(tls?.protocol === 'TLSv1.2', `protocol: ${tls?.protocol}`);
  socket.close();
  const connecting = bunConnector.connect({ ...options, tls: { ca, minVersion: 'TLSv1.3' } });
  await expectRejection(connecting, /TLSv1\.2, below minVersion TLSv1\.3/);
});

await checkImplicitTls(run);

// The directory does not exist, so every write fails with ENOENT.
await checkLogFiles(run, { path: `${logDir}/missing/denied.log`, expectedWarning: 'denied.log' });
await checkGlobalLogFile(run, process.env.MAILWIRE_LOG);
await checkTransporter(run);

process.exit(run.finish());
