/**
 * Directories in the system's temporary folder for tests, deleted again when the test or the
 * test file that made them is done, so no log, certificate or password file stays behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

function makeDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function removeDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
}

/** Make a directory for the test that is running; it is deleted when the test ends. */
export function testDirectory(prefix: string): string {
  const directory = makeDirectory(prefix);
  onTestFinished(() => removeDirectory(directory));
  return directory;
}

/** Make a directory for the whole test file; call it at the top level of the file. */
export function fileDirectory(prefix: string): string {
  const directory = makeDirectory(prefix);
  afterAll(() => removeDirectory(directory));
  return directory;
}
