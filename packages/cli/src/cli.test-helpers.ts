/**
 * Running the built `mailwire` command in tests: as a child process with a time limit, with
 * colour off, input on stdin and output collected. Tests need `npx tsup` (or `npm run build`)
 * first, because they run `dist/cli.js`.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of the built command. */
export const CLI_PATH = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Directory of the transcript fixtures. */
export const FIXTURES = fileURLToPath(new URL('../test/fixtures/transcripts/', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  /** Text written to stdin, which is then closed. */
  input?: string | Buffer;
  /** Milliseconds before the child is killed. Default 20000. */
  timeoutMs?: number;
}

/** Start the command with colour off; fails the test at once when it is not built. */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): ChildProcessWithoutNullStreams {
  if (!existsSync(CLI_PATH))
    throw new Error(`${CLI_PATH} is missing: run npx tsup in packages/cli first`);
  return spawn(process.execPath, [CLI_PATH, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: 'pipe',
  });
}

/** Run the command to its end and collect its output. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options.env);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(options.input ?? '');

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `mailwire ${args.join(' ')} ran longer than ${options.timeoutMs ?? 20_000} ms\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Resolve with the first match of `pattern` in a stream's output, or reject after `timeoutMs`. */
export function waitForOutput(
  stream: NodeJS.ReadableStream,
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<RegExpExecArray> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`No output matching ${pattern} within ${timeoutMs} ms; got: ${seen}`));
    }, timeoutMs);
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (!match) return;
      clearTimeout(timer);
      stream.off('data', onData);
      resolve(match);
    };
    stream.on('data', onData);
  });
}
