import { SpamClassifier, SpamClassifierInit, SpamSample } from './classifier';

/** Confusion counts and the usual scores, spam being the positive class. */
export interface SpamMetrics {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
}

export interface EvaluateOptions {
  threshold?: number;
  classifier?: SpamClassifierInit;
}

export interface LabelledFile {
  name: string;
  samples: SpamSample[];
}

export interface FoldResult extends SpamMetrics {
  /** The held-out file. */
  name: string;
}

/** Scores from confusion counts; a ratio with an empty denominator is 0 (as scikit-learn reports it). */
export function metricsFromCounts(tp: number, fp: number, tn: number, fn: number): SpamMetrics {
  const ratio = (a: number, b: number) => (b ? a / b : 0);
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    tp,
    fp,
    tn,
    fn,
    precision,
    recall,
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    accuracy: ratio(tp + tn, tp + fp + tn + fn),
  };
}

/** Scores a trained model on labelled samples. */
export function testModel(model: SpamClassifier, samples: Iterable<SpamSample>, threshold = 0.5): SpamMetrics {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (const { text, spam } of samples) {
    const predicted = model.predict(text, threshold);
    if (predicted && spam) tp++;
    else if (predicted) fp++;
    else if (spam) fn++;
    else tn++;
  }
  return metricsFromCounts(tp, fp, tn, fn);
}

/** Trains a fresh model on `train` and scores it on `test`. */
export function evaluate(train: SpamSample[], testSet: SpamSample[], options: EvaluateOptions = {}): SpamMetrics {
  const model = new SpamClassifier(options.classifier).train(train);
  return testModel(model, testSet, options.threshold);
}

/**
 * For each file, trains on all the others and tests on it: how well a model built from
 * other communities' (or videos') decisions carries over to one it has not seen. The
 * total is micro-averaged: the folds' confusion counts summed, then scored.
 */
export function leaveOneFileOut(files: LabelledFile[], options: EvaluateOptions = {}): { folds: FoldResult[]; total: SpamMetrics } {
  if (files.length < 2) throw new Error('Leave-one-file-out needs at least two files');
  const folds = files.map((held, i) => ({
    name: held.name,
    ...evaluate(
      files.filter((_, j) => j !== i).flatMap((f) => f.samples),
      held.samples,
      options,
    ),
  }));
  const sum = (k: 'tp' | 'fp' | 'tn' | 'fn') => folds.reduce((n, f) => n + f[k], 0);
  return { folds, total: metricsFromCounts(sum('tp'), sum('fp'), sum('tn'), sum('fn')) };
}
