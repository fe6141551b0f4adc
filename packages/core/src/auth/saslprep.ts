/**
 * String preparation for SASL names and passwords: SASLprep (RFC 4013), which SCRAM applies
 * before hashing, and the saslname escaping of GS2 headers. The SASLprep result must match
 * what the server applied when it stored the credentials, or a correct password fails.
 */

/** Inclusive code point ranges. */
type Ranges = ReadonlyArray<readonly [number, number]>;

// RFC 3454 table C.1.2, non-ASCII space characters, which RFC 4013 §2.1 maps to U+0020.
const NON_ASCII_SPACES: Ranges = [
  [0x00a0, 0x00a0],
  [0x1680, 0x1680],
  [0x2000, 0x200b],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];

// RFC 3454 table B.1, "commonly mapped to nothing", which RFC 4013 §2.1 removes.
// U+200B is also in C.1.2 and becomes a space, because the space table is checked first.
const MAPPED_TO_NOTHING: Ranges = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x1806, 0x1806],
  [0x180b, 0x180d],
  [0x200b, 0x200d],
  [0x2060, 0x2060],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
];

// RFC 4013 §2.3: RFC 3454 tables C.1.2 and C.2.1 to C.9. Noncharacters (C.4) are tested
// separately because they repeat in every plane.
const PROHIBITED: Ranges = [
  ...NON_ASCII_SPACES,
  // C.2.1 ASCII control characters.
  [0x0000, 0x001f],
  [0x007f, 0x007f],
  // C.2.2 non-ASCII control characters.
  [0x0080, 0x009f],
  [0x06dd, 0x06dd],
  [0x070f, 0x070f],
  [0x180e, 0x180e],
  [0x200c, 0x200d],
  [0x2028, 0x2029],
  [0x2060, 0x2063],
  [0x206a, 0x206f],
  [0xfeff, 0xfeff],
  [0xfff9, 0xfffc],
  [0x1d173, 0x1d17a],
  // C.3 private use.
  [0xe000, 0xf8ff],
  [0xf0000, 0xffffd],
  [0x100000, 0x10fffd],
  // C.4 noncharacters in the BMP block FDD0-FDEF.
  [0xfdd0, 0xfdef],
  // C.5 surrogate code points, which a JavaScript string can hold unpaired.
  [0xd800, 0xdfff],
  // C.6 inappropriate for plain text.
  [0xfff9, 0xfffd],
  // C.7 inappropriate for canonical representation.
  [0x2ff0, 0x2ffb],
  // C.8 change display properties or deprecated.
  [0x0340, 0x0341],
  [0x200e, 0x200f],
  [0x202a, 0x202e],
  // C.9 tagging characters.
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f],
];

function inRanges(codePoint: number, ranges: Ranges): boolean {
  return ranges.some(([first, last]) => codePoint >= first && codePoint <= last);
}

/** True for a code point that RFC 4013 §2.3 prohibits in the output. */
function isProhibited(codePoint: number): boolean {
  // C.4: the last two code points of every plane (U+FFFE, U+FFFF, U+1FFFE, ...).
  const isPlaneNoncharacter = (codePoint & 0xfffe) === 0xfffe;
  return isPlaneNoncharacter || inRanges(codePoint, PROHIBITED);
}

/**
 * Prepare a string with SASLprep as a query string, so unassigned code points pass
 * (RFC 5802 §5.1). Returns null when the result contains a prohibited character.
 *
 * NOTE: the bidirectional rule of RFC 3454 §6 is not checked, and NFKC uses the runtime's
 * Unicode version rather than Unicode 3.2. A string that breaks the bidirectional rule is
 * hashed as normalised here, so the login fails at the server rather than with a local error.
 */
export function saslPrep(value: string): string | null {
  let mapped = '';
  for (const character of value) {
    const codePoint = character.codePointAt(0)!;
    if (inRanges(codePoint, NON_ASCII_SPACES)) mapped += ' ';
    else if (!inRanges(codePoint, MAPPED_TO_NOTHING)) mapped += character;
  }

  // RFC 4013 §2.2: Unicode normalization form KC.
  const normalized = mapped.normalize('NFKC');
  for (const character of normalized) {
    if (isProhibited(character.codePointAt(0)!)) return null;
  }
  return normalized;
}

/** Escape `=` as `=3D` and `,` as `=2C` in a saslname (RFC 5801 §4, RFC 5802 §5.1). */
export function escapeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}
