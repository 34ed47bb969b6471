import { ValidatedArgs } from '../../core/src/graphql/validated-args';
import { TopicPostsArgs } from './posts/dto/post.inputs';
import { TopicListArgs } from './topics/dto/topic.inputs';

describe("forum's page arguments", () => {
  it('are kept once validated (@CacheableArgs): the topic page and the board list, whose checks pass the rule', () => {
    for (const metatype of [TopicPostsArgs, TopicListArgs]) expect(new ValidatedArgs().keyOf(metatype, { first: 50 })).toBeDefined();
  });
});
