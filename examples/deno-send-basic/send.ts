/**
 * Send one message with @mailwire/deno and print its conversation log.
 * Reads the server from SMTP_HOST and SMTP_PORT; with-local-server.mjs provides both.
 * `--config packages/deno/deno.json` maps `@mailwire/deno` to the adapter's source and
 * `@mailwire/core` to the built package, so build once first.
 *
 *   npm run build && node examples/with-local-server.mjs npx deno run \
 *     --config packages/deno/deno.json --allow-net=127.0.0.1 --allow-env=SMTP_HOST,SMTP_PORT \
 *     examples/deno-send-basic/send.ts
 */
import { createTransporter, MemorySink } from '@mailwire/deno';

const log = new MemorySink();
const transporter = createTransporter({
  host: Deno.env.get('SMTP_HOST') ?? '127.0.0.1',
  port: Number(Deno.env.get('SMTP_PORT') ?? 587),
  transcriptSink: log,
});

const result = await transporter.send({
  from: 'Example <sender@example.test>',
  to: 'rcpt@example.test',
  subject: 'Hello from Deno',
  text: 'Sent with @mailwire/deno.',
});
await transporter.close();
await Deno.stdout.write(new TextEncoder().encode(log.text()));
console.log(`accepted: ${result.accepted.join(', ')}; reply: ${result.response}`);
