import { Presets, SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { ContentRebake, REBAKE_BATCH } from '../../../../libs/forum/src/content-rebake';
import { CONTENT_VERSIONS_WARN_PERCENT, ContentVersionsUsage, contentVersionsWarning, describeContentVersionsUse } from '../../../../libs/forum/src/content-versions';
import { withServices } from '../context';
import { ALERT_EXIT } from '../exit-codes';
import { parseSince } from './audit-options';

export function registerContentCommands(program: Command): void {
  program
    .command('content:rebake')
    .description("Render every stored post, held edit, article revision, bio and idea response again with this version's renderer; writes only what changed")
    .option('--since <date>', "only content created at or after this ISO date or date-time, e.g. 2026-12-01 (as audit:export's)", parseSince)
    .option('--batch <n>', `rows rendered and written per transaction (default: ${REBAKE_BATCH})`, (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected an integer from 1 to 10000');
      return n;
    })
    .action((opts: { since?: Date; batch?: number }) =>
      withServices(async (app) => {
        const rebake = app.get(ContentRebake);
        const bar = new SingleBar({ format: 'rebaking {bar} {percentage}% | {value}/{total} rows | {eta_formatted} left', stream: process.stderr }, Presets.shades_classic);
        bar.start(await rebake.totals(opts), 0);
        const counts = await rebake.rebake(opts, (scanned) => {
          // Rows written meanwhile may make more than were counted at the start.
          if (scanned > bar.getTotal()) bar.setTotal(scanned);
          bar.update(scanned);
        });
        bar.stop();
        for (const c of counts) console.log(`${c.name}: ${c.scanned} scanned, ${c.changed} changed`);
        const sum = (k: 'scanned' | 'changed') => counts.reduce((n, c) => n + c[k], 0);
        console.log(`Rebaked: ${sum('scanned')} scanned, ${sum('changed')} changed.`);
      }),
    );
  program
    .command('content:versions')
    .description(
      `How much of the content_versions sequence (the versions of posts, topics and ideas) is used; the worker warns from ${CONTENT_VERSIONS_WARN_PERCENT}%, and from there this exits ${ALERT_EXIT}`,
    )
    .action(() =>
      withServices(async (app) => {
        // Read only: nothing logged, the figure (and the warning's words past the threshold) is the answer.
        const use = await app.get(ContentVersionsUsage).read();
        console.log(describeContentVersionsUse(use));
        const warning = contentVersionsWarning(use);
        if (warning) {
          console.log(warning);
          process.exitCode = ALERT_EXIT;
        }
      }),
    );
}
