import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testCertificates } from '../../../test/support/certs.js';
import { startSmtpServer, type TestSmtpServer } from '../../../test/support/smtp-server.js';
import { fileDirectory } from '../../../test/support/temporary.js';
import { runCli } from './cli.test-helpers.js';

const USER = 'demo@example.test';
const PASSWORD = 'demo-Passw0rd';
const WRONG_PASSWORD = 'Wr0ng-Secret-77';

const directory = fileDirectory('mailwire-cli-send-');
const caFile = join(directory, 'ca.pem');
const servers: TestSmtpServer[] = [];

beforeAll(() => {
  writeFileSync(caFile, testCertificates().caPem);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(
  options: Parameters<typeof startSmtpServer>[0] = {},
): Promise<TestSmtpServer> {
  const started = await startSmtpServer(options);
  servers.push(started);
  return started;
}

function connection(smtp: TestSmtpServer): string[] {
  return ['--host', smtp.host, '--port', String(smtp.port), '--ca', caFile, '--timeout', '5000'];
}

function assertNoSecret(text: string, secret: string): void {
  expect(text).not.toContain(secret);
  expect(text).not.toContain(Buffer.from(secret).toString('base64'));
  expect(text).not.toContain(Buffer.from(`\0${USER}\0${secret}`).toString('base64'));
}

describe('mailwire send', () => {
  it('sends over STARTTLS with --password-env and exits 0', async () => {
    const smtp = await server();
    const result = await runCli(
      [
        'send',
        ...connection(smtp),
        '--starttls',
        'required',
        '--user',
        USER,
        '--password-env',
        'MAILWIRE_TEST_PASSWORD',
        '--from',
        'sender@example.test',
        '--to',
        'rcpt@example.test',
        '--subject',
        'Hello',
        '--text',
        'Body from the command line',
      ],
      { env: { MAILWIRE_TEST_PASSWORD: PASSWORD } },
    );

    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Message accepted for 1 recipient: rcpt@example.test');
    expect(result.stderr).toContain('C > "STARTTLS"');
    expect(result.stderr).toContain('C > "AUTH PLAIN ********"');
    const received = await smtp.waitForMessages(1);
    expect(received[0]?.raw.toString()).toContain('Body from the command line');
    assertNoSecret(result.stdout + result.stderr, PASSWORD);
  });

  it('prints one JSON object and exits 3 when a recipient is rejected', async () => {
    const smtp = await server({
      rejectRecipients: (address) =>
        address.startsWith('nobody') ? '550 5.1.1 mailbox unknown' : null,
    });
    const result = await runCli([
      'send',
      ...connection(smtp),
      '--from',
      'sender@example.test',
      '--to',
      'rcpt@example.test',
      '--to',
      'nobody@example.test',
      '--text',
      'hi',
      '--json',
    ]);

    expect(result.status).toBe(3);
    const json = JSON.parse(result.stdout);
    expect(json.outcome).toBe('partial');
    expect(json.accepted).toEqual(['rcpt@example.test']);
    expect(json.rejected).toHaveLength(1);
    expect(json.rejected[0].recipient).toBe('nobody@example.test');
    expect(json.rejected[0].code).toBe(550);
    expect(json.rejected[0].enhancedCode).toBe('5.1.1');
    expect(json.error).toBeNull();
    expect(typeof json.timings.total).toBe('number');
  });

  it('exits 1 with the error in JSON when AUTH fails, reading --password-file', async () => {
    const smtp = await server();
    const passwordFile = join(directory, 'wrong-password');
    writeFileSync(passwordFile, `${WRONG_PASSWORD}\n`);
    const result = await runCli([
      'send',
      ...connection(smtp),
      '--user',
      USER,
      '--password-file',
      passwordFile,
      '--from',
      'sender@example.test',
      '--to',
      'rcpt@example.test',
      '--text',
      'hi',
      '--json',
    ]);

    expect(result.status).toBe(1);
    const json = JSON.parse(result.stdout);
    expect(json.outcome).toBe('error');
    expect(json.error.code).toBe('EAUTH');
    expect(json.error.responseCode).toBe(535);
    expect(json.error.phase).toBe('auth');
    expect(result.stderr).toContain('Diagnosis: The server rejected the user name and password.');
    expect(smtp.messages).toHaveLength(0);
    assertNoSecret(result.stdout + result.stderr, WRONG_PASSWORD);
  });

  it('reads a raw message from stdin with the envelope from its headers', async () => {
    const smtp = await server();
    const message =
      'From: "Sender, Example" <sender@example.test>\r\n' +
      'To: First <first@example.test>, second@example.test\r\n' +
      'Cc: team: third@example.test;\r\n' +
      'Subject: raw\r\n' +
      'Message-ID: <raw-1@example.test>\r\n' +
      '\r\n' +
      'Raw body line\r\n';
    const result = await runCli(['send', ...connection(smtp), '--message', '-', '--json'], {
      input: message,
    });

    expect(result.status).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.accepted).toEqual([
      'first@example.test',
      'second@example.test',
      'third@example.test',
    ]);
    const [received] = await smtp.waitForMessages(1);
    expect(received?.from).toBe('sender@example.test');
    expect(received?.raw.toString()).toBe(message);
  });

  it('sends to Bcc recipients and removes the Bcc field', async () => {
    const smtp = await server();
    const message =
      'From: sender@example.test\r\n' +
      'To: first@example.test\r\n' +
      'Bcc: hidden@example.test,\r\n' +
      ' Folded Name <folded@example.test>\r\n' +
      'Subject: with bcc\r\n' +
      '\r\n' +
      'Bcc: this body line stays\r\n';
    const result = await runCli(['send', ...connection(smtp), '--message', '-', '--json'], {
      input: message,
    });

    expect(result.status).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.accepted).toEqual([
      'first@example.test',
      'hidden@example.test',
      'folded@example.test',
    ]);
    const [received] = await smtp.waitForMessages(1);
    expect(received?.to).toEqual([
      'first@example.test',
      'hidden@example.test',
      'folded@example.test',
    ]);
    const bytes = received?.raw.toString() ?? '';
    const header = bytes.slice(0, bytes.indexOf('\r\n\r\n'));
    expect(header).not.toMatch(/^Bcc:/im);
    expect(bytes).not.toContain('hidden@example.test');
    expect(bytes).not.toContain('folded@example.test');
    expect(bytes).toBe(
      'From: sender@example.test\r\n' +
        'To: first@example.test\r\n' +
        'Subject: with bcc\r\n' +
        '\r\n' +
        'Bcc: this body line stays\r\n',
    );
  });

  it('sends the message untouched when --to is given', async () => {
    const smtp = await server();
    const message =
      'From: sender@example.test\r\n' +
      'To: first@example.test\r\n' +
      'Bcc: hidden@example.test\r\n' +
      '\r\n' +
      'body\r\n';
    const result = await runCli(
      ['send', ...connection(smtp), '--to', 'other@example.test', '--message', '-', '--json'],
      { input: message },
    );

    expect(result.status).toBe(0);
    const [received] = await smtp.waitForMessages(1);
    expect(received?.to).toEqual(['other@example.test']);
    expect(received?.raw.toString()).toBe(message);
  });

  it('accepts a display name in --from and --to', async () => {
    const smtp = await server();
    const result = await runCli([
      'send',
      ...connection(smtp),
      '--from',
      'Sender Name <sender@example.test>',
      '--to',
      '"Doe, Jane" <jane@example.test>',
      '--text',
      'hi',
      '--json',
    ]);

    expect(result.status).toBe(0);
    const [received] = await smtp.waitForMessages(1);
    expect(received?.from).toBe('sender@example.test');
    expect(received?.to).toEqual(['jane@example.test']);
    expect(received?.raw.toString()).toContain('From: Sender Name <sender@example.test>');
  });

  it('exits 1 when nothing listens on the port', async () => {
    const smtp = await server();
    const port = smtp.port;
    await smtp.close();
    servers.splice(servers.indexOf(smtp), 1);
    const result = await runCli([
      'send',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--from',
      'a@example.test',
      '--to',
      'b@example.test',
      '--json',
    ]);

    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout).error.code).toBe('ECONNECTION');
    expect(result.stderr).toContain('Diagnosis: Nothing accepted the connection');
  });

  it('writes --log in the text format that explain reads', async () => {
    const smtp = await server();
    const log = join(directory, 'failed-auth.log');
    const send = await runCli(
      [
        'send',
        ...connection(smtp),
        '--quiet',
        '--user',
        USER,
        '--password-env',
        'MAILWIRE_TEST_PASSWORD',
        '--from',
        'sender@example.test',
        '--to',
        'rcpt@example.test',
        '--log',
        log,
      ],
      { env: { MAILWIRE_TEST_PASSWORD: WRONG_PASSWORD } },
    );
    expect(send.status).toBe(1);
    expect(send.stderr).not.toContain('C > ');
    assertNoSecret(readFileSync(log, 'utf8'), WRONG_PASSWORD);

    const explain = await runCli(['explain', log, '--json']);
    expect(explain.status).toBe(0);
    const failure = JSON.parse(explain.stdout).connections[0].failure;
    expect(failure.step).toBe('AUTH');
    expect(failure.replyCode).toBe(535);
    expect(failure.diagnosis.id).toBe('auth-credentials-rejected');
  });
});

