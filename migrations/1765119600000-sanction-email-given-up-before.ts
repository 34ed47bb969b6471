import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Marks given up (`sanctions.email_given_up_at`) the e-mails of sanctions `SanctionMail` gave up
 * before that mark existed (migration `sanction-email-given-up` left them unmarked, as nothing it
 * read said which), where what is kept still says so, so that the digest e-mails the SANCTION
 * notice of a suspension or ban barring its member now, as it does for one given up since, rather
 * than hold it back until the barring ends (never, for a permanent ban). Only a site-wide SUSPEND
 * or BAN still in force, not e-mailed, not marked, and under no live claim (the claim's lease,
 * MAIL_CLAIM_LEASE_SECONDS, is 15 minutes), whose `user.sanctioned` outbox event is still there
 * (processed events go after a week; parked ones stay) and says its e-mail will not go:
 *
 * - parked (`available_at` infinity, unprocessed) with the sanction e-mail's own refusal as its
 *   last error (`sanction e-mail … not sent`): refused, for now, on the last try before parking,
 *   which the code now gives up. A parked event whose last error is another handler's says
 *   nothing of the e-mail (`deliver` keeps the first failure), and is left alone;
 * - handled (processed) or parked, its member with no address it could go to: on the bounce list
 *   (an address refused for good, this e-mail's or another's), not confirmed, none, a placeholder's,
 *   or the account deleted. `SanctionMail` sends nothing to such an address, and now gives its
 *   e-mail up when its event finds it so. The address is judged as it is now: one confirmed (or
 *   taken off the bounce list) since its event was handled is left alone, as nothing says
 *   whether it was sent to.
 *
 * A refusal for good of the message itself, or an e-mail skipped because no SMTP_URL was set or
 * its event came a week late, left nothing behind that tells it from one sent before `emailed_at`
 * existed (unmarked, as that migration says), and is left alone: marking one of those would have
 * the digest e-mail a ban already e-mailed again while it stands.
 *
 * Run twice, it marks nothing more: a marked sanction is left as it is. Down leaves the marks: it
 * cannot tell them from those `SanctionMail` wrote since (both are `now()` of their writing), and
 * each is what the code now writes for what it found; taking them away would have the digest hold
 * those notices back again. Undoing `sanction-email-given-up` drops them with the column.
 */
export class SanctionEmailGivenUpBefore1765119600000 implements MigrationInterface {
  name = 'SanctionEmailGivenUpBefore1765119600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE sanctions s SET email_given_up_at = now()
        FROM users u
       WHERE u.id = s.user_id
         AND s.space_id IS NULL AND s.kind IN ('SUSPEND', 'BAN')
         AND s.lifted_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > now())
         AND s.emailed_at IS NULL AND s.email_given_up_at IS NULL
         AND (s.email_claimed_at IS NULL OR s.email_claimed_at <= now() - interval '15 minutes')
         AND EXISTS (
           SELECT 1 FROM outbox o
            WHERE o.type = 'user.sanctioned' AND o.payload->>'sanctionId' = s.id::text
              AND (o.processed_at IS NOT NULL OR o.available_at = 'infinity'::timestamptz)
              AND ((o.processed_at IS NULL AND o.last_error LIKE 'sanction e-mail % not sent%')
                   OR u.email_bounced_at IS NOT NULL OR u.email_verified_at IS NULL OR u.email IS NULL
                   OR u.is_placeholder OR u.deleted_at IS NOT NULL))
    `);
  }

  async down(): Promise<void> {
    // The marks stay (see above).
  }
}
