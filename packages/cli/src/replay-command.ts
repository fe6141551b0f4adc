/**
 * `mailwire replay FILE`: plays the server's side of a recorded connection on 127.0.0.1, so
 * a client can be run against a failure seen elsewhere. Prints the address on stdout and any
 * departure from the recording on stderr. Exit status 0 when the client followed the
 * recording to its end, 1 when it departed or the replay stopped early, 2 on invalid input.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { integerArgument, readTextFile } from './connection-options.js';
import { splitConnections } from './conversation.js';
import { analyseConnection } from './diagnosis.js';
import { loadTranscript } from './explain-command.js';
import {
  buildReplayScript,
  type ConnectionSelector,
  chooseConnection,
  parseConnectionSelector,
  type ReplayScript,
} from './replay-script.js';
import { startReplayServer } from './replay-server.js';
import { EXIT, InputError } from './terminal.js';
import { generateTestCertificate } from './test-certificate.js';

export interface ReplayFlags {
  port: number;
  tlsCert: string;
  connection?: ConnectionSelector;
  line?: number;
  idleTimeout: number;
}

/** Define the `replay` subcommand on a program. */
export function defineReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'play the server side of a recorded connection on 127.0.0.1 for a client to run against',
    )
    .argument('<file>', 'transcript file, text format or JSON Lines')
    .addOption(
      new Option('--port <number>', 'TCP port on 127.0.0.1; 0 picks a free port')
        .argParser(integerArgument('port', 0, 65535))
        .default(0, 'a free port'),
    )
    .addOption(
      new Option(
        '--tls-cert <source>',
        '`auto` generates a test CA and certificate for localhost and 127.0.0.1; ' +
          'or a PEM file with a certificate and its private key',
      ).default('auto'),
    )
    .addOption(
      new Option(
        '--connection <id>',
        'connection to replay: its id, or PROCESS:ID when several processes wrote the log ' +
          '(default: the first that failed)',
      ).argParser(connectionArgument),
    )
    .addOption(
      new Option('--line <number>', 'replay the connection that contains this line of the file')
        .argParser(integerArgument('line number', 1, Number.MAX_SAFE_INTEGER))
        .conflicts('connection'),
    )
    .option(
      '--idle-timeout <ms>',
      'milliseconds without client activity after which the replay stops',
      integerArgument('milliseconds', 1, 3_600_000),
      30_000,
    )
    .addHelpText(
      'after',
      '\nExit status: 0 the client followed the recording, 1 it departed or stopped early, 2 ' +
        'invalid input.',
    )
    .action(async (file: string, flags: ReplayFlags) => {
      process.exitCode = await runReplay(file, flags);
    });
}

/** Run `replay`; returns the exit status. */
export async function runReplay(path: string, flags: ReplayFlags): Promise<number> {
  const file = await loadTranscript(path);
  const connections = splitConnections(file.records);
  const failed = (connection: (typeof connections)[number]) =>
    analyseConnection(connection).outcome === 'failed';
  const chosen = chooseConnection(connections, failed, {
    selector: flags.connection,
    line: flags.line,
  });
  const script = buildReplayScript(chosen);

  let temporaryDirectory: string | null = null;
  try {
    let certificate: { certPem: string; keyPem: string } | null = null;
    if (script.usesTls) {
      const loaded = await loadCertificate(flags.tlsCert);
      certificate = loaded;
      if (loaded.caPem) {
        temporaryDirectory = await mkdtemp(join(tmpdir(), 'mailwire-replay-'));
        const caPath = join(temporaryDirectory, 'ca.pem');
        await writeFile(caPath, loaded.caPem, { mode: 0o600 });
        process.stderr.write(
          `TLS: generated a test certificate for localhost and 127.0.0.1; trust it with --ca ` +
            `${caPath}\n`,
        );
      }
    }
    return await serve(path, script, flags, certificate);
  } finally {
    if (temporaryDirectory) await rm(temporaryDirectory, { recursive: true, force: true });
  }
}

async function serve(
  path: string,
  script: ReplayScript,
  flags: ReplayFlags,
  certificate: { certPem: string; keyPem: string } | null,
): Promise<number> {
  const server = await startReplayServer(script, {
    port: flags.port,
    idleTimeoutMs: flags.idleTimeout,
    tls: certificate,
    report: (message) => process.stderr.write(`mailwire replay: ${message}\n`),
  });
  const tlsNote = script.implicitTls ? ' with implicit TLS' : '';
  const processNote = script.processId === null ? '' : ` (process ${script.processId})`;
  process.stdout.write(
    `Replaying connection ${script.connectionId}${processNote} of ${path} ` +
      `(${script.exchanges.length} recorded commands) on 127.0.0.1:${server.port}${tlsNote}\n`,
  );
  const interrupt = () => server.stop();
  process.once('SIGINT', interrupt);
  const outcome = await server.done;
  process.off('SIGINT', interrupt);

  if (outcome.reason === 'idle') {
    process.stderr.write(
      `mailwire replay: stopped after ${flags.idleTimeout} ms without client activity\n`,
    );
  } else if (outcome.reason === 'interrupted') {
    process.stderr.write('mailwire replay: stopped by an interrupt\n');
  } else if (outcome.reason === 'time-limit') {
    process.stderr.write('mailwire replay: stopped at the time limit of 10 minutes\n');
  }
  if (outcome.followed) {
    process.stderr.write('mailwire replay: the client followed the recording to its end\n');
    return EXIT.ok;
  }
  const count = outcome.departures.length;
  if (count > 0)
    process.stderr.write(
      `mailwire replay: the client departed from the recording ${count} ` +
        `time${count === 1 ? '' : 's'}\n`,
    );
  return EXIT.failed;
}

function connectionArgument(value: string): ConnectionSelector {
  const selector = parseConnectionSelector(value);
  if (!selector) {
    throw new InvalidArgumentError('expected a connection id such as 1, or PROCESS:ID as 4182:1');
  }
  return selector;
}

/** Certificate for the replay: generated, or read from a PEM file with the certificate and key. */
async function loadCertificate(
  source: string,
): Promise<{ certPem: string; keyPem: string; caPem?: string }> {
  if (source === 'auto') {
    const generated = await generateTestCertificate();
    return { certPem: generated.certPem, keyPem: generated.keyPem, caPem: generated.caPem };
  }
  const pem = await readTextFile(source, '--tls-cert');
  const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
  const keyPem =
    /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(
      pem,
    )?.[0];
  const certificates = pem.match(certPem);
  if (!certificates || !keyPem) {
    throw new InputError(
      `Invalid --tls-cert ${source}: expected \`auto\` or a PEM file with a certificate and a ` +
        `private key`,
    );
  }
  return { certPem: certificates.join('\n'), keyPem };
}
