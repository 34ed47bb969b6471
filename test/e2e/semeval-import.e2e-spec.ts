import { DataSource } from 'typeorm';
import { importSemEvalThreads, RelatedThread } from '../../libs/search/src/eval/semeval';
import { bootTestApp, TestApp } from '../support/test-app';

describe('SemEval import (evaluation databases)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t?.close());

  it('imports users whose ids differ only in case or in stripped characters as distinct placeholders, where users.handle refused the second', async () => {
    const thread = (id: string, userId: string, commenters: string[]): RelatedThread => ({
      id,
      subject: `Thread ${id}`,
      body: `Body of ${id}`,
      date: '2016-01-01 10:00:00',
      userId,
      userName: `Name ${userId}`,
      comments: commenters.map((c, i) => ({ id: `${id}_C${i}`, text: `Comment by ${c}`, date: '2016-01-01 11:00:00', userId: c, userName: `Name ${c}` })),
    });
    const topics = await importSemEvalThreads(t.get(DataSource), {
      questions: [],
      threads: [thread('Q1_R1', 'U12', ['u12', 'U.12']), thread('Q1_R2', 'U7', ['U12'])],
    });
    expect(topics.size).toBe(2);
    const authors = await t.sql<{ display_name: string; handle: string }>(
      `SELECT DISTINCT u.display_name, u.handle FROM posts p JOIN users u ON u.id = p.author_id WHERE p.topic_id = ANY($1::uuid[]) ORDER BY u.display_name`,
      [[...topics.values()]],
    );
    expect(authors.map((a) => a.display_name)).toEqual(['Name U.12', 'Name U12', 'Name U7', 'Name u12']);
    expect(new Set(authors.map((a) => a.handle)).size).toBe(4);
    expect(authors.find((a) => a.display_name === 'Name U7')!.handle).toBe('ql-u7');
  });
});
