/**
 * Runs `child-send.mjs` in a separate Node process with a deadline, so that a test can
 * observe a client that never returns control, or a process that crashes, without hanging.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./child-send.mjs', import.meta.url));

export interface ChildRun {
  /** Exit code, or null when a signal ended the process. */
  exitCode: number | null;
  /** True when the process was killed at the deadline. */
  timedOut: boolean;
  /** The outcome line the child printed, parsed, or null when it printed none. */
  outcome: Record<string, unknown> | null;
  stderr: string;
}

/**
 * Run one send in a child process and kill it after `deadlineMs` milliseconds. `user` runs it
 * under another user and group id, which needs the superuser.
 */
export function runChildSend(
  config: { options: object; message: object; after?: 'exit' | 'throw' },
  deadlineMs: number,
  user?: { uid: number; gid: number },
): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...user,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    // A process that cannot start (no permission to switch users) reports it here.
    child.on('error', (error) => {
      stderr += `Starting the child process failed: ${error.message}\n`;
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((text) => text.startsWith('{'));
      resolve({ exitCode, timedOut, outcome: line ? JSON.parse(line) : null, stderr });
    });
  });
}
