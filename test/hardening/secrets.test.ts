/**
 * Property tests over random user names, passwords and tokens, for every SASL mechanism the
 * client implements. No log line, error message, error object or stack may contain the
 * secret in a form a reader could use: as is, escaped, in base64, in hex, or inside an
 * AUTH PLAIN, XOAUTH2 or OAUTHBEARER blob. The server is local and scripted, and it may
 * accept, reject, or reject while echoing the credentials back (a hostile server).
 *
 * Short secrets can occur in the library's own text by chance ("Auth" in "Authentication
 * failed"), so each output is compared with the same scenario run with a control secret: a
 * leak is any form of the secret that occurs more often than in the control run's output.
 * Failure messages name the output and the form, never the value.
 */
import { createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  createTransporter,
  escapeText,
  formatJsonLine,
  formatTextLine,
  MemorySink,
} from '@mailwire/node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saslPrep } from '../../packages/core/src/auth/saslprep.js';
import {
  type RawConnection,
  type RawServer,
  type Reaction,
  serveSmtp,
  startRawServer,
} from './raw-server.js';

const MECHANISMS = [
  'PLAIN',
  'LOGIN',
  'CRAM-MD5',
  'SCRAM-SHA-256',
  'XOAUTH2',
  'OAUTHBEARER',
] as const;
type Mechanism = (typeof MECHANISMS)[number];
const TOKEN_MECHANISMS = new Set<Mechanism>(['XOAUTH2', 'OAUTHBEARER']);

/** What the server does with the credentials. */
type Outcome = 'accept' | 'reject' | 'reject-echo';
const OUTCOMES: Outcome[] = ['accept', 'reject', 'reject-echo'];

/** Runs per mechanism and outcome. Each run is one SMTP session over 127.0.0.1. */
const RUNS = 30;

/** SCRAM iteration count the server requests: the RFC 7677 §4 minimum. */
const SCRAM_ITERATIONS = 4096;

const MESSAGE = { from: 'sender@mw.test', to: 'rcpt@mw.test', subject: 'Test', text: 'Hello' };

/** Beginnings of words in the client's own messages and in server replies. */
const WORD_PREFIXES = [
  'Auth',
  'Authe',
  'SMTP',
  'Conn',
  'Pass',
  'User',
  'Mail',
  'From',
  'fail',
  'accept',
];

/** No lone surrogate (it has no UTF-8 form) and not only asterisks (the mask is made of them). */
const isUsable = (text: string) => !/\p{Cs}/u.test(text) && !/^\*+$/.test(text);

/** Secrets: at least 4 characters, as the library masks raw forms only from 3 characters. */
const secretArbitrary = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 4, maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 4, maxLength: 16 }),
    fc.base64String({ minLength: 4, maxLength: 44 }),
    fc.string({
      unit: fc.constantFrom('"', '\\', "'", '=', '+', '/', ' ', 'a', 'Z', '\u00e9', '\u00df'),
      minLength: 4,
      maxLength: 24,
    }),
    fc.constantFrom(...WORD_PREFIXES),
  )
  .filter((text) => text.length >= 4 && isUsable(text));

const userArbitrary = fc
  .oneof(
    fc.emailAddress(),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }),
  )
  .filter(isUsable);

interface Scenario {
  mechanism: Mechanism;
  outcome: Outcome;
  user: string;
  secret: string;
  /** Give the token through a function, which the client calls once per login. */
  tokenFunction?: boolean;
}

/** The scenario the server plays on the connection now open. Runs are sequential. */
let current: Scenario | null = null;
let server: RawServer;

beforeAll(async () => {
  server = await startRawServer(
    (connection) =>
      serveSmtp(connection, {
        extensions: [`AUTH ${current?.mechanism ?? 'PLAIN'}`],
        reply: (line, peer) => (line.startsWith('AUTH ') ? authenticate(line, peer) : undefined),
      }),
    { deadlineMs: 600_000 },
  );
});

afterAll(async () => {
  await server.close();
});

const base64 = (text: string | Buffer) => Buffer.from(text).toString('base64');
const fromBase64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

/** Send a 334 challenge and return the client's response. */
async function challenge(connection: RawConnection, text: string): Promise<string> {
  await connection.write(`334 ${text}\r\n`);
  return (await connection.readLine()) ?? '';
}

/** Build the final reply: 235, or a 535 that may repeat what the client sent and the secret. */
function finalReply(scenario: Scenario, received: string[]): Reaction {
  if (scenario.outcome === 'accept') return '235 2.7.0 accepted';
  if (scenario.outcome === 'reject') return '535 5.7.8 credentials rejected';
  const echoed = `${received.join(' ')} ${scenario.secret}`.replace(/[\r\n]/g, ' ');
  return `535-5.7.8 credentials rejected: ${echoed}\r\n535 5.7.8 ${base64(scenario.secret)}`;
}

