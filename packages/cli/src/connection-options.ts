/**
 * Connection, TLS, authentication and log options shared by `send` and `probe`, and their
 * conversion into transporter options. Passwords and tokens are read from the environment,
 * a file or a terminal prompt, never from the command line, and never printed.
 */
import { readFile } from 'node:fs/promises';
import type { LogBody, LogFormat, StartTlsPolicy, TransporterOptions } from '@mailwire/node';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { promptHidden } from './password-prompt.js';
import { InputError, messageOf } from './terminal.js';

/** Options as commander hands them over. */
export interface ConnectionFlags {
  host: string;
  port?: number;
  secure?: boolean;
  starttls: StartTlsPolicy;
  user?: string;
  passwordEnv?: string;
  passwordFile?: string;
  accessTokenEnv?: string;
  authMethod?: string;
  allowInsecureAuth?: boolean;
  ca?: string;
  insecure?: boolean;
  clientName?: string;
  timeout?: number;
  log?: string;
  logFormat: LogFormat;
  logBody: LogBody;
  json?: boolean;
  quiet?: boolean;
}

/** Parse a whole number within limits, for commander. */
export function integerArgument(name: string, minimum: number, maximum: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value.trim()) || number < minimum || number > maximum) {
      throw new InvalidArgumentError(
        `expected a whole number from ${minimum} to ${maximum} (${name})`,
      );
    }
    return number;
  };
}

/** Add the connection, TLS, authentication and log options to a subcommand. */
export function addConnectionOptions(command: Command): Command {
  return command
    .requiredOption('--host <name>', 'server host name or IP address')
    .option(
      '--port <number>',
      'TCP port (default: 465 with --secure, otherwise 587)',
      integerArgument('port', 1, 65535),
    )
    .option('--secure', 'use TLS from the first byte (implicit TLS, usually port 465)')
    .addOption(
      new Option('--starttls <policy>', 'STARTTLS on a connection that starts without TLS')
        .choices(['required', 'opportunistic', 'never'])
        .default('opportunistic'),
    )
    .option(
      '--user <name>',
      'login name for AUTH; the password comes from --password-env, --password-file or a prompt',
    )
    .option('--password-env <variable>', 'name of the environment variable that holds the password')
    .option('--password-file <file>', 'file whose first line is the password')
    .option(
      '--access-token-env <variable>',
      'name of the environment variable that holds an OAuth 2.0 access token (XOAUTH2)',
    )
    .option(
      '--auth-method <mechanism>',
      'SASL mechanism such as PLAIN, LOGIN or XOAUTH2 (default: the strongest one offered)',
    )
    .option('--allow-insecure-auth', 'allow AUTH on a connection without TLS')
    .option('--ca <file>', 'PEM file of CA certificates to trust instead of the system ones')
    .option('-k, --insecure', 'accept a server certificate that fails verification')
    .option(
      '--client-name <name>',
      'name sent with EHLO (default: the local address, as [192.0.2.10])',
    )
    .option(
      '--timeout <ms>',
      'milliseconds to wait to connect, for the greeting and for each reply ' +
        '(default: 10000 to connect, 30000 for the greeting, 60000 per command, 600000 after the ' +
        'data)',
      integerArgument('milliseconds', 1, 86_400_000),
    )
    .option('--log <file>', 'also append the transcript to this file')
    .addOption(
      new Option('--log-format <format>', 'line format of --log')
        .choices(['text', 'jsonl'])
        .default('text'),
    )
    .addOption(
      new Option('--log-body <mode>', 'how much of the message body goes into the transcript')
        .choices(['none', 'headers', 'full'])
        .default('none'),
    )
    .option('--json', 'print the result as one JSON object on stdout')
    .option('-q, --quiet', 'do not print the transcript on stderr');
}

