import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SpamClassifier, SpamSample, extractFeatures, normaliseText } from './classifier';
import { evaluate, leaveOneFileOut, metricsFromCounts } from './evaluate';
import { readYoutubeSpamCsv } from './youtube-csv';
import { datasetPath } from '../../../../test/support/datasets';

const DATA = datasetPath('youtube-spam-dev');

const TOY: SpamSample[] = [
  { text: 'Check out my channel and subscribe!!! http://bit.ly/abc', spam: true },
  { text: 'SUBSCRIBE to my channel for free gift cards www.freegifts.com', spam: true },
  { text: 'check out my new video please subscribe', spam: true },
  { text: 'Earn money from home, visit moneyfast.net now', spam: true },
  { text: 'Please subscribe to my channel, I make music too', spam: true },
  { text: 'Free iPhone giveaway, click http://win-now.com', spam: true },
  { text: 'This song never gets old, love the chorus', spam: false },
  { text: 'The dance at the end is hilarious', spam: false },
  { text: 'Who is still listening to this in 2015?', spam: false },
  { text: 'Her voice is amazing in this song', spam: false },
  { text: 'I remember when this came out, great memories', spam: false },
  { text: 'the video is so funny, the dancing horse part', spam: false },
];

const PROBES = [
  'subscribe to my channel please!! http://mychannel.com',
  'what a great song, the chorus is stuck in my head',
  'Visit www.example.org for FREE money',
  'Çà et là, ÉNORME!!!',
  '',
];

function trained(options = {}): SpamClassifier {
  return new SpamClassifier(options).train(TOY);
}

describe('normaliseText', () => {
  it('lower-cases, strips accents, collapses whitespace and decodes HTML', () => {
    expect(normaliseText('  Café   DÉJÀ&nbsp;vu<br />I&#39;m  here&amp;there ').text).toBe("cafe deja vu i'm here&there");
  });

  it('replaces links by __url__ and keeps their domains', () => {
    const n = normaliseText('Go to https://www.Example.com/a?b=1 or murdev.com, and <a href="http://youtu.be/x">this</a>');
    expect(n.text).toBe('go to __url__ or __url__ , and __url__ this');
    expect(n.domains).toEqual(['example.com', 'murdev.com', 'youtu.be']);
  });

  it('measures shouting on the letters outside links', () => {
    expect(normaliseText('HELLO http://example.com/ABCDEF').upperRatio).toBe(1);
    expect(normaliseText('1234 !!').upperRatio).toBe(0);
  });
});

describe('extractFeatures', () => {
  it('has unigrams, bigrams, character 3–5-grams, domains and hand features', () => {
    const f = extractFeatures('Check out my channel http://x.com');
    expect([...f.word]).toEqual(['w:check', 'w:out', 'w:my', 'w:channel', 'w:__url__']);
    expect(f.bigram.has('b:out my')).toBe(true);
    expect(f.char.has('c: che')).toBe(true);
    expect(f.char.has('c:check')).toBe(true);
    expect([...f.char].every((c) => [3, 4, 5].includes(Array.from(c.slice(2)).length))).toBe(true);
    expect([...f.domain]).toEqual(['d:x.com']);
    expect(f.hand).toEqual(new Set(['h:urls=1', 'h:http', 'h:check-out-my', 'h:digits=0', 'h:upper=1', 'h:len=1']));
  });
});

