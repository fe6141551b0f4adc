/**
 * Runs the Deno and Bun smoke scripts against servers on 127.0.0.1 and checks every result
 * line. The servers here are a small STARTTLS line server, implicit TLS servers, a closed
 * port and a real SMTP server for one end-to-end send. A missing runtime binary fails the
 * test rather than skipping it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCertificates } from '../support/certs.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp-server.js';

const HOST = '127.0.0.1';
const ROOT = resolve(import.meta.dirname, '../..');
const DENO = join(ROOT, 'node_modules/.bin/deno');
const BUN = join(ROOT, 'node_modules/.bin/bun');

/** Time for one runtime to start and run all of its checks. */
const RUN_TIMEOUT_MS = 90_000;

const USER = 'demo@example.test';
const PASSWORD = 'demo-Passw0rd';

/** Checks both smoke scripts run. */
const COMMON_CHECKS = [
  'plain connect reads the greeting and writes',
  'write sends every byte of a large buffer',
  'read returns every byte of a large reply',
  'refused connection keeps ECONNREFUSED',
  'STARTTLS with the CA is verified',
  'STARTTLS without the CA is rejected',
  'STARTTLS with a wrong name is rejected',
  'implicit TLS with the CA is verified',
  'implicit TLS verifies an IP address',
  'implicit TLS without the CA is rejected',
  'log file shares one counter per path',
  'log file writes JSON Lines',
  'log file rotates by size',
  'log write failure warns once',
  'global log file follows MAILWIRE_LOG',
  'transporter sends over STARTTLS with a masked log',
];

const DENO_CHECKS = [
  ...COMMON_CHECKS,
  'missing net permission names the flag',
  'STARTTLS with unread plaintext fails',
  'verification cannot be turned off',
];

const BUN_CHECKS = [
  ...COMMON_CHECKS,
  'STARTTLS drops unread plaintext',
  'implicit TLS enforces minVersion',
];

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Reply to SMTP-like lines: EHLO lists STARTTLS before TLS and `over TLS` after it, STARTTLS
 * upgrades the socket, `SINK n` swallows n raw bytes and reports the count, `BLOB n` sends n
 * bytes followed by a reply, QUIT ends.
 */
function serveLines(socket: net.Socket, secureContext: tls.SecureContext, secure: boolean): void {
  let buffered = Buffer.alloc(0);
  let sinkTotal = 0;
  let sinkRemaining = 0;

  /** Reply to one line; return false once the socket is handed over or closing. */
  const answer = (line: string): boolean => {
    const [verb = '', argument = ''] = line.split(' ');
    switch (verb.toUpperCase()) {
      case 'EHLO':
        socket.write(
          secure
            ? '250-smoke.test over TLS\r\n250 AUTH PLAIN\r\n'
            : '250-smoke.test\r\n250 STARTTLS\r\n',
        );
        return true;
      case 'STARTTLS': {
        if (secure) break;
        socket.off('data', onData);
        socket.write('220 2.0.0 ready to start TLS\r\n');
        serveLines(
          new tls.TLSSocket(socket, { isServer: true, secureContext }),
          secureContext,
          true,
        );
        return false;
      }
      case 'BLOB':
        socket.write(Buffer.alloc(Number(argument), 0x62));
        socket.write('\r\n250 2.0.0 blob sent\r\n');
        return true;
      case 'SINK':
        sinkTotal = Number(argument);
        sinkRemaining = sinkTotal;
        return true;
      case 'QUIT':
        socket.end('221 2.0.0 bye\r\n');
        return false;
    }
    socket.write('250 2.0.0 ok\r\n');
    return true;
  };

  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (sinkRemaining > 0) {
        const consumed = Math.min(sinkRemaining, buffered.length);
        sinkRemaining -= consumed;
        buffered = buffered.subarray(consumed);
        if (sinkRemaining > 0) return;
        socket.write(`250 received ${sinkTotal}\r\n`);
      }
      const end = buffered.indexOf('\r\n');
      if (end < 0) return;
      const line = buffered.subarray(0, end).toString('latin1');
      buffered = buffered.subarray(end + 2);
      if (!answer(line)) return;
    }
  };

  socket.on('error', () => undefined);
  socket.on('data', onData);
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolveListen((server.address() as net.AddressInfo).port));
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolveClose) => server.close(() => resolveClose()));
}

function run(binary: string, args: string[], env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const options = {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: RUN_TIMEOUT_MS,
      maxBuffer: 4 * 1024 * 1024,
    };
    execFile(binary, args, options, (error, stdout, stderr) => {
      // A spawn failure such as a missing binary has a string code and counts as no exit code.
      let code: number | null = 0;
      if (error) code = typeof error.code === 'number' ? error.code : null;
      resolveRun({ code, stdout, stderr });
    });
  });
}

