import { createHash } from 'crypto';
import { buildSchema, getOperationAST, parse } from 'graphql';
import { complexityLimitPlugin, documentStore } from './limits';
import { heapAfterGc as heap } from '../../../../test/support/heap';

describe('complexityLimitPlugin', () => {
  const schema = buildSchema(`
    input Page { first: Int }
    type Item { id: Int, children(first: Int, last: Int): [Item] }
    type Query { items(first: Int): [Int], list(first: Int, last: Int, page: Page): [Item] }
  `);

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

  /** The cost the plugin answers, from its refusal (every cost is over a limit of 0). */
  async function cost(plugin: ReturnType<typeof complexityLimitPlugin>, query: string, variables: Record<string, unknown>, operationName?: string) {
    const e = await ask(plugin, query, operationName, variables).then(() => undefined, (err: Error) => err);
    return e?.message;
  }

  it('costs a document as a fresh walk does, whatever was asked before: branches, fragments, directives, defaults, nulls', async () => {
    const docs = [
      // `last` is read only when `first` is not a number.
      `query($f: Int, $l: Int) { list(first: $f, last: $l) { id } }`,
      // Read inside nested fragments, under directives on a spread and an inline fragment.
      `query($f: Int, $l: Int = 7, $a: Boolean = true, $b: Boolean!) { ...Q } fragment Q on Query { list(first: 3) { ...I @include(if: $a) ... @skip(if: $b) { x: children(last: $l) { id } } } } fragment I on Item { children(first: $f) { children(first: $f) { id } } }`,
      // The same text, two operations.
      `query A($f: Int) { list(first: $f) { id } } query B($f: Int) { list(first: 2) { children(first: $f) { id } } }`,
    ];
    const values: Array<Record<string, unknown>> = [
      { f: 50, l: 2, b: false }, { f: null, l: 90, b: false }, { l: 90, b: true }, { f: null, b: false, a: false }, { f: 5, l: null, b: true },
      { f: 50, b: false }, { b: false }, { f: null, l: 2, b: false, a: true },
    ];
    const shared = complexityLimitPlugin(0);
    const seen = new Set<string>();
    for (const order of [values, [...values].reverse()]) {
      for (const doc of docs) {
        for (const v of order) {
          for (const name of doc.includes('query A') ? ['A', 'B'] : [undefined]) {
            const got = await cost(shared, doc, v, name);
            expect([doc, v, name, got]).toEqual([doc, v, name, await cost(complexityLimitPlugin(0), doc, v, name)]);
            seen.add(got!);
          }
        }
      }
    }
    expect(seen.size).toBeGreaterThan(8);
  });

  it('keeps no large query text in its cost cache, however many distinct ones are sent', async () => {
    // Each distinct document became an entry of the cost cache (500 of them) holding its
    // operation name and the names of the variables it depends on, each as long as the
    // body allows (1 MB): hundreds of MB for anyone to fill.
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

  it('document store: keeps documents by the size of their text, comments included, least recently used out first', async () => {
    const store = documentStore(3000);
    const doc = (i: number) => parse(`{ items } # ${i} ${'x'.repeat(1000)}`);
    const [a, b, c] = [doc(1), doc(2), doc(3)];
    await store.set('a', a);
    await store.set('b', b);
    expect(await store.get('a')).toBe(a); // a is now the most recently used
    await store.set('c', c);
    expect([await store.get('a'), await store.get('b'), await store.get('c')]).toEqual([a, undefined, c]);
    await store.set('huge', parse(`{ items } # ${'x'.repeat(5000)}`));
    expect(await store.get('huge')).toBeUndefined();
    expect(await store.delete('a')).toBe(true);
    expect(await store.get('a')).toBeUndefined();
  });
});
