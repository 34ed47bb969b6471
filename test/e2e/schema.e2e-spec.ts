import { GraphQLSchemaHost } from '@nestjs/graphql';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { printSortedSchema } from '../../apps/api/src/schema-printer';
import { bootTestApp, TestApp } from '../support/test-app';

describe('schema.graphql', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('matches the schema the server serves (run `npm run schema` after changing the API)', () => {
    const committed = readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8');
    expect(printSortedSchema(t.get(GraphQLSchemaHost).schema)).toBe(committed);
  });
});
