import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { testCertificates } from '../../../test/support/certs.js';
import { smtpServerPerTest } from '../../../test/support/smtp-server.js';
import { fileDirectory } from '../../../test/support/temporary.js';
import { runCli } from './cli.test-helpers.js';

const USER = 'demo@example.test';
const PASSWORD = 'demo-Passw0rd';

const caFile = join(fileDirectory('mailwire-cli-probe-'), 'ca.pem');
const server = smtpServerPerTest();

beforeAll(() => {
  writeFileSync(caFile, testCertificates().caPem);
});

describe('mailwire probe', () => {
  it('prints greeting, extensions, TLS evidence and the login result', async () => {
    const smtp = await server();
    const result = await runCli(
      [
        'probe',
        '--host',
        '127.0.0.1',
        '--port',
        String(smtp.port),
        '--ca',
        caFile,
        '--user',
        USER,
        '--password-env',
        'MAILWIRE_TEST_PASSWORD',
      ],
      { env: { MAILWIRE_TEST_PASSWORD: PASSWORD } },
    );

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Greeting: 220 /m);
    expect(result.stdout).toMatch(/^Extensions: .*PIPELINING/m);
    expect(result.stdout).toMatch(/^AUTH mechanisms: .*PLAIN/m);
    expect(result.stdout).toMatch(/^TLS: TLSv1\.[23], cipher /m);
    expect(result.stdout).toContain('Subject: CN=localhost');
    expect(result.stdout).toContain('Issuer: CN=mailwire test CA');
    expect(result.stdout).toMatch(/SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(result.stdout).toContain('Verification: verified');
    expect(result.stdout).toContain(`Authentication: accepted for ${USER}`);
    expect(result.stderr).toContain('C > "QUIT"');
    expect(result.stderr).not.toContain('MAIL FROM');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('fails on an untrusted certificate and reports it with --insecure', async () => {
    const smtp = await server({ secure: true });
    const base = [
      'probe',
      '--host',
      '127.0.0.1',
      '--port',
      String(smtp.port),
      '--secure',
      '--json',
    ];

    const strict = await runCli(base);
    expect(strict.status).toBe(1);
    expect(JSON.parse(strict.stdout).error.code).toBe('ETLS');

    const lenient = await runCli([...base, '--insecure']);
    expect(lenient.status).toBe(0);
    const json = JSON.parse(lenient.stdout);
    expect(json.outcome).toBe('ok');
    expect(json.tls.authorized).toBe(false);
    expect(json.tls.authorizationError).toBeTruthy();
    expect(json.authentication).toBe('not attempted');
  });

  it('exits 1 and reports the failed login', async () => {
    const smtp = await server();
    const result = await runCli(
      [
        'probe',
        '--host',
        '127.0.0.1',
        '--port',
        String(smtp.port),
        '--ca',
        caFile,
        '--user',
        USER,
        '--password-env',
        'PW',
        '--json',
      ],
      { env: { PW: 'not-the-password' } },
    );

    expect(result.status).toBe(1);
    const json = JSON.parse(result.stdout);
    expect(json.authentication).toBe('failed');
    expect(json.error.responseCode).toBe(535);
    expect(result.stdout + result.stderr).not.toContain('not-the-password');
  });
});
