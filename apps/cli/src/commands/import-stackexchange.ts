import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { Pool } from 'pg';
import {
  importStackExchange,
  ImportCounts,
  stackExchangeDumpFiles,
  StackExchangeImportInterrupted,
  StackExchangeImportSummary,
  StackExchangePhase,
  StackExchangeProgress,
} from '../../../../libs/forum/src/import/stackexchange';
import { once } from '../../../../libs/core/src/database/embedded';
import { sessionSetup } from '../../../../libs/core/src/database/session-settings';
import { withDatabase } from '../context';
import { onInterrupt } from '../interrupt';
import { say } from '../stderr';

function parseBatchSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected a whole number from 1 to 10000');
  return n;
}

/** One line on stderr every 1,000 rows of a phase and when it ends: rows so far and the rate. */
function progressPrinter(): (p: StackExchangeProgress) => void {
  let phase: StackExchangePhase | null = null;
  let started = 0;
  let printed = 0;
  // A phase's first report comes after its first batch: its clock starts when the previous phase ended.
  let previous = performance.now();
  return (p) => {
    const now = performance.now();
    if (p.phase !== phase) {
      phase = p.phase;
      started = previous;
      printed = 0;
    }
    previous = now;
    if (!p.done && p.rows - printed < 1000) return;
    printed = p.rows;
    const seconds = (now - started) / 1000;
    const rate = seconds > 0 ? Math.round(p.rows / seconds) : p.rows;
    say(`${p.phase.padEnd(9)} ${String(p.rows).padStart(8)} rows  ${String(rate).padStart(6)} rows/s${p.done ? '  done' : ''}`);
  };
}

const counts = (c: ImportCounts) => `${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged`;

/** A summary's lines, under `heading`. */
function summaryLines(heading: string, s: StackExchangeImportSummary): string {
  return [
    heading,
    `  questions  ${counts(s.questions)}`,
    `  answers    ${counts(s.answers)}`,
    `  comments   ${counts(s.comments)} (replies to the post they comment on)`,
    `  users      ${counts(s.users)} (placeholders)` + (s.anonymousHandle ? `; posts of unknown or missing users go to @${s.anonymousHandle}` : ''),
    ...(s.erasedUsers ? [`             ${s.erasedUsers} anonymised under another source of this site: linked to their anonymised account, none made again`] : []),
    `  accepted   ${s.acceptedChanged} accepted answers set or changed`,
    `  tags       ${s.tagsRewritten} rewritten to fit the tag rule, ${s.tagsDropped} dropped`,
    `  titles     ${s.titlesLengthened} too short for the title rule, kept with " (question <id>)" after them`,
    `  duplicates ${s.duplicates.created} duplicate links recorded, ${s.duplicates.unchanged} already recorded; ` +
      `${s.duplicates.closed} topics closed as duplicates (the link itself is not shown yet)`,
    `  skipped    ${s.skipped.otherPostTypes} other post types, ${s.skipped.orphanAnswers} answers without their question, ` +
      `${s.skipped.orphanComments} comments on posts not imported, ${s.skipped.otherLinks} "linked" post links, ` +
      `${s.skipped.orphanDuplicates} duplicate links between questions not both imported`,
    `  events     ${s.events} post.imported outbox events`,
  ].join('\n');
}

export function registerImportCommands(program: Command): void {
  program
    .command('import:stackexchange')
    .description(
      'Import a Stack Exchange data dump folder (Posts.xml; Users.xml, Comments.xml and PostLinks.xml when present) into a space: ' +
        'questions become QUESTION topics, answers and comments their replies, users placeholder accounts, duplicate questions are closed. ' +
        'Re-running updates what changed and never duplicates.',
    )
    .argument('<dump-dir>', 'the dump folder (holding Posts.xml)')
    .requiredOption('--space <slug>', 'the space to import into (it must exist)')
    .option('--board <slug>', 'a FORUM board of that space (default: its first forum board, created from the folder name if it has none)')
    .option('--source <name>', 'the name this dump is remembered by for re-runs (default: the folder name)')
    .option('--batch-size <n>', 'rows per transaction', parseBatchSize, 500)
    .action((dir: string, opts: { space: string; board?: string; source?: string; batchSize: number }) => {
      // A folder of no dump, or whose dump files are folders, is refused before the database is opened (and migrated).
      stackExchangeDumpFiles(dir);
      return withDatabase(async ({ db }) => {
        const pool = new Pool({ connectionString: db.url, max: 1, application_name: 'parvis-import', onConnect: sessionSetup() });
        // Interrupted, the import stops after the batch in flight, and what its committed batches
        // did is printed before its connection closes, and that before the database is stopped:
        // left open, it would count as another process's and keep the cluster running.
        const abort = new AbortController();
        const end = once(() => pool.end());
        let importing: Promise<void> | undefined;
        const ended = onInterrupt(async () => {
          abort.abort();
          await importing?.catch(() => undefined);
          await end();
        });
        importing = importStackExchange(pool, {
          // Relative to the working directory, which `npm run` sets to the repository root.
          dir: resolve(dir),
          space: opts.space,
          board: opts.board,
          source: opts.source,
          batchSize: opts.batchSize,
          progress: progressPrinter(),
          signal: abort.signal,
        }).then(
          (s) => console.log(summaryLines(`Imported ${s.source} into board "${s.boardSlug}"${s.boardCreated ? ' (created)' : ''} in ${s.seconds.toFixed(1)} s.`, s)),
          (err: unknown) => {
            if (err instanceof StackExchangeImportInterrupted) {
              const s = err.summary;
              console.log(
                summaryLines(
                  `Interrupted after ${s.seconds.toFixed(1)} s: what it imported into board "${s.boardSlug}" is kept; ` +
                    `run the same import again to finish (it skips what is imported).`,
                  s,
                ),
              );
            }
            throw err;
          },
        );
        try {
          await importing;
        } finally {
          // The interrupt's cleanup, run once: a signal meanwhile waits for the pool's end before the database stops.
          await ended();
        }
      });
    });
}
