/**
 * Numeric limits and defaults of the client, each with its source. Parsers and encoders
 * read them from here so that a reviewer finds every bound in one place.
 */

/**
 * Longest reply line accepted, in octets without the line end. RFC 5321 §4.5.3.1.5 sets
 * 512 octets, but real servers send longer text (URLs in Gmail and Microsoft replies),
 * so the client tolerates 16 times that before it calls the reply malformed.
 */
export const MAX_REPLY_LINE_OCTETS = 8192;

/**
 * Maximum lines in one multi-line reply. EHLO replies from Postfix, Exim, Gmail and Microsoft
 * have fewer than 30; a longer run is a broken or hostile server.
 */
export const MAX_REPLY_LINES = 256;

/** Maximum message line length in octets without CRLF (RFC 5322 §2.1.1, RFC 5321 §4.5.3.1.6). */
export const MAX_MESSAGE_LINE_OCTETS = 998;

/** Default TCP and implicit TLS connect timeout in milliseconds (nodemailer uses 2 minutes). */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;

/** Default wait for the greeting in milliseconds. RFC 5321 §4.5.3.2.1 suggests 5 minutes. */
export const DEFAULT_GREETING_TIMEOUT_MS = 30_000;

/** Default wait for a command reply in milliseconds (RFC 5321 §4.5.3.2.2: 5 minutes). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;

/** Default wait for the reply after the data in milliseconds (RFC 5321 §4.5.3.2.6). */
export const DEFAULT_DATA_TIMEOUT_MS = 600_000;

/**
 * Longest timeout accepted, in milliseconds: 2^31 - 1, about 24.8 days. Node keeps timer
 * delays as 32-bit signed integers and runs a timer with a longer delay after 1 ms.
 */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** Connections a pool opens at most by default; nodemailer uses the same number. */
export const DEFAULT_MAX_CONNECTIONS = 5;

/** Messages per pooled connection by default before it is replaced (nodemailer: 100). */
export const DEFAULT_MAX_MESSAGES = 100;

/**
 * Idle time in milliseconds after which a pooled connection is closed. Postfix drops
 * idle clients after 300 s (smtpd_timeout) and many providers sooner, so stay well below.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Wait for the reply to QUIT after a failure, in milliseconds; the result is known already. */
export const QUIT_TIMEOUT_MS = 2_000;

/** Transcript lines kept with an error so that a caller who logs only the error has them. */
export const ERROR_TRANSCRIPT_LINES = 30;

/** Placeholder written instead of a credential; fixed so that it does not reveal the length. */
export const MASK = '********';
