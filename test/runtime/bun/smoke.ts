/**
 * Smoke checks of the Bun adapter against servers on 127.0.0.1, run by `bun run`. Each check
 * prints `ok - NAME` or `not ok - NAME: reason`; the last line counts them and the exit code
 * is 1 when any failed. Settings come from `--name=value` arguments or `MAILWIRE_SMOKE_NAME`
 * variables: host, starttls-port, tls-port, tls12-port, closed-port, smtp-port, ca-file,
 * log-dir, user;
 * the password comes only from MAILWIRE_SMOKE_PASS so that it never shows in a process list.
 */
import { readFile, stat } from 'node:fs/promises';
import { parseTextLine, type SocketLike, type TranscriptEntry } from '@mailwire/core';
import { bunConnector } from '../../../packages/bun/src/connect.ts';
import {
  createTransporter,
  globalLogFile,
  openLogFile,
  setGlobalLogFile,
} from '../../../packages/bun/src/index.ts';

const CHECK_TIMEOUT_MS = 10_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function setting(name: string): string {
  const prefix = `--${name}=`;
  const fromArgs = process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
  const variable = `MAILWIRE_SMOKE_${name.toUpperCase().replaceAll('-', '_')}`;
  const value = fromArgs ?? process.env[variable];
  if (!value) throw new Error(`Missing setting: pass --${name}=VALUE or set ${variable}`);
  return value;
}

const host = setting('host');
const starttlsPort = Number(setting('starttls-port'));
const tlsPort = Number(setting('tls-port'));
const tls12Port = Number(setting('tls12-port'));
const closedPort = Number(setting('closed-port'));
const smtpPort = Number(setting('smtp-port'));
const ca = await readFile(setting('ca-file'), 'utf8');
const logDir = setting('log-dir');
const user = setting('user');
const pass = process.env.MAILWIRE_SMOKE_PASS ?? '';

let passed = 0;
let failed = 0;

