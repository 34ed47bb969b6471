import { Viewer } from './viewer';

describe('Viewer memo, noted for a compiled query’s run', () => {
  it('forgets every entry the run memoized, one made again after a forget too, and keeps the rest', () => {
    const viewer = Viewer.anonymous();
    viewer.memoize('before', () => 'kept');
    viewer.memoize('again', () => 'old');
    viewer.noteMade();
    // The run forgets an entry and memoizes it again (it may hold a refused write), and one more.
    viewer.forget('again');
    viewer.memoize('again', () => 'refused');
    viewer.memoize('new', () => 'refused');
    viewer.endNoting(true);
    expect([viewer.peek('before'), viewer.peek('again'), viewer.peek('new')]).toEqual(['kept', undefined, undefined]);
  });

  it('keeps what the run memoized when its answer stands, and notes nothing after', () => {
    const viewer = Viewer.anonymous();
    viewer.noteMade();
    viewer.memoize('run', () => 1);
    viewer.endNoting(false);
    viewer.memoize('later', () => 2);
    viewer.noteMade();
    viewer.endNoting(true);
    expect([viewer.peek('run'), viewer.peek('later')]).toEqual([1, 2]);
  });
});
