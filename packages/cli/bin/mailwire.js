#!/usr/bin/env node
// Launcher for the `mailwire` command. npm links `bin` entries when it installs, before any
// build, so the link points here and this file loads the built command from dist.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/cli.js', import.meta.url);

if (!existsSync(built)) {
  process.stderr.write(
    `mailwire: ${fileURLToPath(built)} is missing; run \`npm run build\` first ` +
      '(at the repository root or in packages/cli)\n',
  );
  process.exit(2);
}

await import(built.href);
