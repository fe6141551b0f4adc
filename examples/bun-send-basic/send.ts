/**
 * Send one message with @mailwire/bun and print its conversation log.
 * Reads the server from SMTP_HOST and SMTP_PORT; with-local-server.mjs provides both.
 *
 *   npm run build && node examples/with-local-server.mjs npx bun examples/bun-send-basic/send.ts
 */
import { createTransporter, MemorySink } from '@mailwire/bun';

const log = new MemorySink();
const transporter = createTransporter({
  host: process.env.SMTP_HOST ?? '127.0.0.1',
  port: Number(process.env.SMTP_PORT ?? 587),
  transcriptSink: log,
});

const result = await transporter.send({
  from: 'Example <sender@example.test>',
  to: 'rcpt@example.test',
  subject: 'Hello from Bun',
  text: 'Sent with @mailwire/bun.',
});
await transporter.close();
process.stdout.write(log.text());
process.stdout.write(`accepted: ${result.accepted.join(', ')}; reply: ${result.response}\n`);
