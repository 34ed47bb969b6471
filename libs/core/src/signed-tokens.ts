import { Injectable } from '@nestjs/common';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';

/**
 * Signed tokens that grant one narrow thing without a session: a suspended member appealing
 * (short-lived), an e-mail's unsubscribe link (for good). Each purpose has its own HMAC key,
 * created once (on first use; `appeal`'s by a migration, as its tokens are signed in refusals,
 * which write nothing) and kept in `app_secrets` so every node agrees; a token is refused for any
 * other purpose, when a byte was changed, and (for `sign`) after its expiry.
 */
@Injectable()
export class SignedTokens {
  private readonly keys = new Map<string, Promise<Buffer>>();

  constructor(private readonly ds: DataSource) {}

  private key(purpose: string): Promise<Buffer> {
    let key = this.keys.get(purpose);
    if (!key) {
      key = (async () => {
        const name = `token:${purpose}`;
        await this.ds.query(`INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [name, randomBytes(32).toString('base64')]);
        const [row] = await this.ds.query(`SELECT value FROM app_secrets WHERE name = $1`, [name]);
        return Buffer.from(row.value, 'base64');
      })();
      this.keys.set(purpose, key);
      // A failed read (the database away for a moment) is not kept: the next token tries again.
      key.catch(() => {
        if (this.keys.get(purpose) === key) this.keys.delete(purpose);
      });
    }
    return key;
  }

  private async mac(purpose: string, body: string): Promise<Buffer> {
    return createHmac('sha256', await this.key(purpose)).update(`${purpose}\n${body}`).digest();
  }

  /** `<body>.<mac>`: a token that never expires. The body is readable by anyone; keep secrets out of it. */
  async seal(purpose: string, body: string): Promise<string> {
    return `${body}.${(await this.mac(purpose, body)).toString('base64url')}`;
  }

  /** The body of a token sealed for this purpose, or null. */
  async unseal(purpose: string, token: string): Promise<string | null> {
    const m = /^([A-Za-z0-9.*_-]{1,200})\.([A-Za-z0-9_-]{43})$/.exec(String(token));
    if (!m) return null;
    const [, body, mac] = m;
    // Compared as text, the canonical encoding: decoding would ignore the last character's two
    // spare bits, so four spellings of one MAC would all pass (a changed token still opening).
    const expected = Buffer.from((await this.mac(purpose, body)).toString('base64url'));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected) ? body : null;
  }

  /** A token for `subject` that expires after `ttlSeconds`. */
  async sign(purpose: string, subject: string, ttlSeconds: number): Promise<string> {
    return this.seal(purpose, `${subject}.${Math.floor(Date.now() / 1000) + ttlSeconds}`);
  }

  /** The subject of a valid, unexpired token for this purpose, or null. */
  async verify(purpose: string, token: string): Promise<string | null> {
    const m = /^([A-Za-z0-9-]{1,64})\.(\d{1,12})$/.exec((await this.unseal(purpose, token)) ?? '');
    if (!m) return null;
    return Number(m[2]) * 1000 > Date.now() ? m[1] : null;
  }
}
