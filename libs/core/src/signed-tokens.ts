import { Injectable } from '@nestjs/common';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';

/**
 * Short-lived, signed tokens that grant one narrow thing without a session (a suspended
 * member appealing, say). Each purpose has its own HMAC key, created once and kept in
 * `app_secrets` so every node agrees; a token carries its subject and expiry and is
 * refused for any other purpose, after its expiry, or when a byte was changed.
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
    }
    return key;
  }

  private async mac(purpose: string, body: string): Promise<Buffer> {
    return createHmac('sha256', await this.key(purpose)).update(`${purpose}\n${body}`).digest();
  }

  async sign(purpose: string, subject: string, ttlSeconds: number): Promise<string> {
    const body = `${subject}.${Math.floor(Date.now() / 1000) + ttlSeconds}`;
    return `${body}.${(await this.mac(purpose, body)).toString('base64url')}`;
  }

  /** The subject of a valid token for this purpose, or null. */
  async verify(purpose: string, token: string): Promise<string | null> {
    const m = /^([A-Za-z0-9-]{1,64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return null;
    const [, subject, expires, mac] = m;
    const expected = await this.mac(purpose, `${subject}.${expires}`);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return Number(expires) * 1000 > Date.now() ? subject : null;
  }
}
