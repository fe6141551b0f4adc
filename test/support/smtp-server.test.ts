import * as net from 'node:net';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificates } from './certs.ts';
import { startSilentServer, startSmtpServer, type TestSmtpServer } from './smtp-server.ts';

const certificates = testCertificates();
let server: TestSmtpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function transport(port: number, options: Record<string, unknown> = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    tls: { ca: certificates.caPem },
    ...options,
  });
}

describe('startSmtpServer', () => {
  it('receives a message over STARTTLS with AUTH', async () => {
    server = await startSmtpServer();
    const client = transport(server.port, {
      requireTLS: true,
      auth: { user: 'demo@example.test', pass: 'demo-Passw0rd' },
    });

    await client.sendMail({
      envelope: { from: 'sender@example.test', to: ['rcpt@example.test'] },
      raw: 'Subject: hello\r\n\r\nfirst line\r\n.dotted line\r\n',
    });
    const [message] = await server.waitForMessages(1, 2000);

    expect(message?.from).toBe('sender@example.test');
    expect(message?.to).toEqual(['rcpt@example.test']);
    expect(message?.raw.toString()).toBe('Subject: hello\r\n\r\nfirst line\r\n.dotted line\r\n');
    client.close();
  });

  it('rejects a wrong password', async () => {
    server = await startSmtpServer();
    const client = transport(server.port, {
      auth: { user: 'demo@example.test', pass: 'wrong-password' },
    });

    await expect(client.verify()).rejects.toMatchObject({ responseCode: 535 });
    client.close();
  });

  it('rejects recipients with the given reply', async () => {
    server = await startSmtpServer({
      rejectRecipients: (address) =>
        address.startsWith('nobody@') ? '550 5.1.1 mailbox unknown' : null,
    });
    const client = transport(server.port);

    const info = await client.sendMail({
      envelope: { from: 'sender@example.test', to: ['nobody@example.test', 'rcpt@example.test'] },
      raw: 'Subject: partial\r\n\r\nbody\r\n',
    });

    expect(info.rejected).toEqual(['nobody@example.test']);
    expect(info.rejectedErrors?.[0]?.response).toBe('550 5.1.1 mailbox unknown');
    expect((await server.waitForMessages(1)).map((message) => message.to)).toEqual([
      ['rcpt@example.test'],
    ]);
    client.close();
  });

  it('speaks implicit TLS', async () => {
    server = await startSmtpServer({ secure: true });
    const client = transport(server.port, { secure: true });

    await expect(client.verify()).resolves.toBe(true);
    client.close();
  });

  it('times out waiting for messages that never come', async () => {
    server = await startSmtpServer();

    await expect(server.waitForMessages(1, 50)).rejects.toThrow(/Timed out after 50 ms/);
  });
});

describe('startSilentServer', () => {
  it('accepts a connection and sends nothing', async () => {
    const silent = await startSilentServer();
    const socket = net.connect({ host: silent.host, port: silent.port });
    let received = 0;
    socket.on('data', (chunk) => {
      received += chunk.length;
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(received).toBe(0);
    socket.destroy();
    await silent.close();
  });
});
