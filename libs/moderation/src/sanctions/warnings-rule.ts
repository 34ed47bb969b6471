import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { AppError, ErrorCode } from '../../../core/src/errors';
import { Admission, PostingCheck } from '../../../forum/src/posting-policy';

/**
 * A WARNING is a message its member must acknowledge (`acknowledgeWarning`): until they do,
 * they start no topic and write no reply where it applies (its space, or everywhere for a
 * site-wide one). The refusal names the warning, so a client can show it and ask for the
 * acknowledgement. The space's moderators are not held; edits are not new posts.
 */
@Injectable()
export class UnacknowledgedWarningRule implements PostingCheck {
  readonly name = 'unacknowledged-warning';

  constructor(private readonly ds: DataSource) {}

  async admit(a: Admission): Promise<void> {
    if (a.kind === 'edit' || !a.viewer.user || a.rank >= LEVEL_RANK.MODERATE) return;
    const [warning]: Array<{ id: string; reason: string }> = await this.ds.query(
      `SELECT id, reason FROM sanctions
        WHERE user_id = $1 AND kind = 'WARNING' AND lifted_at IS NULL AND acknowledged_at IS NULL AND (space_id IS NULL OR space_id = $2)
        ORDER BY created_at LIMIT 1`,
      [a.viewer.user.id, a.spaceId],
    );
    if (warning) {
      throw new AppError(ErrorCode.FORBIDDEN, 'Acknowledge the moderators’ warning before you post again', {
        extensions: { sanction: { id: warning.id, kind: 'WARNING', reason: warning.reason } },
      });
    }
  }

  async check(): Promise<void> {
    // Everything is decided at admission.
  }
}
