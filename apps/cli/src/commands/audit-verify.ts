import { INestApplicationContext } from '@nestjs/common';
import { AuditLog, VerifyProblem, VerifyResult } from '../../../../libs/core/src/audit/audit-log';
import { errorText } from '../error-text';
import { ALERT_EXIT } from '../exit-codes';
import { say } from '../stderr';

/** Where `audit:verify` writes its lines (the console; a test's lists). */
export interface VerifyOutput {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

/**
 * `audit:verify` in the services `open` gives it (withServices): prints what `AuditLog.verify` found and answers the exit
 * code for it (`verifyReport`). Once the check has answered, a failure to close the services or the database after it is
 * reported on standard error and the code stays the check's: until 2026-12-07 it was thrown from the command, which exited 1
 * (the check failed, nothing known) after printing that the log was intact, or after listing its problems, where a
 * monitoring script reads ALERT_EXIT. A failure before the check answered is thrown, as before (exit 1).
 */
export async function runAuditVerify(
  open: (fn: (app: INestApplicationContext) => Promise<void>) => Promise<void>,
  out: VerifyOutput = { stdout: (line) => console.log(line), stderr: say },
): Promise<number> {
  let report: ReturnType<typeof verifyReport> | undefined;
  try {
    await open(async (app) => {
      report = verifyReport(await app.get(AuditLog).verify());
      if (report.stdout !== undefined) out.stdout(report.stdout);
      if (report.stderr !== undefined) out.stderr(report.stderr);
    });
  } catch (err) {
    if (report === undefined) throw err;
    out.stderr(`The check is done (its result above stands), but closing the database after it failed: ${errorText(err)}`);
  }
  return report!.exitCode;
}

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
