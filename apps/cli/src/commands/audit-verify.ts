import { VerifyProblem, VerifyResult } from '../../../../libs/core/src/audit/audit-log';
import { ALERT_EXIT } from '../exit-codes';

/** What `audit:verify` prints, and where, and the code it exits with, for what `AuditLog.verify` found. */
export function verifyReport(result: VerifyResult): { exitCode: number; stdout?: string; stderr?: string } {
  if (result.ok) return { exitCode: 0, stdout: `The moderation log is intact (${result.checked} entries).` };
  const { problems, problemCount, checked } = result;
  const more = problemCount - problems.length;
  const lines = [
    `The moderation log has ${problemCount} ${problemCount === 1 ? 'problem' : 'problems'} (${checked} entries checked)${more > 0 ? `; the first ${problems.length}` : ''}:`,
    ...problems.map((p) => `  ${describeProblem(p)}`),
    ...(more > 0 ? [`  and ${more} more`] : []),
  ];
  return { exitCode: ALERT_EXIT, stderr: lines.join('\n') };
}

/** A problem in words that say what was found and what may have caused it, no more: not every one is tampering. */
function describeProblem(p: VerifyProblem): string {
  switch (p.what) {
    case 'altered':
      return `entry ${p.id} does not match its hash: changed after it was written (around the append-only trigger)`;
    case 'broken-chain':
      return `entry ${p.id} is not chained to the entry before it (an entry was removed or reordered)`;
    case 'outcome-mismatch':
      return `${outcomeMismatch(p.id, p.outcome)} (written wrong, or changed around the append-only trigger)`;
    case 'end-mismatch':
      return `the log does not end where its head says, at entry ${p.id} (entries were cut off its end, or added around the application)`;
    case 'count-mismatch':
      return `its head counts ${p.entries.head} entries up to entry ${p.id}, where the log holds ${p.entries.found} (entries were removed, or added around the application)`;
  }
}

/**
 * Both values, a missing one said in words: `NONE` is a ContentOutcome of its own (the decision
 * left the content as it was), which "none" for a null would read as.
 */
function outcomeMismatch(id: string, { stored, said }: { stored: string | null; said: string | null }): string {
  const has = stored === null ? `entry ${id} has no outcome` : `entry ${id}'s outcome is ${stored}`;
  return `${has}, where its own fields ${said === null ? 'give it no outcome' : `say ${said}`}`;
}