/** Build transporter options from the flags, reading the password or token where one is needed. */
export async function buildTransporterOptions(flags: ConnectionFlags): Promise<TransporterOptions> {
  const options: TransporterOptions = {
    host: flags.host,
    startTls: flags.starttls,
    logBody: flags.logBody,
  };
  if (flags.port !== undefined) options.port = flags.port;
  if (flags.secure) {
    if (flags.starttls === 'required') {
      throw new InputError(
        'Conflicting options: --secure encrypts from the first byte, so --starttls required ' +
          'does not apply; drop one of them',
      );
    }
    options.secure = true;
  }
  if (flags.allowInsecureAuth) options.allowInsecureAuth = true;
  if (flags.clientName !== undefined) options.clientName = flags.clientName;
  if (flags.timeout !== undefined) {
    options.connectionTimeout = flags.timeout;
    options.greetingTimeout = flags.timeout;
    options.commandTimeout = flags.timeout;
    options.dataTimeout = flags.timeout;
  }
  if (flags.log !== undefined) {
    options.logFile = flags.log;
    options.logFormat = flags.logFormat;
  }

  const tls: NonNullable<TransporterOptions['tls']> = {};
  if (flags.ca !== undefined) tls.ca = await readTextFile(flags.ca, '--ca');
  if (flags.insecure) tls.rejectUnauthorized = false;
  if (Object.keys(tls).length > 0) options.tls = tls;

  const auth = await readCredentials(flags);
  if (auth) options.auth = auth;
  return options;
}

async function readCredentials(flags: ConnectionFlags): Promise<TransporterOptions['auth']> {
  const sources = [flags.passwordEnv, flags.passwordFile, flags.accessTokenEnv].filter(
    (source) => source !== undefined,
  );
  if (flags.user === undefined) {
    if (sources.length > 0) {
      throw new InputError(
        'Missing --user: --password-env, --password-file and --access-token-env need a login name',
      );
    }
    return undefined;
  }
  if (sources.length > 1) {
    throw new InputError(
      'Conflicting options: give only one of --password-env, --password-file and ' +
        '--access-token-env',
    );
  }

  const auth: NonNullable<TransporterOptions['auth']> = { user: flags.user };
  if (flags.authMethod !== undefined) auth.method = flags.authMethod;
  if (flags.accessTokenEnv !== undefined) {
    auth.accessToken = readVariable(flags.accessTokenEnv, 'access token', '--access-token-env');
  } else if (flags.passwordEnv !== undefined) {
    auth.pass = readVariable(flags.passwordEnv, 'password', '--password-env');
  } else if (flags.passwordFile !== undefined) {
    auth.pass = await readPasswordFile(flags.passwordFile);
  } else {
    auth.pass = await promptPassword(flags.user);
  }
  return auth;
}

function readVariable(name: string, what: string, option: string): string {
  const value = process.env[name];
  if (value === undefined) {
    throw new InputError(
      `Environment variable ${name} is not set: ${option} expects it to hold the ${what}`,
    );
  }
  if (value === '')
    throw new InputError(`Environment variable ${name} is empty: ${option} expects the ${what}`);
  return value;
}

async function readPasswordFile(path: string): Promise<string> {
  const content = await readTextFile(path, '--password-file');
  // The first line is the password, so a trailing line end from an editor is not part of it.
  const password = content.split(/\r?\n/, 1)[0] ?? '';
  if (password === '') {
    throw new InputError(`Invalid --password-file ${path}: the first line is empty`);
  }
  return password;
}

async function promptPassword(user: string): Promise<string> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new InputError(
      'Missing password for --user: give --password-env VARIABLE or --password-file FILE, ' +
        'or run on a terminal to be prompted',
    );
  }
  const password = await promptHidden(`Password for ${user}: `);
  if (password === '') throw new InputError('Missing password: the prompt got an empty line');
  return password;
}

/** Read a UTF-8 file named by an option; errors name the option and path, never the content. */
export async function readTextFile(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : messageOf(error);
    throw new InputError(`Cannot read ${option} ${path}: ${reason}`);
  }
}
