import { Command, InvalidArgumentError } from 'commander';
import { basename } from 'node:path';
import { SpamClassifier, SpamSample } from '../../../../libs/moderation/src/spam/classifier';
import { LabelledFile, SpamMetrics, leaveOneFileOut, metricsFromCounts, testModel } from '../../../../libs/moderation/src/spam/evaluate';
import { readYoutubeSpamCsv } from '../../../../libs/moderation/src/spam/youtube-csv';
import { inputFile } from '../../../../libs/core/src/input-file';

interface Row extends SpamMetrics {
  label: string;
  /** Training comments (blank on the totals of leave-one-file-out, where it differs per fold). */
  train: number | null;
  test: number;
}

function parseThreshold(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
}

const CSV = 'a CSV file of labelled comments (CONTENT, CLASS)';

/** Files checked (`inputFile`) before any is read: training, seconds on a large set, is not wasted on a test file that is not there. */
function checkedFiles(files: string[]): string[] {
  return files.map((f) => inputFile(f, CSV));
}

function readFiles(files: string[]): LabelledFile[] {
  return files.map((f) => ({ name: basename(f), samples: readYoutubeSpamCsv(f) }));
}

/** Micro-average: pool the confusion counts, then score (so each comment weighs the same, unlike a mean of F1s). */
function microTotal(rows: Row[], train: number): Row {
  const sum = (k: 'tp' | 'fp' | 'tn' | 'fn' | 'test') => rows.reduce((n, r) => n + r[k], 0);
  return { label: 'total (micro)', train, test: sum('test'), ...metricsFromCounts(sum('tp'), sum('fp'), sum('tn'), sum('fn')) };
}

function printTable(title: string, rows: Row[], totals: Row): void {
  const header = [title, 'train', 'test', 'tp', 'fp', 'tn', 'fn', 'precision', 'recall', 'f1', 'accuracy'];
  const cells = (r: Row) => [r.label, r.train ?? '', r.test, r.tp, r.fp, r.tn, r.fn, r.precision, r.recall, r.f1, r.accuracy].map((v, i) => (i >= 7 ? (v as number).toFixed(3) : String(v)));
  const body = [...rows.map(cells), cells(totals)];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(line(header));
  rows.forEach((r) => console.log(line(cells(r))));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  console.log(line(cells(totals)));
}

export function registerEvalSpamCommands(program: Command): void {
  program
    .command('eval:spam')
    .description(
      'Evaluate the spam classifier on labelled CSV files (YouTube Spam Collection format: CONTENT, CLASS). ' +
        'With --train and --test, train on the first set and score each test file; with only a list of files, leave one file out in turn.',
    )
    .argument('[files...]', 'files for leave-one-file-out (at least two)')
    .option('--train <files...>', 'files to train on')
    .option('--test <files...>', 'files to score')
    .option('--threshold <n>', 'a post is spam when its score is at least this', parseThreshold, 0.5)
    .action((files: string[], opts: { train?: string[]; test?: string[]; threshold: number }) => {
      const { threshold } = opts;
      if (opts.train || opts.test) {
        if (!opts.train?.length || !opts.test?.length) throw new Error('--train and --test go together');
        if (files.length) throw new Error(`Give either --train/--test or a list of files, not both (extra: ${files.join(' ')})`);
        const [trainFiles, testFiles] = [checkedFiles(opts.train), checkedFiles(opts.test)];
        const train: SpamSample[] = readFiles(trainFiles).flatMap((f) => f.samples);
        const model = new SpamClassifier().train(train);
        const rows = readFiles(testFiles).map((f) => ({ label: f.name, train: train.length, test: f.samples.length, ...testModel(model, f.samples, threshold) }));
        console.log(`Trained on ${opts.train.map((f) => basename(f)).join(', ')} (${train.length} comments); threshold ${threshold}.\n`);
        printTable('tested on', rows, microTotal(rows, train.length));
        return;
      }
      if (files.length < 2) throw new Error('Give at least two files for leave-one-file-out, or --train … --test …');
      const labelled = readFiles(checkedFiles(files));
      const all = labelled.reduce((n, f) => n + f.samples.length, 0);
      const { folds, total } = leaveOneFileOut(labelled, { threshold });
      const rows = folds.map((f, i) => ({ ...f, label: f.name, train: all - labelled[i].samples.length, test: labelled[i].samples.length }));
      console.log(`Leave-one-file-out over ${labelled.length} files (${all} comments); threshold ${threshold}.\n`);
      printTable('held out', rows, { ...total, label: 'total (micro)', train: null, test: all });
    });
}