/** Play the server side of the AUTH exchange of the current scenario. */
async function authenticate(line: string, connection: RawConnection): Promise<Reaction> {
  const scenario = current!;
  const [, mechanism, initial] = line.split(' ');
  const received = initial === undefined ? [] : [initial];

  switch (mechanism) {
    case 'PLAIN':
      if (initial === undefined) received.push(await challenge(connection, ''));
      return finalReply(scenario, received);
    case 'LOGIN':
      received.push(await challenge(connection, base64('Username:')));
      received.push(await challenge(connection, base64('Password:')));
      return finalReply(scenario, received);
    case 'CRAM-MD5':
      received.push(await challenge(connection, base64(`<${Date.now()}.1@mw.test>`)));
      return finalReply(scenario, received);
    case 'SCRAM-SHA-256':
      return scram(scenario, initial ?? '', connection);
    default:
      return bearer(scenario, received, connection);
  }
}

/** XOAUTH2 and OAUTHBEARER: a rejection is a 334 with a JSON error, then 535. */
async function bearer(
  scenario: Scenario,
  received: string[],
  connection: RawConnection,
): Promise<Reaction> {
  if (scenario.outcome === 'accept') return finalReply(scenario, received);
  const status: Record<string, string> = { status: '401', schemes: 'bearer' };
  if (scenario.outcome === 'reject-echo') status.token = scenario.secret;
  received.push(await challenge(connection, base64(JSON.stringify(status))));
  return finalReply(scenario, received);
}

/** Play a SCRAM-SHA-256 server (RFC 5802) that has the password and sends its proof on success. */
async function scram(
  scenario: Scenario,
  initial: string,
  connection: RawConnection,
): Promise<Reaction> {
  const clientFirstBare = fromBase64(initial).slice('n,,'.length);
  const clientNonce = /(?:^|,)r=([^,]*)/.exec(clientFirstBare)?.[1] ?? '';
  const salt = randomBytes(16);
  const saltText = salt.toString('base64');
  const serverFirst = `r=${clientNonce}mwServerNonce,s=${saltText},i=${SCRAM_ITERATIONS}`;
  const clientFinal = await challenge(connection, base64(serverFirst));

  if (scenario.outcome !== 'accept') {
    const detail = scenario.outcome === 'reject-echo' ? ` ${scenario.secret}` : '';
    await challenge(connection, base64(`e=invalid-proof${detail}`));
    return finalReply(scenario, [initial, clientFinal]);
  }
  const withoutProof = fromBase64(clientFinal).replace(/,p=[^,]*$/, '');
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const password = saslPrep(scenario.secret) ?? '';
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const signature = createHmac('sha256', serverKey).update(authMessage).digest('base64');
  await challenge(connection, base64(`v=${signature}`));
  return '235 2.7.0 accepted';
}

/** Everything a caller or a log reader can see of one send. */
interface Observed {
  sent: boolean;
  errorCode: string | null;
  outputs: Record<string, string>;
}

/** Transcript line prefix: counter, local time, process id, connection id. */
const LINE_PREFIX = /\d+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} -?\d+ -?\d+ /g;

async function observe(scenario: Scenario): Promise<Observed> {
  current = scenario;
  const sink = new MemorySink();
  const { user, secret, mechanism } = scenario;
  const token = scenario.tokenFunction ? async () => secret : secret;
  const auth = TOKEN_MECHANISMS.has(mechanism)
    ? { user, accessToken: token, method: mechanism }
    : { user, pass: secret, method: mechanism };
  const transporter = createTransporter({
    host: '127.0.0.1',
    port: server.port,
    allowInsecureAuth: true,
    auth,
    transcriptSink: sink,
    greetingTimeout: 5000,
    commandTimeout: 5000,
  });

  let error: unknown = null;
  let sent = false;
  try {
    await transporter.send(MESSAGE);
    sent = true;
  } catch (caught) {
    error = caught;
  }

  const entries = sink.entries;
  const failure = error as { message?: unknown; stack?: unknown; code?: unknown } | null;
  const outputs: Record<string, string> = {
    'transcript text': entries.map((entry) => entry.text).join('\n'),
    'text log lines': entries
      .map((entry) => formatTextLine(entry).replace(LINE_PREFIX, ''))
      .join('\n'),
    'JSON log lines': entries
      .map((entry) => JSON.stringify(JSON.parse(formatJsonLine(entry)).text))
      .join('\n'),
    'error message': String(failure?.message ?? ''),
    'error JSON': error === null ? '' : JSON.stringify(error),
    'error stack': String(failure?.stack ?? ''),
    'error inspected': error === null ? '' : inspect(error, { depth: 6 }).replace(LINE_PREFIX, ''),
  };
  return { sent, errorCode: typeof failure?.code === 'string' ? failure.code : null, outputs };
}

