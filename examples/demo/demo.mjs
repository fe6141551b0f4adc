/**
 * The mailwire demo: an SMTP server embedded in this process on 127.0.0.1 (smtp-server,
 * with STARTTLS and AUTH PLAIN/LOGIN), one message sent through it with @mailwire/node,
 * one attempt with a wrong password, and both conversation logs printed.
 *
 *   npm run demo
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransporter, MemorySink } from '@mailwire/node';
import { SMTPServer } from 'smtp-server';
import { generateDemoCertificate } from './certificate.mjs';

const USER = 'demo@example.test';
const PASSWORD = 'demo-Passw0rd';
const WRONG_PASSWORD = 'not-the-Passw0rd';

/** Start the embedded server and resolve with it, its port and the messages it stores. */
async function startServer(certificate) {
  const received = [];
  const server = new SMTPServer({
    name: 'mx.example.test',
    key: certificate.keyPem,
    cert: certificate.certPem,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    disableReverseLookup: true,
    hideENHANCEDSTATUSCODES: false,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASSWORD)
        return callback(null, { user: USER });
      const error = new Error('Authentication credentials invalid');
      error.responseCode = 535;
      return callback(error);
    },
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks),
        });
        callback(null, `Ok: queued as DEMO${received.length}`);
      });
    },
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { server, port: server.server.address().port, received };
}

/** Fail the demo when any form of a password shows up in text that was printed or logged. */
function assertNoSecret(text, where) {
  for (const password of [PASSWORD, WRONG_PASSWORD]) {
    const forms = [
      password,
      Buffer.from(password).toString('base64'),
      Buffer.from(`\0${USER}\0${password}`).toString('base64'),
    ];
    if (forms.some((form) => text.includes(form))) {
      throw new Error(`A password form appeared in ${where}`);
    }
  }
}

function section(title, body) {
  return `\n=== ${title} ===\n${body}`;
}

async function main() {
  const certificate = generateDemoCertificate();
  const { server, port, received } = await startServer(certificate);
  const logFile = join(mkdtempSync(join(tmpdir(), 'mailwire-demo-')), 'mailwire.log');
  const common = {
    host: '127.0.0.1',
    port,
    startTls: 'required',
    tls: { ca: certificate.certPem },
    logFile,
  };
  let output = '';

  try {
    const goodLog = new MemorySink();
    const good = createTransporter({
      ...common,
      auth: { user: USER, pass: PASSWORD, method: 'PLAIN' },
      transcriptSink: goodLog,
    });
    const result = await good.send({
      from: { name: 'Demo Sender', address: USER },
      to: 'friend@example.test',
      subject: 'Hello from mailwire',
      text: 'This message went through STARTTLS and AUTH PLAIN.\n.A line that starts with a dot.\n',
    });
    await good.close();
    const delivered = received.find((message) => message.raw.includes('Hello from mailwire'));
    if (!delivered) throw new Error('The server did not receive the message');
    output += section(
      `Sent: accepted ${result.accepted.join(', ')}, server said "${result.response}"`,
      goodLog.text(),
    );

    const badLog = new MemorySink();
    const bad = createTransporter({
      ...common,
      auth: { user: USER, pass: WRONG_PASSWORD, method: 'PLAIN' },
      transcriptSink: badLog,
    });
    const failure = await bad
      .send({ from: USER, to: 'friend@example.test', subject: 'Never sent', text: 'x' })
      .then(
        () => null,
        (error) => error,
      );
    await bad.close();
    if (failure?.responseCode !== 535) {
      throw new Error(
        `Expected a 535 for the wrong password, got ${failure?.message ?? 'success'}`,
      );
    }
    output += section(
      `Refused: ${failure.code}, reply ${[failure.responseCode, failure.enhancedCode].filter(Boolean).join(' ')} in phase ${failure.phase}`,
      badLog.text(),
    );
    output += `\nLog file (both sessions, mode 0600): ${logFile}\n`;
    output += `Explain it with: npx mailwire explain ${logFile}\n`;

    assertNoSecret(output, 'the demo output');
    assertNoSecret(readFileSync(logFile, 'utf8'), logFile);
    assertNoSecret(`${failure.message}\n${failure.stack}\n${JSON.stringify(failure)}`, 'the error');
    process.stdout.write(output);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

main().catch((error) => {
  process.stderr.write(`demo failed: ${error.message}\n`);
  process.exitCode = 1;
});
