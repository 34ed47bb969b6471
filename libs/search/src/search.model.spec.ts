import { ValidatedArgs } from '../../core/src/graphql/validated-args';
import { SearchArgs } from './search.model';

describe('search arguments', () => {
  it('are validated every time: a subclass of PageArgs, not marked itself (a query text is rarely asked again)', () => {
    expect(new ValidatedArgs().keyOf(SearchArgs, { first: 50 })).toBeUndefined();
  });
});
