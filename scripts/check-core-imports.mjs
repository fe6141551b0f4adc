#!/usr/bin/env node
/**
 * Checks that packages/core stays runtime-neutral: no Node built-in modules, no Deno or Bun
 * globals, no timers, no console, no Buffer and no require(). Comments are ignored, and so are
 * string literals except where they name an imported module. Test files (`*.test.ts`) may use
 * anything. Uses only Node built-ins so that it runs before any build step.
 *
 *   usage: node scripts/check-core-imports.mjs [SOURCE_DIR]   (default: packages/core/src)
 *
 * Exits 0 when every file passes, 1 with one `file:line: reason` line per finding, 2 when
 * SOURCE_DIR cannot be read.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = resolve(process.argv[2] ?? join(repoRoot, 'packages/core/src'));

const SOURCE_FILE = /\.[cm]?ts$/;
const TEST_FILE = /\.test\.[cm]?ts$/;

// Bare names of Node built-ins (`fs`, `fs/promises`, `child_process`, ...). A `node:` or
// `bun:` prefix is rejected whatever follows it.
const NODE_BUILTINS = new Set(builtinModules.filter((name) => !name.startsWith('_')));
const RUNTIME_PREFIX = /^(node|bun):/;

const TIMER_FUNCTIONS = [
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
  'queueMicrotask',
];

// Globals that exist only in some runtimes, or that schedule work behind the caller's back.
// Core receives time and timers through the adapter's Clock instead.
const GLOBAL_RULES = [
  { pattern: /\b(Deno|Bun)\b/g, reason: (name) => `uses the ${name} global` },
  {
    pattern: new RegExp(`\\b(${TIMER_FUNCTIONS.join('|')})\\b`, 'g'),
    reason: (name) => `uses the timer function ${name}`,
  },
  { pattern: /\bconsole\s*\./g, reason: () => 'writes to the console' },
  { pattern: /\bprocess\s*\./g, reason: () => 'uses the Node process object' },
  {
    pattern: /\bglobalThis\s*\.\s*(process|console|global)\b/g,
    reason: (name) => `uses globalThis.${name}`,
  },
  { pattern: /\bglobal\s*\./g, reason: () => 'uses the Node global object' },
  { pattern: /\bBuffer\b/g, reason: () => 'uses the Node Buffer class' },
  { pattern: /\b(__dirname|__filename)\b/g, reason: (name) => `uses the Node variable ${name}` },
  { pattern: /\brequire\s*\(/g, reason: () => 'calls require()' },
];

// Module specifiers: `import x from 'm'`, `export * from 'm'`, `import 'm'`, `import('m')`.
// These patterns run on the masked text, where each string keeps its quotes but not its content.
const SPECIFIER_PATTERNS = [
  /\b(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])/g,
  /\bimport\s*(['"])/g,
  /\bimport\s*\(\s*(['"])/g,
];

// `/// <reference types="node" />` pulls in a runtime's typings, so it counts as an import.
const REFERENCE_DIRECTIVE = /^\s*\/\/\/\s*<reference\s+(?:types|lib)\s*=\s*["']([^"']+)["']/gm;
const RUNTIME_TYPINGS = new Set(['node', 'deno', 'deno.ns', 'bun', 'bun-types']);

// After one of these characters or keywords a `/` starts a regular expression, not a division.
const REGEX_AFTER_CHAR = new Set([...'(,=:[!&|?{};+-*%<>~^']);
const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

/** Lists source files under `dir`, sorted so that output is stable between runs. */
function listSourceFiles(dir) {
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .filter((file) => SOURCE_FILE.test(file) && !TEST_FILE.test(file));
  return files.sort();
}

/**
 * Masks comments, string contents, template text and regular expressions with spaces, keeping
 * line breaks and every offset unchanged. Code inside `${...}` stays visible. Returns the masked
 * text and a map from the offset of each string's opening quote to the string's raw content.
 */
function maskSource(source) {
  const out = source.split('');
  const strings = new Map();
  const blank = (from, to) => {
    for (let k = from; k < to; k++) {
      if (out[k] !== '\n' && out[k] !== '\r') out[k] = ' ';
    }
  };

  // Each open `${` of a template pushes the brace depth at which its expression ends.
  const templateStack = [];
  let braceDepth = 0;
  let lastSignificant = '';
  let lastWord = '';
  let i = 0;

  while (i < source.length) {
    const ch = source[i];
    const next = source[i + 1];

    if (ch === '/' && next === '/') {
      const end = indexOrEnd(source, '\n', i);
      blank(i, end);
      i = end;
      continue;
    }
    if (ch === '/' && next === '*') {
      const close = source.indexOf('*/', i + 2);
      const end = close === -1 ? source.length : close + 2;
      blank(i, end);
      i = end;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const end = skipQuoted(source, i, ch);
      strings.set(i, source.slice(i + 1, end - 1));
      blank(i + 1, end - 1);
      i = end;
      lastSignificant = ch;
      lastWord = '';
      continue;
    }
    if (ch === '`' || (ch === '}' && templateStack.at(-1) === braceDepth)) {
      if (ch === '}') templateStack.pop();
      const { end, opensExpression } = skipTemplateText(source, i + 1);
      blank(i + 1, opensExpression ? end - 2 : end - 1);
      if (opensExpression) templateStack.push(braceDepth);
      i = end;
      lastSignificant = opensExpression ? '{' : '`';
      lastWord = '';
      continue;
    }
    if (ch === '/' && startsRegex(lastSignificant, lastWord)) {
      const end = skipRegex(source, i);
      blank(i + 1, end);
      i = end;
      lastSignificant = '/';
      lastWord = '';
      continue;
    }

    if (ch === '{') braceDepth++;
    if (ch === '}') braceDepth--;
    if (/[\w$]/.test(ch)) {
      const match = /^[\w$]+/.exec(source.slice(i, i + 64));
      lastWord = match[0];
      lastSignificant = 'a';
      i += lastWord.length;
      continue;
    }
    if (!/\s/.test(ch)) {
      lastSignificant = ch;
      lastWord = '';
    }
    i++;
  }
  return { masked: out.join(''), strings };
}