let logRoot: string;
let settings: string[];
let smtpServer: TestSmtpServer;
const servers: net.Server[] = [];

beforeAll(async () => {
  const certificates = testCertificates();
  const secureContext = tls.createSecureContext({
    key: certificates.serverKeyPem,
    cert: certificates.serverCertPem,
  });
  const tlsServerOptions = { key: certificates.serverKeyPem, cert: certificates.serverCertPem };

  const starttls = net.createServer((socket) => {
    socket.write('220 smoke.test ESMTP\r\n');
    serveLines(socket, secureContext, false);
  });
  const implicit = tls.createServer(tlsServerOptions, (socket) => {
    socket.write('220 smoke.test ESMTP over TLS\r\n');
    serveLines(socket, secureContext, true);
  });
  const tls12 = tls.createServer({ ...tlsServerOptions, maxVersion: 'TLSv1.2' }, (socket) => {
    socket.write('220 smoke.test ESMTP over TLS 1.2\r\n');
    serveLines(socket, secureContext, true);
  });
  for (const server of [implicit, tls12]) server.on('tlsClientError', () => undefined);
  const closed = net.createServer();
  servers.push(starttls, implicit, tls12);

  const [starttlsPort, tlsPort, tls12Port, closedPort] = await Promise.all(
    [starttls, implicit, tls12, closed].map(listen),
  );
  // Bound once and closed again, so that nothing listens on this port.
  await closeServer(closed);
  smtpServer = await startSmtpServer({ users: { [USER]: PASSWORD } });

  logRoot = await mkdtemp(join(tmpdir(), 'mailwire-runtimes-'));
  const caFile = join(logRoot, 'ca.pem');
  await writeFile(caFile, certificates.caPem);

  settings = [
    `--host=${HOST}`,
    `--starttls-port=${starttlsPort}`,
    `--tls-port=${tlsPort}`,
    `--tls12-port=${tls12Port}`,
    `--closed-port=${closedPort}`,
    `--smtp-port=${smtpServer.port}`,
    `--ca-file=${caFile}`,
    `--user=${USER}`,
  ];
});

afterAll(async () => {
  await Promise.all(servers.map(closeServer));
  await smtpServer?.close();
  if (logRoot) await rm(logRoot, { recursive: true, force: true });
});

/** Environment for a smoke run; update checks and telemetry stay off to keep traffic local. */
function smokeEnvironment(logDir: string): Record<string, string> {
  return {
    MAILWIRE_SMOKE_PASS: PASSWORD,
    MAILWIRE_LOG: join(logDir, 'global.log'),
    DENO_NO_UPDATE_CHECK: '1',
    DO_NOT_TRACK: '1',
    NO_COLOR: '1',
  };
}

function describeRuntime(name: string, binary: string, checks: string[], argsFor: ArgsBuilder) {
  describe(`${name} adapter`, () => {
    let result: RunResult;

    beforeAll(async () => {
      const logDir = join(logRoot, name);
      await mkdir(logDir, { recursive: true });
      result = await run(binary, argsFor(logDir), smokeEnvironment(logDir));
    }, RUN_TIMEOUT_MS + 5_000);

    it('has its runtime binary', () => {
      expect(existsSync(binary), `${binary} is missing; run npm install`).toBe(true);
    });

    it('runs the smoke script to the end', () => {
      const output = `${result.stdout}\n${result.stderr}`;
      expect(result.stdout, output).toMatch(/^\d+ passed, 0 failed$/m);
      expect(result.code, output).toBe(0);
    });

    it.each(checks)('%s', (check) => {
      const line = result.stdout.split('\n').find((text) => text.includes(`ok - ${check}`));
      expect(line, result.stdout + result.stderr).toBe(`ok - ${check}`);
    });

    it('prints no password', () => {
      expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    });
  });
}

type ArgsBuilder = (logDir: string) => string[];

describeRuntime('deno', DENO, DENO_CHECKS, (logDir) => [
  'run',
  '--no-prompt',
  `--allow-net=${HOST}`,
  '--allow-read',
  `--allow-write=${logDir}`,
  '--allow-env',
  '--config',
  'packages/deno/deno.json',
  'test/runtime/deno/smoke.ts',
  ...settings,
  `--log-dir=${logDir}`,
]);

describeRuntime('bun', BUN, BUN_CHECKS, (logDir) => [
  'run',
  'test/runtime/bun/smoke.ts',
  ...settings,
  `--log-dir=${logDir}`,
]);