async function check(name: string, body: () => Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([body(), deadline]);
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    const reason = error instanceof Error ? error.message : String(error);
    console.log(`not ok - ${name}: ${reason.replaceAll('\n', ' ')}`);
  } finally {
    clearTimeout(timer);
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Read one whole reply: lines until one whose fourth character is a space. */
async function readReply(socket: SocketLike): Promise<string> {
  let text = '';
  for (;;) {
    const lines = text.split('\r\n');
    const last = lines.at(-2);
    if (last !== undefined && /^\d{3} /.test(last)) return text;
    const chunk = await socket.read();
    if (chunk === null) throw new Error(`connection closed after ${JSON.stringify(text)}`);
    text += decoder.decode(chunk);
  }
}

async function command(socket: SocketLike, line: string): Promise<string> {
  await socket.write(encoder.encode(`${line}\r\n`));
  return readReply(socket);
}

async function expectRejection(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof Error, `rejected with a non-Error: ${String(error)}`);
    assert(pattern.test(error.message), `unexpected message: ${error.message}`);
    return error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

/** Plain connection to the STARTTLS server, greeted and past EHLO and STARTTLS. */
async function openForStartTls(): Promise<SocketLike> {
  const { socket } = await bunConnector.connect({
    host,
    port: starttlsPort,
    secure: false,
    tls: {},
  });
  await readReply(socket);
  await command(socket, 'EHLO smoke.example.test');
  const reply = await command(socket, 'STARTTLS');
  assert(reply.startsWith('220 '), `STARTTLS reply: ${reply}`);
  return socket;
}

function entry(text: string, connectionId: number): TranscriptEntry {
  return {
    counter: 1000,
    time: Date.now(),
    elapsedMs: 0,
    processId: process.pid,
    connectionId,
    direction: 'client',
    text,
    redacted: false,
  };
}

await check('plain connect reads the greeting and writes', async () => {
  const { socket, tls } = await bunConnector.connect({
    host,
    port: starttlsPort,
    secure: false,
    tls: {},
  });
  assert(tls === undefined, 'plain connection reported TLS details');
  assert(socket.remoteAddress === host, `remoteAddress: ${socket.remoteAddress}`);
  assert(socket.localAddress === host, `localAddress: ${socket.localAddress}`);
  const greeting = await readReply(socket);
  assert(greeting.startsWith('220 '), `greeting: ${greeting}`);
  const ehlo = await command(socket, 'EHLO smoke.example.test');
  assert(ehlo.includes('250 STARTTLS'), `EHLO reply: ${ehlo}`);
  const quit = await command(socket, 'QUIT');
  assert(quit.startsWith('221 '), `QUIT reply: ${quit}`);
  socket.close();
  socket.close();
  assert((await socket.read()) === null, 'read after close returned data');
});

await check('write sends every byte of a large buffer', async () => {
  const { socket } = await bunConnector.connect({
    host,
    port: starttlsPort,
    secure: false,
    tls: {},
  });
  await readReply(socket);
  const size = 8 * 1024 * 1024;
  await socket.write(encoder.encode(`SINK ${size}\r\n`));
  await socket.write(new Uint8Array(size).fill(0x61));
  const reply = await readReply(socket);
  assert(reply.startsWith(`250 received ${size}`), `SINK reply: ${reply}`);
  socket.close();
});

await check('read returns every byte of a large reply', async () => {
  const { socket } = await bunConnector.connect({
    host,
    port: starttlsPort,
    secure: false,
    tls: {},
  });
  await readReply(socket);
  const size = 4 * 1024 * 1024;
  await socket.write(encoder.encode(`BLOB ${size}\r\n`));
  // Let the bytes pile up unread first, so that the socket has to pause and resume.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const tail = '\r\n250 2.0.0 blob sent\r\n';
  let received = 0;
  let last = '';
  while (received < size + tail.length) {
    const chunk = await socket.read();
    if (chunk === null) throw new Error(`connection closed after ${received} bytes`);
    received += chunk.length;
    last = (last + decoder.decode(chunk)).slice(-tail.length);
  }
  assert(received === size + tail.length, `received ${received} bytes`);
  assert(last === tail, `reply after the bytes: ${JSON.stringify(last)}`);
  socket.close();
});

await check('refused connection keeps ECONNREFUSED', async () => {
  const connecting = bunConnector.connect({ host, port: closedPort, secure: false, tls: {} });
  const error = await expectRejection(connecting, /connection refused/);
  assert((error as { code?: string }).code === 'ECONNREFUSED', `code: ${String(error)}`);
});

await check('STARTTLS with the CA is verified', async () => {
  const plain = await openForStartTls();
  const { socket, details } = await plain.upgradeTls({ host, ca, servername: 'localhost' });
  assert(details.authorized === true, 'not authorized');
  assert(details.serverName === 'localhost', `serverName: ${details.serverName}`);
  assert(details.protocol === 'TLSv1.3', `protocol: ${details.protocol}`);
  assert(details.cipher !== undefined, 'no cipher');
  assert(details.subject?.startsWith('CN=localhost') === true, `subject: ${details.subject}`);
  assert(details.validTo !== undefined, 'no validTo');
  assert(!Number.isNaN(Date.parse(details.validTo)), `validTo: ${details.validTo}`);
  assert(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(details.fingerprint256 ?? ''), 'fingerprint256');
  assert((await plain.read()) === null, 'the plain socket still reads after the upgrade');
  const ehlo = await command(socket, 'EHLO smoke.example.test');
  assert(ehlo.includes('over TLS'), `EHLO reply over TLS: ${ehlo}`);
  await command(socket, 'QUIT');
  socket.close();
});

await check('STARTTLS without the CA is rejected', async () => {
  const plain = await openForStartTls();
  await expectRejection(plain.upgradeTls({ host, servername: 'localhost' }), /tls\.ca/);
  plain.close();
});

await check('STARTTLS with a wrong name is rejected', async () => {
  const plain = await openForStartTls();
  const upgrading = plain.upgradeTls({ host, ca, servername: 'wrong.example.test' });
  await expectRejection(upgrading, /does not list wrong\.example\.test/);
  plain.close();
});

await check('STARTTLS drops unread plaintext', async () => {
  const { socket } = await bunConnector.connect({
    host,
    port: starttlsPort,
    secure: false,
    tls: {},
  });
  await readReply(socket);
  // The 220 reply arrives while no read is pending; it must not surface on either socket.
  await socket.write(encoder.encode('STARTTLS\r\n'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const upgraded = await socket.upgradeTls({ host, ca, servername: 'localhost' });
  assert((await socket.read()) === null, 'the plain socket still returns the 220 reply');
  const ehlo = await command(upgraded.socket, 'EHLO smoke.example.test');
  assert(ehlo.startsWith('250-smoke.test over TLS'), `first reply over TLS: ${ehlo}`);
  upgraded.socket.close();
});

await check('implicit TLS enforces minVersion', async () => {
  const options = { host, port: tls12Port, secure: true };
  const { socket, tls } = await bunConnector.connect({ ...options, tls: { ca } });
  assert(tls?.protocol === 'TLSv1.2', `protocol: ${tls?.protocol}`);
  socket.close();
  const connecting = bunConnector.connect({ ...options, tls: { ca, minVersion: 'TLSv1.3' } });
  await expectRejection(connecting, /TLSv1\.2, below minVersion TLSv1\.3/);
});

await check('implicit TLS with the CA is verified', async () => {
  const { socket, tls } = await bunConnector.connect({
    host,
    port: tlsPort,
    secure: true,
    tls: { ca, servername: 'localhost' },
  });
  assert(tls?.authorized === true, 'not authorized');
  const greeting = await readReply(socket);
  assert(greeting.includes('TLS'), `greeting: ${greeting}`);
  await command(socket, 'QUIT');
  socket.close();
});

await check('implicit TLS verifies an IP address', async () => {
  const { socket, tls } = await bunConnector.connect({
    host,
    port: tlsPort,
    secure: true,
    tls: { ca },
  });
  assert(tls?.serverName === host, `serverName: ${tls?.serverName}`);
  await readReply(socket);
  socket.close();
});

await check('implicit TLS without the CA is rejected', async () => {
  const connecting = bunConnector.connect({
    host,
    port: tlsPort,
    secure: true,
    tls: { servername: 'localhost' },
  });
  await expectRejection(connecting, /was rejected.*tls\.ca/);
});

await check('log file shares one counter per path', async () => {
  const path = `${logDir}/shared.log`;
  const first = openLogFile(path, 'text');
  const second = openLogFile(`${logDir}/./sub/../shared.log`, 'text');
  for (let index = 0; index < 5; index += 1) {
    first.write([entry(`EHLO first ${index}`, 1)]);
    second.write([entry(`EHLO second ${index}`, 2)]);
  }
  await first.flush();
  await second.flush();

  const lines = (await readFile(path, 'utf8')).split('\n');
  assert(lines.pop() === '', 'the file does not end with a line feed');
  const counters = lines.map((line) => parseTextLine(line)?.counter);
  assert(counters.join(',') === '1,2,3,4,5,6,7,8,9,10', `counters: ${counters.join(',')}`);
  const mode = (await stat(path)).mode;
  assert((mode & 0o777) === 0o600, `mode: ${mode.toString(8)}`);
});

await check('log file writes JSON Lines', async () => {
  const path = `${logDir}/lines.jsonl`;
  const sink = openLogFile(path, 'jsonl');
  sink.write([entry('MAIL FROM:<a@example.test>', 3), entry('RCPT TO:<b@example.test>', 3)]);
  await sink.flush();
  const records = (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert(records.length === 2, `records: ${records.length}`);
  assert(records[1].counter === 2, `second counter: ${records[1].counter}`);
  assert(records[1].text === 'RCPT TO:<b@example.test>', `second text: ${records[1].text}`);
});

await check('log file rotates by size', async () => {
  const path = `${logDir}/rotating.log`;
  const sink = openLogFile(path, 'text', { maxBytes: 300, maxFiles: 2 });
  for (let index = 0; index < 20; index += 1) sink.write([entry(`NOOP ${index}`, 4)]);
  await sink.flush();
  for (const name of ['rotating.log', 'rotating_1.log', 'rotating_2.log']) {
    const size = (await stat(`${logDir}/${name}`)).size;
    assert(size > 0, `${name} is empty`);
    assert(size <= 300, `${name} has ${size} bytes`);
  }
  const third = await stat(`${logDir}/rotating_3.log`).catch(() => null);
  assert(third === null, 'more rotated files than maxFiles');
});

await check('log write failure warns once', async () => {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...values: unknown[]) => warnings.push(values.join(' '));
  try {
    // The directory does not exist, so every write fails with ENOENT.
    const sink = openLogFile(`${logDir}/missing/denied.log`, 'text');
    sink.write([entry('NOOP', 5)]);
    await sink.flush();
    sink.write([entry('NOOP', 5)]);
    await sink.flush();
  } finally {
    console.warn = original;
  }
  assert(warnings.length === 1, `warnings: ${warnings.length}`);
  assert(warnings[0]!.includes('denied.log'), `warning: ${warnings[0]}`);
});

await check('global log file follows MAILWIRE_LOG', async () => {
  const fromEnvironment = process.env.MAILWIRE_LOG;
  assert(fromEnvironment !== undefined, 'MAILWIRE_LOG is not set for this check');
  assert(globalLogFile() === fromEnvironment, `globalLogFile(): ${globalLogFile()}`);
  setGlobalLogFile(`${logDir}/other.log`);
  assert(globalLogFile() === `${logDir}/other.log`, 'setGlobalLogFile is ignored');
  setGlobalLogFile(undefined);
  assert(globalLogFile() === fromEnvironment, 'clearing does not fall back to MAILWIRE_LOG');
});

await check('transporter sends over STARTTLS with a masked log', async () => {
  const logFile = `${logDir}/transporter.log`;
  const transporter = createTransporter({
    host,
    port: smtpPort,
    tls: { ca, servername: 'localhost' },
    auth: { user, pass },
    logFile,
  });
  try {
    const result = await transporter.send({
      from: 'sender@example.test',
      to: 'bun@example.test',
      subject: 'Bun smoke',
      text: 'Sent by the Bun adapter.',
    });
    assert(result.accepted.includes('bun@example.test'), `accepted: ${result.accepted}`);
  } finally {
    await transporter.close();
  }
  const log = await readFile(logFile, 'utf8');
  assert(log.includes('C > "STARTTLS"'), 'no STARTTLS line in the log');
  assert(log.includes('C > "AUTH '), 'no AUTH line in the log');
  assert(!log.includes(pass), 'the password is in the log');
  assert(!log.includes(btoa(pass)), 'the encoded password is in the log');
  assert(!log.includes(btoa(`\0${user}\0${pass}`)), 'the encoded credentials are in the log');
});

console.log(`${passed} passed, ${failed} failed`);
if (failed > 0) process.exit(1);