describe('mailwire send with invalid input', () => {
  const cases: Array<{
    name: string;
    args: string[];
    env?: Record<string, string>;
    input?: string;
    message: RegExp;
  }> = [
    { name: 'missing --from', args: ['--to', 'b@example.test'], message: /Missing --from/ },
    { name: 'missing recipients', args: ['--from', 'a@example.test'], message: /Missing --to/ },
    {
      name: '--text with --message',
      args: ['--from', 'a@example.test', '--to', 'b@example.test', '--text', 'x', '--message', '-'],
      message: /either --text or --message/,
    },
    {
      name: '--secure with --starttls required',
      args: [
        '--secure',
        '--starttls',
        'required',
        '--from',
        'a@example.test',
        '--to',
        'b@example.test',
      ],
      message: /--secure encrypts from the first byte/,
    },
    {
      name: 'unset password variable',
      args: [
        '--user',
        USER,
        '--password-env',
        'MAILWIRE_TEST_UNSET',
        '--from',
        'a@example.test',
        '--to',
        'b@example.test',
      ],
      message: /Environment variable MAILWIRE_TEST_UNSET is not set/,
    },
    {
      name: 'no password source off a terminal',
      args: ['--user', USER, '--from', 'a@example.test', '--to', 'b@example.test'],
      message: /Missing password for --user/,
    },
    {
      name: 'invalid port',
      args: ['--port', '70000'],
      message: /expected a whole number from 1 to 65535/,
    },
    {
      name: 'invalid address',
      args: ['--from', 'not an address', '--to', 'b@example.test'],
      message: /Invalid --from address "not an address": write the bare address/,
    },
    {
      name: 'unclosed display name',
      args: ['--from', 'a@example.test', '--to', 'Foo <b@example'],
      message: /Invalid --to address "Foo <b@example": .* --to 'Name <user@example\.com>'/,
    },
    {
      name: 'invalid --from with --message',
      args: ['--from', 'Ann <ann@example.test', '--message', '-'],
      input: 'To: b@example.test\r\n\r\nbody\r\n',
      message: /Invalid --from address "Ann <ann@example\.test"/,
    },
    { name: 'unknown option', args: ['--password', 'x'], message: /unknown option '--password'/ },
  ];

  it.each(cases)('exits 2 on $name and sends nothing', async ({ args, env, input, message }) => {
    const smtp = await server();
    const result = await runCli(
      ['send', '--host', smtp.host, '--port', String(smtp.port), ...args],
      { env, input },
    );

    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('{ name, address }');
    expect(result.stdout).toBe('');
    expect(smtp.messages).toHaveLength(0);
  });

  it('prints an input error as JSON with --json', async () => {
    const result = await runCli([
      'send',
      '--host',
      '127.0.0.1',
      '--to',
      'b@example.test',
      '--json',
    ]);
    expect(result.status).toBe(2);
    const json = JSON.parse(result.stdout);
    expect(json.outcome).toBe('error');
    expect(json.error.code).toBe('EINPUT');
    expect(json.error.phase).toBe('input');
  });
});
