/**
 * Embedding @mailwire/core in a runtime that has no adapter: the protocol object is driven
 * by hand over a socket this file opens itself. Everything the core needs is here: bytes in
 * (`receive`), bytes out (`takeOutgoing`), events (`nextEvent`), a clock for timestamps,
 * and somewhere to put the transcript entries. node:net stands in for the runtime's own
 * TCP API; replace `openSocket` with yours.
 *
 *   npm run build && node examples/core-embedding/send-by-hand.mjs
 *
 * It starts a local SMTP server on 127.0.0.1 first, so it needs nothing else.
 */
import net from 'node:net';
import { formatTextLine, SmtpClient, TranscriptRecorder } from '@mailwire/core';
import { SMTPServer } from 'smtp-server';

/** The runtime's socket, reduced to what the protocol needs: read, write, close. */
function openSocket(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      const chunks = [];
      let wake = null;
      let ended = false;
      socket.on('data', (chunk) => {
        chunks.push(new Uint8Array(chunk));
        wake?.();
      });
      socket.on('end', () => {
        ended = true;
        wake?.();
      });
      resolve({
        async read() {
          while (chunks.length === 0 && !ended) await new Promise((done) => (wake = done));
          return chunks.shift() ?? null;
        },
        write: (bytes) => new Promise((done) => socket.write(bytes, done)),
        close: () => socket.end(),
      });
    });
    socket.once('error', reject);
  });
}

/** Send what the client produced, then read until the next event arrives. */
async function exchange(client, socket, flushEntries) {
  const bytes = client.takeOutgoing();
  if (bytes) await socket.write(bytes);
  for (;;) {
    const event = client.nextEvent();
    flushEntries();
    if (event) return event;
    const chunk = await socket.read();
    if (chunk === null) client.receiveEnd();
    else client.receive(chunk);
  }
}

async function main() {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = await openSocket(server.server.address().port);

  // The clock is only read for timestamps; the process id is whatever the runtime has.
  const recorder = new TranscriptRecorder({ now: Date.now, processId: 0, connectionId: 1 });
  const client = new SmtpClient({ recorder });
  const flushEntries = () => {
    for (const entry of recorder.take()) console.log(formatTextLine(entry));
  };

  const expect = async (type) => {
    const event = await exchange(client, socket, flushEntries);
    if (event.type !== type) throw new Error(`Expected ${type}, got ${event.type}`);
    return event;
  };

  await expect('greeting');
  client.ehlo('[127.0.0.1]');
  await expect('capabilities');
  client.mailFrom('sender@example.test');
  await expect('sender-accepted');
  client.rcptTo('rcpt@example.test');
  await expect('recipient-accepted');
  client.data();
  await expect('data-ready');
  client.sendBody(
    new TextEncoder().encode('Subject: by hand\r\n\r\n.a line with a leading dot\r\n'),
  );
  client.endBody();
  await expect('message-accepted');
  client.quit();
  await expect('reply');

  socket.close();
  await new Promise((resolve) => server.close(resolve));
}

main().catch((error) => {
  console.error(`example failed: ${error.message}`);
  process.exitCode = 1;
});
