/**
 * The shape of a SASL mechanism (RFC 4422) as the driver runs it: an optional initial
 * response, a response per 334 challenge, and an optional check of the final reply.
 * Mechanisms build base64 text only; the protocol object masks it in the transcript.
 */
import type { SmtpReply } from '../reply.js';

export interface Credentials {
  user: string;
  pass?: string;
  /** OAuth 2.0 bearer token, already resolved to a string. */
  accessToken?: string;
}

export interface SaslExchange {
  /** Base64 initial response sent with AUTH, or undefined to wait for a challenge. */
  readonly initialResponse?: string;
  /** Build the response to a 334 challenge given as its base64 text: base64, or empty. */
  respond(challenge: string): string;
  /** Check the final 235 reply where the mechanism requires it (SCRAM server signature). */
  finish?(reply: SmtpReply): void;
  /** Text the server reported inside a challenge that was an error (XOAUTH2 JSON). */
  readonly serverError?: string;
}

export interface SaslMechanism {
  /** Name as sent after AUTH, upper case. */
  readonly name: string;
  /** Larger is preferred when the caller names no mechanism. */
  readonly strength: number;
  /** Credential kind the mechanism needs. */
  readonly needs: 'password' | 'token';
  start(credentials: Credentials, randomBytes: (length: number) => Uint8Array): SaslExchange;
}
