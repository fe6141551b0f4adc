/**
 * `mailwire probe`: connects, sends EHLO, negotiates TLS and logs in as configured, then
 * quits without sending mail. Prints the greeting, the extensions, the TLS evidence and
 * whether AUTH worked. Exit status 0 when all of that worked, 1 when it failed, 2 on input.
 */
import {
  createTransporter,
  type TlsDetails,
  type Transporter,
  type VerifyResult,
} from '@mailwire/node';
import type { Command } from 'commander';
import {
  addConnectionOptions,
  buildTransporterOptions,
  type ConnectionFlags,
} from './connection-options.js';
import {
  type ErrorJson,
  errorJson,
  exitStatusOf,
  printFailure,
  TerminalTranscriptSink,
} from './session-output.js';
import { colourEnabled, createPalette, EXIT, type Palette } from './terminal.js';

/** The object `probe --json` prints. */
export interface ProbeJson {
  outcome: 'ok' | 'error';
  host: string;
  port: number | null;
  greeting: string | null;
  extensions: string[];
  authMechanisms: string[];
  tls: TlsDetails | null;
  /** `accepted`, `not attempted` (no --user) or `failed`. */
  authentication: 'accepted' | 'not attempted' | 'failed';
  error: ErrorJson | null;
  timings: { total: number };
}

/** Define the `probe` subcommand on a program. */
export function defineProbeCommand(program: Command): void {
  const command = program
    .command('probe')
    .description('check a server: greeting, extensions, TLS certificate and login; sends no mail');
  addConnectionOptions(command)
    .addHelpText('after', '\nExit status: 0 the probe passed, 1 it failed, 2 invalid input.')
    .action(async (flags: ConnectionFlags) => {
      process.exitCode = await runProbe(flags);
    });
}

/** Run `probe`; returns the exit status. */
export async function runProbe(flags: ConnectionFlags): Promise<number> {
  const started = Date.now();
  const palette = createPalette(colourEnabled(process.stderr));
  const sink = new TerminalTranscriptSink(flags.quiet ? null : process.stderr, palette);
  const port = flags.port ?? null;

  let transporter: Transporter | null = null;
  try {
    const options = await buildTransporterOptions(flags);
    options.transcriptSink = sink;
    transporter = createTransporter(options);
    const result = await transporter.verify();
    const authentication = result.authenticated ? 'accepted' : 'not attempted';
    if (flags.json) {
      printJson({
        outcome: 'ok',
        host: flags.host,
        port,
        greeting: result.greeting,
        extensions: result.extensions,
        authMechanisms: result.authMechanisms,
        tls: result.tls,
        authentication,
        error: null,
        timings: { total: Date.now() - started },
      });
    } else {
      const out = createPalette(colourEnabled(process.stdout));
      process.stdout.write(renderProbe(flags, result, out));
    }
    return EXIT.ok;
  } catch (error) {
    if (flags.json) {
      const failedAuth = (error as { code?: string }).code === 'EAUTH';
      printJson({
        outcome: 'error',
        host: flags.host,
        port,
        greeting: null,
        extensions: [],
        authMechanisms: [],
        tls: null,
        authentication: failedAuth ? 'failed' : 'not attempted',
        error: errorJson(error),
        timings: { total: Date.now() - started },
      });
    }
    printFailure('probe', error, sink.entries, palette);
    return exitStatusOf(error);
  } finally {
    await transporter?.close();
  }
}

function printJson(value: ProbeJson): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Render a probe result for people. */
export function renderProbe(
  flags: ConnectionFlags,
  result: VerifyResult,
  palette: Palette,
): string {
  const port = flags.port ?? (flags.secure ? 465 : 587);
  const lines = [
    `${palette.bold('Server:')} ${flags.host} port ${port}${flags.secure ? ' (implicit TLS)' : ''}`,
    `${palette.bold('Greeting:')} ${result.greeting}`,
    `${palette.bold('Extensions:')} ${result.extensions.join(', ') || 'none (HELO only)'}`,
    `${palette.bold('AUTH mechanisms:')} ${result.authMechanisms.join(' ') || 'none offered'}`,
    ...renderTls(result.tls, palette),
  ];
  const auth = result.authenticated
    ? palette.green(`accepted for ${flags.user}`)
    : flags.user === undefined
      ? 'not attempted (no --user)'
      : palette.yellow('not attempted');
  lines.push(`${palette.bold('Authentication:')} ${auth}`);
  return `${lines.join('\n')}\n`;
}

function renderTls(tls: TlsDetails | null, palette: Palette): string[] {
  if (!tls)
    return [`${palette.bold('TLS:')} ${palette.yellow('none: the connection was not encrypted')}`];
  const verification = tls.authorized
    ? palette.green('verified (chain and host name)')
    : palette.red(`NOT verified: ${tls.authorizationError ?? 'verification disabled'}`);
  return [
    `${palette.bold('TLS:')} ${tls.protocol ?? 'unknown protocol'}, cipher ` +
      `${tls.cipher ?? 'unknown'}`,
    `  Server name: ${tls.serverName ?? 'none sent'}`,
    `  Subject: ${tls.subject ?? 'unknown'}`,
    `  Issuer: ${tls.issuer ?? 'unknown'}`,
    `  Valid: ${tls.validFrom ?? '?'} to ${tls.validTo ?? '?'}`,
    `  SHA-256 fingerprint: ${tls.fingerprint256 ?? 'unknown'}`,
    `  Verification: ${verification}`,
  ];
}
