import { Queryable } from '../../../core/src/database/unit-of-work';
import { AppError, ErrorCode } from '../../../core/src/errors';
import { SignedTokens } from '../../../core/src/signed-tokens';
import { AccessService } from '../../../access/src/access.service';

/** What a barred member's refusal hands out (`refuseBarred`): a token to appeal with, for an hour. */
export const APPEAL_TOKEN_PURPOSE = 'appeal';
export const APPEAL_TOKEN_TTL_SECONDS = 3600;

/**
 * Refuses (FORBIDDEN) a member a suspension or ban in force keeps out of the whole site
 * (`AccessService.barringSql`): sign-in (after a correct password), a password reset and the
 * confirmation of an e-mail change (each once its link proved who asks), the last two in their
 * transaction (`db`) under the member's sanction lock. The refusal names the sanction, how
 * their appeal of it went (barred members cannot read their notifications, so this is where
 * they learn it), and carries an appeal token: the member cannot sign in, so the token is what
 * lets them appeal (`appealSanction`), and nothing else. `consequence` is added to the message
 * (what the sanction stops besides signing in).
 *
 * The token's key exists before any refusal (a migration creates `token:appeal`), so signing it
 * writes nothing: a refused request writes nothing, on its first refusal as on any other.
 */
export async function refuseBarred(db: Queryable, tokens: SignedTokens, userId: string, consequence?: string): Promise<void> {
  const rows: Array<{ id: string; kind: string; reason: string; expires_at: Date | null; appeal_status: string | null; decision_note: string | null; decided_at: Date | null }> =
    await db.query(
      `SELECT s.id, s.kind, s.reason, s.expires_at, a.status AS appeal_status, a.decision_note, a.decided_at
         FROM (SELECT sa.id, sa.kind, sa.reason, sa.expires_at FROM ${AccessService.barringSql('$1')}) s
         LEFT JOIN appeals a ON a.sanction_id = s.id
        ORDER BY s.expires_at DESC NULLS FIRST LIMIT 1`,
      [userId],
    );
  const s = rows[0];
  if (!s) return;
  const expiresAt = s.expires_at ? new Date(s.expires_at).toISOString() : null;
  const appeal = s.appeal_status ? { status: s.appeal_status, decisionNote: s.decision_note, decidedAt: s.decided_at ? new Date(s.decided_at).toISOString() : null } : null;
  const standing = `This account is ${s.kind === 'BAN' ? 'banned' : 'suspended'}${expiresAt ? ` until ${expiresAt}` : ''}`;
  throw new AppError(ErrorCode.FORBIDDEN, consequence ? `${standing}: ${consequence}` : standing, {
    extensions: {
      sanction: { id: s.id, kind: s.kind, reason: s.reason, expiresAt, appeal },
      appealToken: await tokens.sign(APPEAL_TOKEN_PURPOSE, userId, APPEAL_TOKEN_TTL_SECONDS),
    },
  });
}
