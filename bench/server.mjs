/**
 * The benchmark's SMTP server: `smtp-server` on 127.0.0.1 and a free port, run as a child
 * process. It drains every message and counts messages, body bytes (after the server
 * removed the dot-stuffing) and connections. The parent talks to it over IPC:
 * `{ type: 'stats' }` returns the counters and `{ type: 'reset' }` zeroes them.
 */
import { SMTPServer } from 'smtp-server';

const counters = { messages: 0, bytes: 0, connections: 0, errors: 0 };

const server = new SMTPServer({
  secure: false,
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  disableReverseLookup: true,
  logger: false,
  closeTimeout: 100,
  onConnect(_session, callback) {
    counters.connections += 1;
    callback();
  },
  onData(stream, _session, callback) {
    let bytes = 0;
    stream.on('data', (chunk) => {
      bytes += chunk.length;
    });
    stream.on('end', () => {
      counters.messages += 1;
      counters.bytes += bytes;
      callback(null, 'OK: queued');
    });
  },
});

// Sessions that a client resets must not stop the server; the count shows them instead.
server.on('error', () => {
  counters.errors += 1;
});

server.listen(0, '127.0.0.1', () => {
  process.send({ type: 'ready', port: server.server.address().port });
});

process.on('message', (message) => {
  if (message.type === 'stats') process.send({ type: 'stats', ...counters });
  if (message.type === 'reset') {
    for (const key of Object.keys(counters)) counters[key] = 0;
    process.send({ type: 'reset' });
  }
  if (message.type === 'stop') server.close(() => process.exit(0));
});

// The parent going away ends the server too, so no run leaves it behind.
process.on('disconnect', () => process.exit(0));
