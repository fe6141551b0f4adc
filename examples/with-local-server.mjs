/**
 * Runs an example command next to a local SMTP server on 127.0.0.1 (smtp-server, no TLS,
 * any login accepted), passing its address in SMTP_HOST and SMTP_PORT.
 *
 *   node examples/with-local-server.mjs node examples/node-send-basic/send.mjs
 *   node examples/with-local-server.mjs npx deno run --config packages/deno/deno.json \
 *     --allow-net=127.0.0.1 --allow-env=SMTP_HOST,SMTP_PORT examples/deno-send-basic/send.ts
 */
import { spawn } from 'node:child_process';
import { SMTPServer } from 'smtp-server';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: node examples/with-local-server.mjs COMMAND [ARGS...]\n');
  process.exit(2);
}

let received = 0;
const server = new SMTPServer({
  logger: false,
  disabledCommands: ['STARTTLS'],
  authOptional: true,
  allowInsecureAuth: true,
  onAuth: (_auth, _session, callback) => callback(null, { user: 'example' }),
  onData(stream, _session, callback) {
    stream.resume();
    stream.on('end', () => {
      received += 1;
      callback(null, `Ok: queued as EXAMPLE${received}`);
    });
  },
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.server.address();

const child = spawn(command, args, {
  stdio: 'inherit',
  env: { ...process.env, SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port) },
});
child.on('exit', (code) => {
  process.stderr.write(`local server received ${received} message(s)\n`);
  server.close(() => process.exit(code ?? 1));
});
