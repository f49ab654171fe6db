import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_DESCRIPTION_CHARS,
  REDACTED_TOKEN,
  plainUpstreamText,
  upstreamGuid,
  upstreamOAuthError,
} from '../../../lambda/core/upstream-text';

const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyJ9.eyJpc3MiOiJodHRwczovL2Jyb2tlciJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';

describe('plainUpstreamText', () => {
  it('keeps an ordinary Entra description as it is', () => {
    const text = "AADSTS700213: No matching federated identity record found for presented assertion subject 'aws-token-broker'.";
    expect(plainUpstreamText(text)).toBe(text);
  });

  it('replaces JWTs, whole or cut off, and JWS with an unusual header', () => {
    expect(plainUpstreamText(`token ${JWT} end`)).toBe(`token ${REDACTED_TOKEN} end`);
    expect(plainUpstreamText(`cut ${JWT.slice(0, 40)}`)).toBe(`cut ${REDACTED_TOKEN}`);
    expect(plainUpstreamText('ewogICJhbGciOiJSUzI1NiJ9.ewogICJzdWIiOiJ4In0.c2lnbmF0dXJlLWhlcmU')).toBe(REDACTED_TOKEN);
    expect(plainUpstreamText('https://login.microsoftonline.com/error?code=50166')).toBe(
      'https://login.microsoftonline.com/error?code=50166',
    );
  });

  it('removes markup, control and invisible characters, and collapses whitespace to one line', () => {
    expect(plainUpstreamText('<html><body><h1>502 Bad Gateway</h1><script>alert(1)</script></body></html>')).toBe(
      '502 Bad Gateway alert(1)',
    );
    expect(plainUpstreamText('a\r\nb\u0000c\u001b[31md\u202Ee\u200Bf\u2028g')).toBe('a b c [31md e f g');
    expect(plainUpstreamText('x < y')).toBe('x y');
    expect(plainUpstreamText('1 > 0')).toBe('1 0');
  });

  it('caps the text at 300 characters without splitting a character', () => {
    expect(plainUpstreamText('x'.repeat(100_000))).toBe(`${'x'.repeat(MAX_DESCRIPTION_CHARS - 3)}...`);
    const emoji = plainUpstreamText('😀'.repeat(400));
    expect(Array.from(emoji ?? '')).toHaveLength(MAX_DESCRIPTION_CHARS);
    expect(emoji).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('answers undefined for nothing usable', () => {
    expect(plainUpstreamText(undefined)).toBeUndefined();
    expect(plainUpstreamText(42)).toBeUndefined();
    expect(plainUpstreamText(' <br> \u0000 ')).toBeUndefined();
  });

  it('for any input: one bounded line without markup, controls or anything starting like a JWT', () => {
    const piece = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.constantFrom(JWT, '<script>', '</b>', '\r\n', '\u0000', '\u202E', 'eyJ', 'AADSTS50166: '),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const text = plainUpstreamText(pieces.join(''));
        if (text === undefined) return;
        expect(Array.from(text).length).toBeLessThanOrEqual(MAX_DESCRIPTION_CHARS);
        // eslint-disable-next-line no-control-regex -- asserting these are gone
        expect(text).not.toMatch(/[<>\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|eyJ/);
        expect(text).toBe(text.trim());
      }),
    );
  });
});

describe('upstreamGuid and upstreamOAuthError', () => {
  it('keeps a GUID and drops anything else', () => {
    expect(upstreamGuid('f7e6d5c4-b3a2-4190-8f7e-6d5c4b3a2910')).toBe('f7e6d5c4-b3a2-4190-8f7e-6d5c4b3a2910');
    for (const bad of ['', 'not-a-guid', 'f7e6d5c4-b3a2-4190-8f7e-6d5c4b3a2910\r\nX: y', 'a'.repeat(36), 7, null]) {
      expect(upstreamGuid(bad)).toBeUndefined();
    }
  });

  it('keeps an OAuth error code and drops markup or prose', () => {
    expect(upstreamOAuthError('invalid_client')).toBe('invalid_client');
    expect(upstreamOAuthError('temporarily_unavailable')).toBe('temporarily_unavailable');
    for (const bad of ['<script>', 'bad request', '', 'x'.repeat(65), {}]) expect(upstreamOAuthError(bad)).toBeUndefined();
  });
});
