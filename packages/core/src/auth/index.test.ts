import { describe, expect, it } from 'vitest';
import { chooseMechanism, supportedMechanisms } from './index.js';

describe('chooseMechanism', () => {
  it('registers the new mechanisms', () => {
    expect(supportedMechanisms()).toEqual(
      expect.arrayContaining(['SCRAM-SHA-256', 'CRAM-MD5', 'OAUTHBEARER']),
    );
  });

  it.each([
    [['LOGIN', 'PLAIN', 'CRAM-MD5', 'SCRAM-SHA-256'], 'SCRAM-SHA-256'],
    [['LOGIN', 'PLAIN', 'CRAM-MD5'], 'CRAM-MD5'],
    [['LOGIN', 'PLAIN'], 'PLAIN'],
    [['LOGIN'], 'LOGIN'],
  ])('picks from %j for a password', (offered, expected) => {
    expect(chooseMechanism(new Set(offered), 'password').name).toBe(expected);
  });

  it.each([
    [['OAUTHBEARER', 'XOAUTH2', 'PLAIN'], 'XOAUTH2'],
    [['OAUTHBEARER', 'PLAIN'], 'OAUTHBEARER'],
  ])('picks from %j for a token', (offered, expected) => {
    expect(chooseMechanism(new Set(offered), 'token').name).toBe(expected);
  });

  it('uses a requested mechanism the server offers', () => {
    const offered = new Set(['OAUTHBEARER', 'XOAUTH2']);
    expect(chooseMechanism(offered, 'token', 'oauthbearer').name).toBe('OAUTHBEARER');
  });
});
