import cluster from 'node:cluster';
import { apiWorker } from './api-worker';

describe('apiWorker (whether this process is one of the workers API_WORKERS forks)', () => {
  afterEach(() => {
    jest.restoreAllMocks();
    delete process.env.PARVIS_API_WORKER;
    delete process.env.PARVIS_API_WORKER_DATABASE_URL;
  });

  it('is null in a node:cluster worker that Parvis did not fork (a process manager’s cluster mode): it serves as one process', () => {
    jest.replaceProperty(cluster, 'isWorker', true);
    expect(apiWorker()).toBeNull();
  });

  it('gives the number and database a worker was forked with', () => {
    jest.replaceProperty(cluster, 'isWorker', true);
    process.env.PARVIS_API_WORKER = '2';
    process.env.PARVIS_API_WORKER_DATABASE_URL = 'postgres://db/parvis';
    expect(apiWorker()).toEqual({ number: 2, databaseUrl: 'postgres://db/parvis' });
  });
});