/** List every form of the secret a reader could use, by name. */
function secretForms(user: string, secret: string): Record<string, string> {
  const bytes = Buffer.from(secret);
  // RFC 7628 §3.1 with the saslname escaping of RFC 5801 §4. An empty user name has no a=.
  const saslName = user.replace(/=/g, '=3D').replace(/,/g, '=2C');
  const authorization = user === '' ? '' : `a=${saslName}`;
  return {
    'raw value': secret,
    'quoted-escaped value': escapeText(secret, true),
    'event-escaped value': escapeText(secret, false),
    'JSON-escaped value': JSON.stringify(secret).slice(1, -1),
    'inspect-escaped value': inspect(secret).slice(1, -1),
    base64: bytes.toString('base64'),
    'hex (lower case)': bytes.toString('hex'),
    'hex (upper case)': bytes.toString('hex').toUpperCase(),
    'PLAIN blob': base64(`\0${user}\0${secret}`),
    'PLAIN blob with authzid': base64(`${user}\0${user}\0${secret}`),
    'XOAUTH2 blob': base64(`user=${user}\x01auth=Bearer ${secret}\x01\x01`),
    'OAUTHBEARER blob': base64(`n,${authorization},\x01auth=Bearer ${secret}\x01\x01`),
  };
}

function countOf(text: string, needle: string): number {
  if (needle === '') return 0;
  return text.split(needle).length - 1;
}

/** Control runs by scenario kind. Their outputs contain every word the library adds itself. */
const controls = new Map<string, Observed>();

/** SCRAM rejects secrets that SASLprep prohibits before AUTH, so the control must too. */
function isPreparable(scenario: Scenario): boolean {
  if (scenario.mechanism !== 'SCRAM-SHA-256') return true;
  return saslPrep(scenario.secret) !== null && saslPrep(scenario.user) !== null;
}

async function controlFor(scenario: Scenario): Promise<Observed> {
  const preparable = isPreparable(scenario);
  const key = `${scenario.mechanism} ${scenario.outcome} ${preparable} ${scenario.tokenFunction}`;
  const known = controls.get(key);
  if (known) return known;

  const secret = preparable ? 'control-Secret-7q' : 'control\u0007Secret';
  const control = await observe({ ...scenario, user: 'control@mw.test', secret });
  controls.set(key, control);
  return control;
}

/** Return the names of the leaks in one run, or of the unexpected outcome, never the secret. */
async function findProblems(scenario: Scenario): Promise<string[]> {
  const control = await controlFor(scenario);
  const observed = await observe(scenario);
  const problems: string[] = [];

  const expectSent = scenario.outcome === 'accept' && isPreparable(scenario);
  if (observed.sent !== expectSent) {
    problems.push(`send ${observed.sent ? 'succeeded' : `failed with ${observed.errorCode}`}`);
  }
  const expectedCode = isPreparable(scenario) ? 'EAUTH' : 'EINPUT';
  if (!observed.sent && observed.errorCode !== expectedCode) {
    problems.push(`error code ${observed.errorCode} instead of ${expectedCode}`);
  }

  for (const [output, text] of Object.entries(observed.outputs)) {
    const controlText = control.outputs[output] ?? '';
    for (const [form, needle] of Object.entries(secretForms(scenario.user, scenario.secret))) {
      if (countOf(text, needle) > countOf(controlText, needle))
        problems.push(`${form} in ${output}`);
    }
  }
  return problems;
}

/**
 * Check the property for `RUNS` random users and secrets. The counterexample contains the
 * secret, so a failure reports only what leaked where, and the seed and path to replay it.
 */
async function checkNoLeak(scenario: Omit<Scenario, 'user' | 'secret'>): Promise<void> {
  const property = fc.asyncProperty(userArbitrary, secretArbitrary, async (user, secret) => {
    const problems = await findProblems({ ...scenario, user, secret });
    return problems.length === 0;
  });

  const details = await fc.check(property, { numRuns: RUNS, endOnFailure: true });

  let report = '';
  if (details.failed && details.counterexample) {
    const [user, secret] = details.counterexample;
    report = (await findProblems({ ...scenario, user, secret })).join('; ');
  }
  const replay = `seed ${details.seed}, path ${details.counterexamplePath}`;
  expect(details.failed, `${report}; replay with ${replay}`).toBe(false);
}

describe.each(MECHANISMS)('AUTH %s', (mechanism) => {
  it.each(OUTCOMES)(
    'leaks no secret when the server does %s',
    async (outcome) => {
      await checkNoLeak({ mechanism, outcome });
    },
    60_000,
  );
});

describe.each(['XOAUTH2', 'OAUTHBEARER'] as const)('AUTH %s with a token function', (mechanism) => {
  it.each(OUTCOMES)(
    'leaks no secret when the server does %s',
    async (outcome) => {
      await checkNoLeak({ mechanism, outcome, tokenFunction: true });
    },
    60_000,
  );
});

describe('option errors', () => {
  it.each([
    ['auth given as the password', { auth: 'Option-Secret-91' }],
    ['auth.pass of the wrong type', { auth: { user: 'u@mw.test', pass: ['Option-Secret-91'] } }],
    ['auth.accessToken of the wrong type', { auth: { user: 'u@mw.test', accessToken: 918273645 } }],
  ])('do not repeat %s', (_, options) => {
    let error: unknown = null;
    try {
      createTransporter({ host: '127.0.0.1', port: 2525, ...options } as never);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(Error);
    const printed = `${(error as Error).stack}\n${JSON.stringify(error)}\n${inspect(error)}`;
    expect(printed.includes('Option-Secret-91'), 'the value appears in the error').toBe(false);
    expect(printed.includes('918273645'), 'the number appears in the error').toBe(false);
  });
});
