import { DataSource } from 'typeorm';
import { JobScheduler } from './jobs';

describe('JobScheduler.register', () => {
  it('refuses a second job under a name already registered (a programming error), keeping the first', () => {
    const jobs = new JobScheduler({} as DataSource);
    const first = async () => undefined;
    jobs.register('test-twice', 3_600_000, first);
    expect(() => jobs.register('test-twice', 60_000, async () => undefined)).toThrow(/"test-twice" is registered already/);
    expect(jobs.names()).toEqual(['test-twice']);
  });
});
