/**
 * Sends one message from a separate Node process and prints the outcome as one JSON line.
 * Tests use it for a client that might never yield to the event loop (the parent kills the
 * process at its deadline) and for a process that crashes right after sending.
 * Usage: node child-send.mjs '{"options": {...}, "message": {...}, "after": "exit"}'
 * `after` is `exit` to end normally or `throw` to end with an uncaught exception.
 */
import { createTransporter } from '@mailwire/node';

const { options, message, after } = JSON.parse(process.argv[2] ?? '{}');
const transporter = createTransporter(options);

transporter.send(message).then(
  (result) => finish({ sent: true, accepted: result.accepted }),
  (error) =>
    finish({
      sent: false,
      error: {
        code: error.code,
        phase: error.phase,
        message: error.message,
        responseCode: error.responseCode,
      },
    }),
);

function finish(outcome) {
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  if (after !== 'throw') return;
  // Thrown from a tick callback, this is an uncaught exception, not a rejected promise.
  process.nextTick(() => {
    throw new Error('Deliberate crash right after the send');
  });
}
