import { clusterFlags } from './embedded';

describe('the embedded cluster', () => {
  it('is always UTF-8, with a UTF-8 locale when the system has one and PostgreSQL’s own C.UTF-8 otherwise', () => {
    expect(clusterFlags(() => ['C', 'C.utf8', 'POSIX'])).toEqual(['--encoding=UTF8', '--locale=C.utf8']);
    expect(clusterFlags(() => ['en_US.UTF-8', 'C.UTF-8'])).toEqual(['--encoding=UTF8', '--locale=C.UTF-8']);
    expect(clusterFlags(() => [])).toEqual(['--encoding=UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8']);
    expect(clusterFlags()[0]).toBe('--encoding=UTF8');
  });
});
