import { createHash } from 'crypto';
import { buildSchema, getOperationAST, parse } from 'graphql';
import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';
import { complexityLimitPlugin } from './limits';

describe('complexityLimitPlugin', () => {
  const schema = buildSchema('type Query { items(first: Int): [Int] }');

  /** Runs the plugin's hook as Apollo does, for one request. */
  async function ask(plugin: ReturnType<typeof complexityLimitPlugin>, query: string, operationName?: string, variables: Record<string, unknown> = {}) {
    const document = parse(query);
    const listener = await plugin.requestDidStart!({} as never);
    await listener!.didResolveOperation!({
      request: { query, operationName, variables },
      document,
      schema,
      operation: getOperationAST(document, operationName) ?? undefined,
      queryHash: createHash('sha256').update(query).digest('hex'),
    } as never);
  }

  it('keeps no large query text in its cost cache, however many distinct ones are sent', async () => {
    // Each distinct document became an entry of the cost cache (500 of them) holding its
    // operation name and the names of the variables it depends on, each as long as the
    // body allows (1 MB): hundreds of MB for anyone to fill.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const plugin = complexityLimitPlugin(1000);
    await ask(plugin, '{ items }');
    const before = heap();
    for (let i = 0; i < 60; i++) {
      const long = `Q${i}_${'x'.repeat(400_000)}`;
      if (i % 2 === 0) await ask(plugin, `query ${long} { items }`, long);
      else await ask(plugin, `query($${long}: Boolean!) { items @include(if: $${long}) }`, undefined, { [long]: true });
    }
    expect(heap() - before).toBeLessThan(4 * 1024 * 1024);
  });
});
