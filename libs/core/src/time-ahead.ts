import { AppError } from './errors';

const DAY_MS = 86_400_000;

/**
 * Refuses a time set for later (a timer, a reminder, a poll's closing) that is not ahead of
 * now, with `slackMs` of allowance for clocks that differ, or that is more than `maxDays`
 * ahead: BAD_USER_INPUT on `field`. One check, so each feature's limits read alike.
 */
export function checkTimeAhead(at: Date, field: string, maxDays: number, slackMs = 0): void {
  const ms = at.getTime() - Date.now();
  if (!(ms > -slackMs)) throw AppError.badField(field, 'must be in the future');
  if (ms > maxDays * DAY_MS) throw AppError.badField(field, `must be at most ${maxDays} days ahead`);
}
