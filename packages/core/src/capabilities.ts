/**
 * Capabilities learned from an EHLO (or LHLO) reply. Built fresh after every EHLO;
 * the client drops them when TLS starts (RFC 3207 §4.2). Never touches bytes.
 */
import type { SmtpReply } from './reply.js';

export interface Capabilities {
  /** False after a HELO fallback: no ESMTP extension may be used. */
  esmtp: boolean;
  /** Extension keywords, upper case, mapped to their parameters. */
  extensions: Map<string, string[]>;
  /** SASL mechanisms from `AUTH` and the legacy `AUTH=` line, upper case. */
  authMechanisms: Set<string>;
  /** Size limit from `SIZE n` in octets; 0 when the server declared none or no limit. */
  maxSize: number;
}

/** Capabilities of a server that did not speak ESMTP. */
export function plainSmtpCapabilities(): Capabilities {
  return { esmtp: false, extensions: new Map(), authMechanisms: new Set(), maxSize: 0 };
}

/** Parse the lines after the first of an EHLO reply (RFC 5321 §4.1.1.1). */
export function parseCapabilities(reply: SmtpReply): Capabilities {
  const capabilities: Capabilities = {
    esmtp: true,
    extensions: new Map(),
    authMechanisms: new Set(),
    maxSize: 0,
  };

  for (const text of reply.texts.slice(1)) {
    const trimmed = text.trim();
    if (trimmed === '') continue;
    // Old Microsoft and Netscape servers announce `AUTH=LOGIN` next to (or instead of) AUTH.
    const legacyAuth = /^AUTH=/i.test(trimmed);
    const [rawKeyword = '', ...parameters] = legacyAuth
      ? ['AUTH', ...trimmed.slice(5).split(/\s+/).filter(Boolean)]
      : trimmed.split(/\s+/);
    const keyword = rawKeyword.toUpperCase();

    const known = capabilities.extensions.get(keyword) ?? [];
    capabilities.extensions.set(keyword, [...known, ...parameters]);
    if (keyword === 'AUTH') {
      for (const mechanism of parameters) capabilities.authMechanisms.add(mechanism.toUpperCase());
    }
    if (keyword === 'SIZE' && parameters[0] !== undefined && /^\d+$/.test(parameters[0])) {
      capabilities.maxSize = Number(parameters[0]);
    }
  }
  return capabilities;
}

/** True when the server announced the extension keyword. */
export function hasExtension(capabilities: Capabilities | null, keyword: string): boolean {
  return capabilities?.extensions.has(keyword.toUpperCase()) ?? false;
}
