import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createTransporter, isSmtpError, MemorySink } from '@mailwire/node';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificates } from '../support/certs.js';
import { rejectionOf } from '../support/rejection.js';
import { startSilentServer, startSmtpServer, type TestSmtpServer } from '../support/smtp-server.js';
import { testDirectory } from '../support/temporary.js';

const USER = 'demo@example.test';
const PASSWORD = 'demo-Passw0rd';
const PASSWORD_BASE64 = Buffer.from(PASSWORD).toString('base64');
const PLAIN_BLOB = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');

const servers: Array<{ close(): Promise<void> | void }> = [];
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

function assertNoSecret(text: string, password = PASSWORD): void {
  expect(text).not.toContain(password);
  expect(text).not.toContain(Buffer.from(password).toString('base64'));
  expect(text).not.toContain(Buffer.from(`\0${USER}\0${password}`).toString('base64'));
}

describe('Node transporter against smtp-server', () => {
  it('sends over STARTTLS with AUTH PLAIN', async () => {
    const smtp = await server();
    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      startTls: 'required',
      auth: { user: USER, pass: PASSWORD, method: 'PLAIN' },
      tls: { ca: testCertificates().caPem },
      transcriptSink: sink,
    });

    const result = await transporter.send({
      from: 'sender@example.test',
      to: ['rcpt@example.test'],
      subject: 'Grüße',
      text: 'Hello over STARTTLS',
    });

    expect(result.accepted).toEqual(['rcpt@example.test']);
    expect(result.rejected).toEqual([]);
    const received = await smtp.waitForMessages(1, 5000);
    expect(received[0]?.raw.toString()).toContain('Hello over STARTTLS');
    const text = sink.text();
    expect(text).toContain('C > "STARTTLS"');
    expect(text).toContain('C > "AUTH PLAIN ********"');
    expect(text).toMatch(/### TLS started: TLSv1\.[23]/);
    expect(text).toContain('### SMTP Connection closed');
    assertNoSecret(text);
  });

  it('sends with AUTH LOGIN and masks both answers', async () => {
    const smtp = await server({ authMethods: ['LOGIN'] });
    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      auth: { user: USER, pass: PASSWORD },
      tls: { ca: testCertificates().caPem },
      transcriptSink: sink,
    });
    await transporter.send({ from: 'sender@example.test', to: 'rcpt@example.test', text: 'hi' });

    const clientLines = sink.entries.filter((entry) => entry.direction === 'client');
    const afterAuth = clientLines.slice(
      clientLines.findIndex((entry) => entry.text === 'AUTH LOGIN'),
    );
    expect(afterAuth[1]?.text).toBe('********');
    expect(afterAuth[2]?.text).toBe('********');
    expect(sink.text()).not.toContain(Buffer.from(USER).toString('base64'));
    assertNoSecret(sink.text());
  });

  it('reports 535 for a wrong password and quits', async () => {
    const smtp = await server();
    const sink = new MemorySink();
    const wrong = 'wrong-Secret-42';
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      auth: { user: USER, pass: wrong },
      tls: { ca: testCertificates().caPem },
      transcriptSink: sink,
    });

    const error = await rejectionOf(
      transporter.send({ from: 'sender@example.test', to: 'rcpt@example.test', text: 'hi' }),
    );

    expect(isSmtpError(error)).toBe(true);
    expect(error.code).toBe('EAUTH');
    expect(error.responseCode).toBe(535);
    expect(error.phase).toBe('auth');
    expect(error.transcript.join('\n')).toContain('S < "535');
    const text = sink.text();
    expect(text).toMatch(/S < "535 /);
    expect(text).toContain('C > "QUIT"');
    expect(text).toMatch(/S < "221 /);
    for (const output of [text, error.message, JSON.stringify(error), String(error.stack)]) {
      assertNoSecret(output, wrong);
    }
  });

  it('keeps going when one of three recipients is rejected', async () => {
    const smtp = await server({
      rejectRecipients: (address) =>
        address.startsWith('missing') ? '550 5.1.1 mailbox unknown' : null,
    });
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      tls: { ca: testCertificates().caPem },
    });
    const result = await transporter.send({
      from: 'sender@example.test',
      to: ['ok1@example.test', 'missing@example.test', 'ok2@example.test'],
      text: 'partial',
    });
    expect(result.accepted).toEqual(['ok1@example.test', 'ok2@example.test']);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]?.recipient).toBe('missing@example.test');
    expect(result.rejected[0]?.code).toBe(550);
    await smtp.waitForMessages(1, 5000);
    expect(smtp.messages[0]?.to).toEqual(['ok1@example.test', 'ok2@example.test']);
  });

  it('connects with implicit TLS and the CA in tls.ca', async () => {
    const smtp = await server({ secure: true });
    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      secure: true,
      auth: { user: USER, pass: PASSWORD },
      tls: { ca: testCertificates().caPem },
      transcriptSink: sink,
    });
    const result = await transporter.send({
      from: 'sender@example.test',
      to: 'rcpt@example.test',
      text: 'tls',
    });
    expect(result.accepted).toEqual(['rcpt@example.test']);
    expect(sink.text()).toContain(`on port ${smtp.port}. (secured)`);
  });

  it('rejects an untrusted certificate by default', async () => {
    const smtp = await server({ secure: true });
    const transporter = createTransporter({ host: '127.0.0.1', port: smtp.port, secure: true });
    const error = await rejectionOf(
      transporter.send({ from: 'sender@example.test', to: 'rcpt@example.test', text: 'x' }),
    );
    expect(error.code).toBe('ETLS');
  });

  it('times out naming the greeting when the server never greets', async () => {
    const silent = await startSilentServer();
    servers.push(silent);
    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: silent.port,
      greetingTimeout: 300,
      transcriptSink: sink,
    });
    const error = await rejectionOf(
      transporter.send({ from: 'sender@example.test', to: 'rcpt@example.test', text: 'x' }),
    );
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.phase).toBe('greeting');
    expect(error.message).toContain('greeting');
    expect(sink.text()).not.toContain('EHLO');
    expect(sink.text()).toContain('### Timed out after');
  });

  it('writes a 0600 log file with the password masked', async () => {
    const smtp = await server();
    const logFile = join(testDirectory('mailwire-'), 'smtp.log');
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      auth: { user: USER, pass: PASSWORD },
      tls: { ca: testCertificates().caPem },
      logFile,
    });
    await transporter.send({ from: 'sender@example.test', to: 'rcpt@example.test', text: 'log' });
    await transporter.close();

    const text = readFileSync(logFile, 'utf8');
    expect(statSync(logFile).mode & 0o777).toBe(0o600);
    expect(text).toMatch(/^1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} \d+ \d+ ### SMTP Connected/);
    expect(text).toContain('C > "AUTH PLAIN ********"');
    assertNoSecret(text);
    expect(text).not.toContain(PASSWORD_BASE64);
    expect(text).not.toContain(PLAIN_BLOB);
  });
});
