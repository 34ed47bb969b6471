import { VerifyResult } from '../../../../libs/core/src/audit/audit-log';

/** What `audit:verify` prints (on standard error) for a log found wrong: the first problem, and how many entries before it are intact. */
export function tamperReport(result: VerifyResult): string {
  const { id, what, outcome } = result.problem!;
  const detail =
    what === 'altered' ? `entry ${id} is altered`
    : what === 'broken-chain' ? `entry ${id} is not chained to the entry before it (an entry was removed or reordered)`
    : what === 'outcome-mismatch' ? `${outcomeMismatch(id, outcome!)} (written wrong, or changed around the append-only trigger)`
    : `the log does not end where its head says, at entry ${id} (entries were cut off its end, or added around the application)`;
  return `The moderation log was tampered with: ${detail}; the ${result.checked} entries before it are intact.`;
}

/**
 * Both values, a missing one said in words: `NONE` is a ContentOutcome of its own (the decision
 * left the content as it was), which "none" for a null would read as.
 */
function outcomeMismatch(id: string, { stored, said }: { stored: string | null; said: string | null }): string {
  const has = stored === null ? `entry ${id} has no outcome` : `entry ${id}'s outcome is ${stored}`;
  return `${has}, where its own fields ${said === null ? 'give it no outcome' : `say ${said}`}`;
}
