import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxEvent } from '../../../core/src/outbox/outbox';
import { AccountMailer, AccountMailHandler } from '../auth/account-mailer';
import { INVITE_MAX_DAYS } from './dto/invite.inputs';
import { INVITE_CREATED, InvitesService, inviteStandsSql, namedToInviteesSql } from './invites.service';

interface Pending {
  id: string;
  /** The address invited (where this e-mail goes). */
  email: string | null;
  is_placeholder: false;
  invited_by: string | null;
  groups: string[];
}

/**
 * E-mails an invitation to the address it is for, an outbox consumer like the account
 * e-mails (nothing of the message reaches the log; one e-mail per invitation, however often
 * the event is handled). Nothing goes once it was withdrawn, used or expired, or once its maker
 * may no longer do what it does (silenced since, say, or an admin's into groups once they are no
 * admin: the link would read as withdrawn); no account has
 * the address yet, so a refusal for good marks none.
 */
@Injectable()
export class InviteMail extends AccountMailHandler<Pending> {
  readonly name = 'invite-mail';
  protected readonly eventType = INVITE_CREATED;
  protected readonly what = 'invitation';
  // An invitation lasts its own days (the row says until when); the link itself does not expire.
  protected readonly ttlSeconds = INVITE_MAX_DAYS * 86_400;

  constructor(
    ds: DataSource,
    mailer: AccountMailer,
    private readonly invites: InvitesService,
  ) {
    super(ds, mailer);
  }

  protected override subjectOf(event: OutboxEvent): string {
    return String(event.payload.inviteId);
  }

  protected override accountOf(): string | null {
    return null;
  }

  protected async load(inviteId: string): Promise<Pending | null> {
    const [row]: Pending[] = await this.ds.query(
      `SELECT i.id, i.email, false AS is_placeholder,
              CASE WHEN maker.role = 'ADMIN' THEN maker.display_name ELSE maker.display_name || ' (@' || maker.handle || ')' END AS invited_by,
              ARRAY(SELECT g.name FROM invite_groups ig JOIN groups g ON g.id = ig.group_id WHERE ig.invite_id = i.id AND ${namedToInviteesSql('g')} ORDER BY g.name) AS groups
         FROM invites i LEFT JOIN users maker ON maker.id = i.created_by AND maker.deleted_at IS NULL
        WHERE i.id = $1 AND i.revoked_at IS NULL AND i.uses < i.max_uses AND i.expires_at > now() AND ${inviteStandsSql('i', 'maker', '$2')}`,
      [inviteId, this.invites.makerMinTrustLevel],
    );
    return row ?? null;
  }

  protected async message(invite: Pending & { email: string }) {
    const who = invite.invited_by ?? 'The team';
    const where = invite.groups.length ? ` as one of ${invite.groups.join(', ')}` : '';
    const text = [
      `${who} invites you to join the community on Parvis${where}.`,
      '',
      `Accept the invitation and create your account here: ${await this.invites.link(invite.id)}`,
      '',
      'If you do not know why you got this, ignore it: nothing happens unless you follow the link.',
    ].join('\n');
    return { subject: `${who} invites you to Parvis`, text };
  }
}
