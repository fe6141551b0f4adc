import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };
import { CLI_PATH, FIXTURES } from './cli.test-helpers.js';

const LAUNCHER = fileURLToPath(new URL('../bin/mailwire.js', import.meta.url));

const directory = mkdtempSync(join(tmpdir(), 'mailwire-cli-launcher-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function runLauncher(path: string, args: string[]) {
  return spawnSync(process.execPath, [path, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

describe('bin/mailwire.js', () => {
  it('is the executable that package.json links', () => {
    expect(packageJson.bin.mailwire).toBe('./bin/mailwire.js');
    expect(packageJson.files).toContain('bin');
    expect(statSync(LAUNCHER).mode & 0o111).toBe(0o111);
  });

  it('runs the built command', () => {
    expect(existsSync(CLI_PATH), `${CLI_PATH} is missing: run npx tsup in packages/cli`).toBe(true);
    const version = runLauncher(LAUNCHER, ['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(packageJson.version);

    const explain = runLauncher(LAUNCHER, [
      'explain',
      join(FIXTURES, 'gmail-535-bad-credentials.log'),
    ]);
    expect(explain.status).toBe(0);
    expect(explain.stdout).toContain('failed at AUTH: 535 5.7.8');
  });

  it('exits 2 with one line when the build is missing', () => {
    const copy = join(directory, 'bin', 'mailwire.js');
    mkdirSync(join(directory, 'bin'));
    copyFileSync(LAUNCHER, copy);

    const result = runLauncher(copy, ['--version']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('run `npm run build` first');
  });
});
