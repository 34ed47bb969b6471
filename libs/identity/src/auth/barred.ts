import { Queryable } from '../../../core/src/database/unit-of-work';
import { AppError, ErrorCode } from '../../../core/src/errors';
import { SignedTokens } from '../../../core/src/signed-tokens';
import { AccessService } from '../../../access/src/access.service';

/** What a barred member's refusal hands out (`refuseBarred`): a token to appeal with, for an hour. */
export const APPEAL_TOKEN_PURPOSE = 'appeal';
const APPEAL_TOKEN_TTL_SECONDS = 3600;

/**
 * Whom a refusal answers. `member`: someone proven the member, by their password (sign-in) or
 * by a link sent to the account's own address (a password reset, which would have signed them
 * in): told the sanction and given an appeal token, signed with these `tokens`. `pendingMailbox`:
 * whoever reads an address the account does not have yet (an e-mail change's link), which may
 * be a stranger's (a mistyped address): told only the sanction's kind and end, and this
 * consequence. Its reason, its appeal's decision note and a token that files the member's one
 * appeal (`appealSanction`) go to nobody the member has not been proven to be; the member gets
 * them by signing in.
 */
export type BarredAudience = { member: SignedTokens } | { pendingMailbox: string };

/**
 * Refuses (FORBIDDEN) a member a suspension or ban in force keeps out of the whole site
 * (`AccessService.barringSql`): sign-in (after a correct password), a password reset and the
 * confirmation of an e-mail change (each once its link proved who asks), the last two in their
 * transaction (`db`) under the member's sanction lock. To the member (`to`, `BarredAudience`)
 * the refusal names the sanction, how their appeal of it went (barred members cannot read their
 * notifications, so this is where they learn it), and carries an appeal token: the member cannot
 * sign in, so the token is what lets them appeal (`appealSanction`), and nothing else.
 *
 * The token's key exists before any refusal (a migration creates `token:appeal`), so signing it
 * writes nothing, on a process's first refusal as on any other (a refused sign-in has cleared its
 * attempts' `rate_events` before: the password was right).
 */
export async function refuseBarred(db: Queryable, userId: string, to: BarredAudience): Promise<void> {
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
  const standing = `This account is ${s.kind === 'BAN' ? 'banned' : 'suspended'}${expiresAt ? ` until ${expiresAt}` : ''}`;
  if ('pendingMailbox' in to) throw AppError.forbidden(`${standing}: ${to.pendingMailbox}`);
  const appeal = s.appeal_status ? { status: s.appeal_status, decisionNote: s.decision_note, decidedAt: s.decided_at ? new Date(s.decided_at).toISOString() : null } : null;
  throw new AppError(ErrorCode.FORBIDDEN, standing, {
    extensions: {
      sanction: { id: s.id, kind: s.kind, reason: s.reason, expiresAt, appeal },
      appealToken: await to.member.sign(APPEAL_TOKEN_PURPOSE, userId, APPEAL_TOKEN_TTL_SECONDS),
    },
  });
}
