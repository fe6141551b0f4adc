import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, runCli } from './cli.test-helpers.js';

/** Chromium as CI installs it from Debian; the test fails, never skips, when it is missing. */
const CHROMIUM = '/usr/bin/chromium';

const directory = mkdtempSync(join(tmpdir(), 'mailwire-cli-view-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function writeReport(fixture: string): Promise<{ path: string; html: string }> {
  const path = join(directory, `${fixture}.html`);
  const result = await runCli(['view', join(FIXTURES, fixture), '-o', path]);
  expect(result.status).toBe(0);
  expect(result.stdout).toContain(`Report written to ${path}`);
  return { path, html: readFileSync(path, 'utf8') };
}

/** Width and height from the IHDR chunk of a PNG file. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(0, 8)).toEqual(
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  );
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe('mailwire view', () => {
  it('writes one page with no external resources and escaped log text', async () => {
    const { html } = await writeReport('damaged-office365-535.log');

    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('Content-Security-Policy" content="default-src \'none\'');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|@import|url\(/i);
    expect(html).toContain('ESMTP ready &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('AUTH PLAIN ********');
    expect(html).toContain('class="diagnosis failure"');
    expect(html).toContain('Password login over SMTP (SMTP AUTH) is disabled');
    expect(html).toContain('class="row step error failed"');
    expect(html).toMatch(/<div class="took">5031 ms<\/div>/);
  });

  it('renders in headless Chromium', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    const { path } = await writeReport('gmail-535-bad-credentials.log');
    const screenshot = join(directory, 'report.png');
    const profile = mkdtempSync(join(directory, 'profile-'));

    const run = spawnSync(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        `--screenshot=${screenshot}`,
        '--window-size=1200,900',
        pathToFileURL(path).href,
      ],
      { timeout: 60_000, encoding: 'utf8' },
    );

    expect(run.error).toBeUndefined();
    expect(existsSync(screenshot), `no screenshot; chromium said: ${run.stderr}`).toBe(true);
    const bytes = readFileSync(screenshot);
    expect(pngSize(bytes)).toEqual({ width: 1200, height: 900 });
    // A blank 1200x900 page compresses to a few kilobytes; text and colour make it far larger.
    expect(statSync(screenshot).size).toBeGreaterThan(40_000);
  });

  it('requires --output', async () => {
    const help = await runCli(['view', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(
      '-o, --output <file> HTML file to write (required;',
    );

    const missing = await runCli(['view', join(FIXTURES, 'gmail-535-bad-credentials.log')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("required option '-o, --output <file>' not specified");
  });

  it('exits 2 when the transcript cannot be read', async () => {
    const result = await runCli([
      'view',
      join(FIXTURES, 'missing.log'),
      '-o',
      join(directory, 'x.html'),
    ]);
    expect(result.status).toBe(2);
    expect(existsSync(join(directory, 'x.html'))).toBe(false);
  });
});
