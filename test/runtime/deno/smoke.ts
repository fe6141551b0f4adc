/**
 * Smoke checks of the Deno adapter against servers on 127.0.0.1, run by `deno run`. The checks
 * that Bun runs too live in `../shared-checks.ts`; this script adds the Deno-only ones. Each
 * check prints `ok - NAME` or `not ok - NAME: reason`; the last line counts them and the exit
 * code is 1 when any failed. Settings come from `--name=value` arguments or
 * `MAILWIRE_SMOKE_NAME` variables: host, starttls-port, tls-port, closed-port, smtp-port,
 * ca-file, log-dir, user;
 * the password comes only from MAILWIRE_SMOKE_PASS so that it never shows in a process list.
 */
import { denoConnector } from '../../../packages/deno/src/connect.ts';
import {
  createTransporter,
  globalLogFile,
  openLogFile,
  setGlobalLogFile,
} from '../../../packages/deno/src/index.ts';
import {
  assert,
  checkGlobalLogFile,
  checkImplicitTls,
  checkLogFiles,
  checkPlainSockets,
  checkStartTls,
  checkTransporter,
  expectRejection,
  SmokeRun,
  sleep,
} from '../shared-checks.ts';

function setting(name: string): string {
  const prefix = `--${name}=`;
  const fromArgs = Deno.args.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
  const variable = `MAILWIRE_SMOKE_${name.toUpperCase().replaceAll('-', '_')}`;
  const value = fromArgs ?? Deno.env.get(variable);
  if (!value) throw new Error(`Missing setting: pass --${name}=VALUE or set ${variable}`);
  return value;
}

const host = setting('host');
const closedPort = Number(setting('closed-port'));
const ca = await Deno.readTextFile(setting('ca-file'));
const logDir = setting('log-dir');

const run = new SmokeRun(
  {
    host,
    starttlsPort: Number(setting('starttls-port')),
    tlsPort: Number(setting('tls-port')),
    closedPort,
    smtpPort: Number(setting('smtp-port')),
    ca,
    logDir,
    user: setting('user'),
    pass: Deno.env.get('MAILWIRE_SMOKE_PASS') ?? '',
  },
  {
    name: 'Deno',
    connector: denoConnector,
    processId: Deno.pid,
    createTransporter,
    openLogFile,
    globalLogFile,
    setGlobalLogFile,
    readTextFile: (path) => Deno.readTextFile(path),
    fileStat: (path) => Deno.stat(path),
  },
);

await checkPlainSockets(run);

await run.check('missing net permission names the flag', async () => {
  // 127.0.0.2 is outside --allow-net=127.0.0.1, so Deno refuses before sending anything.
  const connecting = denoConnector.connect({
    host: '127.0.0.2',
    port: closedPort,
    secure: false,
    tls: {},
  });
  const error = await expectRejection(
    connecting,
    new RegExp(`--allow-net=127\\.0\\.0\\.2:${closedPort}`),
  );
  assert(error.cause instanceof Error, 'the original error is not kept as cause');
});

await checkStartTls(run);

await run.check('STARTTLS with unread plaintext fails', async () => {
  const socket = await run.openPlain();
  // The 220 reply stays unread; Deno's TLS layer must not accept it as part of the handshake.
  await socket.write(new TextEncoder().encode('STARTTLS\r\n'));
  await sleep(200);
  await expectRejection(socket.upgradeTls({ host, ca, servername: 'localhost' }), /TLS/);
  socket.close();
});

await run.check('verification cannot be turned off', async () => {
  const plain = await run.openForStartTls();
  const upgrading = plain.upgradeTls({ host, ca, rejectUnauthorized: false });
  await expectRejection(upgrading, /rejectUnauthorized false is not supported on Deno/);
  plain.close();
});

await checkImplicitTls(run);

// Outside --allow-write, so every write fails with NotCapable.
await checkLogFiles(run, {
  path: `${logDir}-outside/denied.log`,
  expectedWarning: '--allow-write=',
});
await checkGlobalLogFile(run, Deno.env.get('MAILWIRE_LOG'));
await checkTransporter(run);

Deno.exit(run.finish());