describe('SpamClassifier', () => {
  it('scores ½ before it has learnt anything', () => {
    expect(new SpamClassifier().score('anything at all')).toBe(0.5);
  });

  it('learns a toy set', () => {
    const model = trained();
    for (const s of TOY) expect([s.text, model.predict(s.text)]).toEqual([s.text, s.spam]);
    expect(model.score('subscribe to my channel, free money http://cash.com')).toBeGreaterThan(0.8);
    expect(model.score('I love this song and the dancing')).toBeLessThan(0.2);
    expect(model.sampleCounts).toEqual({ ham: 6, spam: 6 });
  });

  it('round-trips through JSON with identical scores and identical further learning', () => {
    const model = trained();
    const copy = SpamClassifier.fromJSON(JSON.parse(JSON.stringify(model)));
    const fromText = SpamClassifier.fromJSON(JSON.stringify(model.toJSON()));
    for (const text of PROBES) {
      expect(copy.score(text)).toBe(model.score(text));
      expect(fromText.score(text)).toBe(model.score(text));
    }
    model.learn(PROBES[2], true);
    copy.learn(PROBES[2], true);
    for (const text of PROBES) expect(copy.score(text)).toBe(model.score(text));
    expect(copy.toJSON()).toEqual(model.toJSON());
  });

  it('rejects what is not one of its models', () => {
    expect(() => SpamClassifier.fromJSON('{"kind":"other"}')).toThrow(/Not a Parvis spam model/);
    const json = trained({ hashBits: 10 }).toJSON();
    expect(() => SpamClassifier.fromJSON({ ...json, buckets: json.buckets.map(() => 1 << 10) })).toThrow(/out of range/);
    expect(() => SpamClassifier.fromJSON({ ...json, weights: [] })).toThrow(/lengths differ/);
  });

  it('moves a score with each moderator decision', () => {
    const text = 'Join my fan club at fanclub.io for exclusive stuff';
    const model = trained();
    const before = model.score(text);
    model.learn(text, true);
    const afterSpam = model.score(text);
    expect(afterSpam).toBeGreaterThan(before);
    model.learn(text, false).learn(text, false);
    expect(model.score(text)).toBeLessThan(afterSpam);
    // A close variant of a reported spam is caught after one decision.
    const fresh = new SpamClassifier().train(TOY);
    const variant = 'Join my fan club at fanclub.io for exclusive videos';
    const variantBefore = fresh.score(variant);
    fresh.learn(text, true);
    expect(fresh.score(variant)).toBeGreaterThan(variantBefore);
  });

  it('is deterministic', () => {
    const a = trained();
    const b = trained();
    expect(a.toJSON()).toEqual(b.toJSON());
    for (const text of PROBES) expect(a.score(text)).toBe(b.score(text));
    // The epoch shuffle follows the seed, not Math.random.
    const random = Math.random;
    Math.random = () => {
      throw new Error('Math.random used');
    };
    try {
      expect(trained().toJSON()).toEqual(a.toJSON());
    } finally {
      Math.random = random;
    }
  });

  it('never holds more than 2^hashBits weights', () => {
    const model = new SpamClassifier({ hashBits: 8, epochs: 1 });
    for (let i = 0; i < 2000; i++) model.learn(`token${i} word${(i * 7919) % 10007} http://site${i}.com ${i.toString(36)}xyz`, i % 3 === 0);
    expect(model.featureCount).toBe(256);
    const json = model.toJSON();
    expect(json.buckets.length).toBe(256);
    expect(Math.max(...json.buckets)).toBeLessThan(256);
    expect(new SpamClassifier().featureCount).toBe(0);
  });

  it('validates its options', () => {
    expect(() => new SpamClassifier({ hashBits: 31 })).toThrow(RangeError);
    expect(() => new SpamClassifier({ learningRate: 0 })).toThrow(RangeError);
    expect(() => new SpamClassifier({ charMin: 4, charMax: 3 })).toThrow(RangeError);
  });
});

describe('evaluation', () => {
  it('computes precision, recall, F1 and accuracy with spam as the positive class', () => {
    expect(metricsFromCounts(8, 2, 6, 4)).toEqual({ tp: 8, fp: 2, tn: 6, fn: 4, precision: 0.8, recall: 8 / 12, f1: 16 / 22, accuracy: 0.7 });
    expect(metricsFromCounts(0, 0, 5, 0)).toMatchObject({ precision: 0, recall: 0, f1: 0, accuracy: 1 });
  });

  it('micro-averages leave-one-file-out folds', () => {
    const files = [0, 1, 2].map((k) => ({ name: `f${k}`, samples: TOY.filter((_, i) => i % 3 === k) }));
    const { folds, total } = leaveOneFileOut(files);
    expect(folds.map((f) => f.name)).toEqual(['f0', 'f1', 'f2']);
    expect(folds.reduce((n, f) => n + f.tp + f.fp + f.tn + f.fn, 0)).toBe(TOY.length);
    expect(total.tp).toBe(folds.reduce((n, f) => n + f.tp, 0));
    expect(total.fn).toBe(folds.reduce((n, f) => n + f.fn, 0));
  });

  it('trained on two YouTube Spam Collection files, reaches F1 > 0.85 on the third', () => {
    expect(existsSync(DATA)).toBe(true);
    const read = (f: string) => readYoutubeSpamCsv(join(DATA, f));
    const train = [...read('Youtube01-Psy.csv'), ...read('Youtube02-KatyPerry.csv')];
    const result = evaluate(train, read('Youtube03-LMFAO.csv'));
    expect(result.tp + result.fp + result.tn + result.fn).toBe(438);
    expect(result.f1).toBeGreaterThan(0.85);
  });
});
