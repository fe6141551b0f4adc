/**
 * `mailwire send`: sends one message and reports the outcome. The transcript goes to stderr
 * while the session runs; the result goes to stdout, as text or as one JSON object.
 * Exit status 0 when every recipient was accepted, 3 when some were rejected, 1 when the
 * send failed and 2 when the input was invalid and nothing was sent.
 */
import { createTransporter, isSmtpError, type SendResult, type Transporter } from '@mailwire/node';
import type { Command } from 'commander';
import {
  addConnectionOptions,
  buildTransporterOptions,
  type ConnectionFlags,
} from './connection-options.js';
import { buildMessage, type MessageFlags } from './message-input.js';
import {
  type ErrorJson,
  errorJson,
  exitStatusOf,
  printFailure,
  rejectedOf,
  TerminalTranscriptSink,
} from './session-output.js';
import { colourEnabled, createPalette, EXIT } from './terminal.js';

export type SendFlags = ConnectionFlags & MessageFlags;

/** The object `send --json` prints. */
export interface SendJson {
  outcome: 'sent' | 'partial' | 'error';
  accepted: string[];
  rejected: SendResult['rejected'];
  error: ErrorJson | null;
  timings: SendResult['timings'];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Define the `send` subcommand on a program. */
export function defineSendCommand(program: Command): void {
  const command = program
    .command('send')
    .description('send one message and print the outcome; the transcript goes to stderr');
  addConnectionOptions(command)
    .option(
      '--from <address>',
      "envelope sender and From address: user@example.com or 'Name <user@example.com>'",
    )
    .option('--to <address>', 'recipient, in the form of --from; repeat for more', collect)
    .option('--cc <address>', 'copy recipient, in the form of --from; repeat for more', collect)
    .option('--subject <text>', 'subject of a message composed from --text')
    .option('--text <text>', 'plain text body')
    .option(
      '--message <file>',
      'send this finished RFC 5322 message (- reads stdin). The sender comes from --from or ' +
        'its From field. With --to or --cc the message is sent as is. Otherwise the ' +
        'recipients come from its To, Cc and Bcc fields, and the Bcc field is removed ' +
        'before sending, as sendmail -t does',
    )
    .addHelpText(
      'after',
      '\nExit status: 0 all recipients accepted, 3 some rejected, 1 send failed, 2 invalid input.',
    )
    .action(async (flags: SendFlags) => {
      process.exitCode = await runSend({ ...flags, to: flags.to ?? [], cc: flags.cc ?? [] });
    });
}

/** Run `send`; returns the exit status. */
export async function runSend(flags: SendFlags): Promise<number> {
  const started = Date.now();
  const palette = createPalette(colourEnabled(process.stderr));
  const sink = new TerminalTranscriptSink(flags.quiet ? null : process.stderr, palette);

  let transporter: Transporter | null = null;
  try {
    const options = await buildTransporterOptions(flags);
    const message = await buildMessage(flags);
    options.transcriptSink = sink;
    transporter = createTransporter(options);

    const result = await transporter.send(message);
    const outcome = result.rejected.length > 0 ? 'partial' : 'sent';
    if (flags.json) {
      printJson({
        outcome,
        accepted: result.accepted,
        rejected: result.rejected,
        error: null,
        timings: result.timings,
      });
    } else {
      printResult(result);
    }
    return outcome === 'partial' ? EXIT.partial : EXIT.ok;
  } catch (error) {
    if (flags.json) {
      const smtp = isSmtpError(error);
      printJson({
        outcome: 'error',
        accepted: smtp ? [...error.accepted] : [],
        rejected: smtp ? rejectedOf(error) : [],
        error: errorJson(error),
        timings: { total: Date.now() - started },
      });
    }
    printFailure('send', error, sink.entries, palette);
    return exitStatusOf(error);
  } finally {
    await transporter?.close();
  }
}

function printJson(value: SendJson): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function printResult(result: SendResult): void {
  const total = result.accepted.length + result.rejected.length;
  const lines: string[] = [];
  if (result.rejected.length === 0) {
    lines.push(
      `Message accepted for ${total} recipient${total === 1 ? '' : 's'}: ` +
        `${result.accepted.join(', ')}`,
    );
  } else {
    lines.push(
      `Message accepted for ${result.accepted.length} of ${total} recipients: ` +
        `${result.accepted.join(', ')}`,
    );
    for (const rejected of result.rejected)
      lines.push(`Rejected ${rejected.recipient}: ${rejected.response}`);
  }
  lines.push(`Server reply: ${result.response.replace(/\n/g, ' ')}`);
  if (result.queueId) lines.push(`Queue id: ${result.queueId}`);
  if (result.messageId) lines.push(`Message-ID: ${result.messageId}`);
  if (result.timings.total !== undefined) lines.push(`Time: ${result.timings.total} ms`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
