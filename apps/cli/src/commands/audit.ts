import { Command } from 'commander';
import { AuditLog, VERIFY_PROBLEMS_LISTED } from '../../../../libs/core/src/audit/audit-log';
import { writeAuditCsv } from '../../../../libs/core/src/audit/audit-csv';
import { TrustLevelService } from '../../../../libs/moderation/src/trust/trust-levels';
import { withServices } from '../context';
import { ALERT_EXIT } from '../exit-codes';
import { report } from '../stderr';
import { parseOut, parseSince } from './audit-options';
import { runAuditVerify } from './audit-verify';
import { writeExportFile } from './export-file';

export function registerAuditCommands(program: Command): void {
  program
    .command('audit:verify')
    .description(
      `Check the moderation log’s hash chain, where it ends, and each entry’s outcome; lists what it finds (the first ${VERIFY_PROBLEMS_LISTED}, and how many more) and exits ${ALERT_EXIT}, 0 when the log is intact, 1 when the check failed`,
    )
    .action(async () => {
      process.exitCode = await runAuditVerify(withServices);
    });
  program
    .command('audit:export')
    .description('Write the moderation log as CSV')
    .requiredOption('--since <date>', 'ISO date or date-time, e.g. 2026-01-01 (T24:00 is the end of that day: the next one\'s start)', parseSince)
    .option('--out <file>', 'file to write, in an existing folder this user may write in (standard output by default)', parseOut)
    .action((opts: { since: Date; out?: string }) =>
      withServices(async (app) => {
        const entries = app.get(AuditLog).since(opts.since);
        if (!opts.out) {
          await writeAuditCsv(entries, process.stdout, { end: false });
          return;
        }
        const n = await writeExportFile(opts.out, (stream) => writeAuditCsv(entries, stream));
        report(`Wrote ${n} entries to ${opts.out}`);
      }),
    );
}

export function registerTrustCommands(program: Command): void {
  program
    .command('trust:recompute')
    .description('Recompute trust levels from activity now (the worker does it hourly)')
    .action(() =>
      withServices(async (app) => {
        const changes = await app.get(TrustLevelService).recompute();
        for (const c of changes) console.log(`${c.userId}: TL${c.from} → TL${c.to}`);
        console.log(`${changes.length} trust level change(s).`);
      }),
    );
}