function indexOrEnd(text, needle, from) {
  const found = text.indexOf(needle, from);
  return found === -1 ? text.length : found;
}

/** Returns the offset just past the closing quote (or the line end of an unclosed string). */
function skipQuoted(source, start, quote) {
  let i = start + 1;
  while (i < source.length && source[i] !== quote && source[i] !== '\n') {
    i += source[i] === '\\' ? 2 : 1;
  }
  return Math.min(i + 1, source.length);
}

/** Scans template text up to the closing backtick or the next `${`. */
function skipTemplateText(source, start) {
  let i = start;
  while (i < source.length) {
    if (source[i] === '\\') {
      i += 2;
    } else if (source[i] === '`') {
      return { end: i + 1, opensExpression: false };
    } else if (source[i] === '$' && source[i + 1] === '{') {
      return { end: i + 2, opensExpression: true };
    } else {
      i++;
    }
  }
  return { end: source.length, opensExpression: false };
}

function startsRegex(lastSignificant, lastWord) {
  if (lastWord !== '') return REGEX_AFTER_WORD.has(lastWord);
  return lastSignificant === '' || REGEX_AFTER_CHAR.has(lastSignificant);
}

/** Returns the offset just past a regular expression literal and its flags. */
function skipRegex(source, start) {
  let i = start + 1;
  let inClass = false;
  while (i < source.length && source[i] !== '\n') {
    const ch = source[i];
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === '[') inClass = true;
    else if (ch === ']') inClass = false;
    else if (ch === '/' && !inClass) break;
    i++;
  }
  i++;
  while (i < source.length && /[a-z]/.test(source[i])) i++;
  return i;
}

/**
 * Tells whether the match at `offset` is a property name rather than the global. That is the
 * case after a dot (unless the object is `globalThis`) and for a key such as `{ setTimeout: 1 }`.
 */
function isPropertyName(masked, offset, length) {
  const before = masked.slice(Math.max(0, offset - 64), offset);
  const after = masked.slice(offset + length, offset + length + 8);
  const followsDot = /\.\s*$/.test(before) && !/\bglobalThis\s*\.\s*$/.test(before);
  const isKey = /(^|[{,;\n])\s*$/.test(before) && /^\s*\??:/.test(after);
  return followsDot || isKey;
}

function lineAt(text, offset) {
  let line = 1;
  for (let k = 0; k < offset; k++) {
    if (text[k] === '\n') line++;
  }
  return line;
}

/** Explains why a module specifier is not allowed in core, or returns null when it is. */
function rejectSpecifier(specifier) {
  if (RUNTIME_PREFIX.test(specifier)) return `imports the runtime module '${specifier}'`;
  const root = specifier.split('/')[0];
  const isBuiltin = NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(root);
  if (isBuiltin) return `imports the Node built-in module '${specifier}'`;
  return null;
}

/** Returns the findings of one file as `{ line, reason }` records. */
function checkFile(source) {
  const { masked, strings } = maskSource(source);
  const findings = [];

  for (const pattern of SPECIFIER_PATTERNS) {
    for (const match of masked.matchAll(pattern)) {
      const quoteOffset = match.index + match[0].length - 1;
      const reason = rejectSpecifier(strings.get(quoteOffset) ?? '');
      if (reason) findings.push({ offset: quoteOffset, reason });
    }
  }

  // Globals are matched on the masked text, so names in comments and strings do not count.
  for (const { pattern, reason } of GLOBAL_RULES) {
    for (const match of masked.matchAll(pattern)) {
      if (isPropertyName(masked, match.index, match[0].length)) continue;
      findings.push({ offset: match.index, reason: reason(match[1]) });
    }
  }

  for (const match of source.matchAll(REFERENCE_DIRECTIVE)) {
    if (RUNTIME_TYPINGS.has(match[1].toLowerCase())) {
      findings.push({ offset: match.index, reason: `references the '${match[1]}' typings` });
    }
  }

  return findings
    .map(({ offset, reason }) => ({ line: lineAt(source, offset), reason }))
    .sort((a, b) => a.line - b.line);
}

function main() {
  let files;
  try {
    if (!statSync(sourceDir).isDirectory()) throw new Error('not a directory');
    files = listSourceFiles(sourceDir);
  } catch (error) {
    process.stderr.write(`check-core-imports: cannot read ${sourceDir}: ${error.message}\n`);
    return 2;
  }

  const problems = [];
  for (const file of files) {
    const name = relative(process.cwd(), file) || file;
    for (const { line, reason } of checkFile(readFileSync(file, 'utf8'))) {
      problems.push(`${name}:${line}: ${reason}`);
    }
  }

  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.stderr.write(
      `check-core-imports: ${problems.length} runtime-specific use(s) in core; ` +
        'move them into an adapter or take them through the driver contracts\n',
    );
    return 1;
  }
  process.stdout.write(
    `check-core-imports: ${files.length} core source files are runtime-neutral\n`,
  );
  return 0;
}

process.exitCode = main();
