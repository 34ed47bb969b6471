import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildSchema, GraphQLInputObjectType } from 'graphql';
import { ValidatedArgs } from '../../core/src/graphql/validated-args';
import { SearchArgs } from './search.model';

describe('search arguments', () => {
  it('are validated every time: a subclass of PageArgs, not marked itself (a query text is rarely asked again)', () => {
    expect(new ValidatedArgs().keyOf(SearchArgs, { first: 50 })).toBeUndefined();
  });

  it('are each described, and so is every field of their filter (in schema.graphql, which the schema e2e holds to what the server serves)', () => {
    const schema = buildSchema(readFileSync(path.join(__dirname, '../../../schema.graphql'), 'utf8'));
    const filter = schema.getType('SearchFilter') as GraphQLInputObjectType;
    const undescribed = [
      ...schema.getQueryType()!.getFields().search.args.filter((a) => !a.description).map((a) => `search(${a.name})`),
      ...Object.values(filter.getFields()).filter((f) => !f.description).map((f) => `SearchFilter.${f.name}`),
    ];
    expect(undescribed).toEqual([]);
  });
});
