import { createHash, timingSafeEqual } from 'node:crypto';
import { SignedTokens } from '../../../core/src/signed-tokens';

/**
 * Account links (a password reset, an address confirmation) sign `<user id>-<fingerprint>`:
 * the fingerprint is 96 bits of SHA-256 over the user and what the link is bound to (the
 * password hash, the address), so the link dies when that changes, with nothing stored. The
 * token's MAC, not the fingerprint, is what cannot be forged. (SignedTokens subjects are
 * [A-Za-z0-9-], at most 64.)
 */
export function fingerprint(userId: string, boundTo: string): string {
  return createHash('sha256').update(`${userId}\n${boundTo}`).digest('hex').slice(0, 24);
}

const SUBJECT = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-([0-9a-f]{24})$/;

/** Signs a link for `purpose` bound to the user and `boundTo`, good for `ttlSeconds`. */
export function signBound(tokens: SignedTokens, purpose: string, userId: string, boundTo: string, ttlSeconds: number): Promise<string> {
  return tokens.sign(purpose, `${userId}-${fingerprint(userId, boundTo)}`, ttlSeconds);
}

/** The user and fingerprint of a valid, unexpired link of `purpose`, or null. */
export async function readBound(tokens: SignedTokens, purpose: string, token: string): Promise<{ userId: string; fingerprint: string } | null> {
  const m = SUBJECT.exec((await tokens.verify(purpose, token)) ?? '');
  return m ? { userId: m[1], fingerprint: m[2] } : null;
}

/** Whether a link's fingerprint is that of the user and `boundTo` now, in constant time. */
export function stillBound(claimed: string, userId: string, boundTo: string): boolean {
  const x = Buffer.from(claimed, 'hex');
  const y = Buffer.from(fingerprint(userId, boundTo), 'hex');
  return x.length === 12 && y.length === 12 && timingSafeEqual(x, y);
}
