/**
 * `node dist/test/bench/topic-page-cpu.js` (after `npm run build`): the API's own cost of one
 * topic page, for comparing two builds on a busy machine where requests/s says little.
 *
 * Needs DATABASE_URL pointing at a database `npm run bench` has seeded (it seeds nothing and
 * refuses any other database). Starts the API as `npm run bench` does, under
 * `--trace-gc-nvp`, sends BENCH_WARMUP_REQUESTS (default 500) topic-page requests one at a
 * time, then BENCH_REQUESTS (default 2000) more, and prints the API process's CPU time per
 * request (/proc, user + system and each apart, in 10 ms ticks), the bytes it allocated per request (the sum
 * of the GC trace's `allocated=` over the measured requests: a rough figure, but far steadier
 * than CPU time on a shared machine), its GCs by kind and their pauses (wall time), and the wall
 * time per request as this process sees it: the round trip and its own check of each answer (the
 * JSON parsed, as `graphqlProblem` does; about 0.3 ms of a 50 KB page, where a substring check
 * took about 0.1 ms before 2026-12-07), so compare wall times only between runs of one version.
 * BENCH_CPU_PROF=<dir> profiles the API as in `npm run bench`.
 */
import {
  ApiServer,
  BenchError,
  cpuTimes,
  envInt,
  graphqlProblem,
  insertBenchSession,
  isInterrupted,
  log,
  onInterrupt,
  round,
  runBench,
  TOPIC_PAGE_QUERY,
  topicPageProblem,
  withCleanup,
  withClient,
} from './bench-support';

const VIEWER_HANDLE = 'bench_001';
const TOPIC_SAMPLE = 200;
const SESSION_USER_AGENT = 'parvis-bench-cpu';

const WARMUP = envInt('BENCH_WARMUP_REQUESTS', 500, 0, 1_000_000);
const REQUESTS = envInt('BENCH_REQUESTS', 2000, 1, 1_000_000);

/**
 * A line of `--trace-gc-nvp`'s, and nothing else: V8 starts each with the isolate's prefix and the time, then the pause, the
 * mutator's time and the kind (`[4242:0x5f3c1a0:0]       28 ms: pause=3.8 mutator=20.5 gc=s reduce_memory=0 …`). The API's
 * own output (a log line holding `a=b c=`, say) is printed and counted as nothing.
 */
const isGcTraceLine = (line: string): boolean => /^\[\d+:0x[0-9a-f]+:\d+\] +\d+ ms: pause=[\d.]+ mutator=[\d.]+ gc=\w+ /.test(line);

async function main(): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new BenchError('set DATABASE_URL to a database `npm run bench` has seeded');
  // The seed checked first, writing nothing: a database that is not the seed's gets no session, and no clean-up.
  const { viewerId, topicIds } = await withClient(url, async (c) => {
    if ((await c.query(`SELECT to_regclass('public.bench_seed') AS r`)).rows[0].r === null) throw new BenchError('DATABASE_URL holds no `npm run bench` seed');
    const viewer = (await c.query(`SELECT id FROM users WHERE handle = $1`, [VIEWER_HANDLE])).rows[0] as { id: string } | undefined;
    if (!viewer) throw new BenchError(`the seeded viewer (${VIEWER_HANDLE}) is missing`);
    const topicIds = (await c.query(`SELECT id FROM topics ORDER BY id LIMIT ${TOPIC_SAMPLE}`)).rows.map((r: { id: string }) => r.id);
    return { viewerId: viewer.id, topicIds };
  });

  // From the session's insert on, whatever ends the run (an error, the API's start failing among them, or Ctrl-C) ends in
  // this clean-up: the API stopped, then the session deleted, so no row valid for a day is left behind.
  let server: ApiServer | undefined;
  let session: Promise<string> | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await server?.stop();
      if (!session) return;
      // An insert still under way (Ctrl-C right then) is waited for: a DELETE before its commit would miss the row.
      await session.catch(() => undefined);
      await withClient(url, (c) => c.query(`DELETE FROM sessions WHERE user_agent = $1`, [SESSION_USER_AGENT]));
    })());
  onInterrupt(cleanup, () => server?.terminate());

  return withCleanup(async () => {
    session = withClient(url, (c) => insertBenchSession(c, viewerId, SESSION_USER_AGENT));
    const token = await session;

    // --trace-gc-nvp writes one `name=value ...` line per GC to stdout: counted, not printed.
    let allocated = 0;
    let gcPauseMs = 0;
    const gcKinds: Record<string, number> = {};
    let partial = '';
    const api = (server = await ApiServer.start(url, {}, { nodeArgs: ['--trace-gc-nvp'], echo: (line) => !isGcTraceLine(line) }));
    let counting = false;
    api.child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      if (!counting) return;
      for (const line of lines) {
        if (!isGcTraceLine(line)) continue;
        const a = /\ballocated=(\d+)/.exec(line);
        const p = /\bpause=([\d.]+)/.exec(line);
        if (!a) continue;
        allocated += Number(a[1]);
        const kind = /\bgc=(\w+)/.exec(line)?.[1] ?? '?';
        gcKinds[kind] = (gcKinds[kind] ?? 0) + 1;
        gcPauseMs += p ? Number(p[1]) : 0;
      }
    });

    let i = 0;
    const request = async () => {
      const problem = await graphqlProblem(api.base, token, TOPIC_PAGE_QUERY, topicIds[i++ % topicIds.length], topicPageProblem);
      if (problem) throw new BenchError(`a request failed: ${problem}`);
    };
    log(`warming up: ${WARMUP} requests`);
    for (let n = 0; n < WARMUP && !isInterrupted(); n++) await request();
    counting = true;
    const before = cpuTimes(api.pid);
    const t0 = process.hrtime.bigint();
    log(`measuring: ${REQUESTS} requests, one at a time`);
    for (let n = 0; n < REQUESTS && !isInterrupted(); n++) await request();
    const after = cpuTimes(api.pid);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    counting = false;
    if (isInterrupted()) return 130;
    if (before === null || after === null) throw new BenchError('no /proc to read the API process’s CPU time from');
    console.log(
      JSON.stringify({
        requests: REQUESTS,
        apiCpuMsPerRequest: round((after.userMs + after.systemMs - before.userMs - before.systemMs) / REQUESTS, 3),
        // User time apart: the system time (socket writes to the client and PostgreSQL) swings most with the machine's load.
        apiUserCpuMsPerRequest: round((after.userMs - before.userMs) / REQUESTS, 3),
        apiSystemCpuMsPerRequest: round((after.systemMs - before.systemMs) / REQUESTS, 3),
        allocatedKbPerRequest: round(allocated / 1024 / REQUESTS, 1),
        gcs: gcKinds,
        gcPauseMsPerRequest: round(gcPauseMs / REQUESTS, 3),
        wallMsPerRequest: round(wallMs / REQUESTS, 2),
      }),
    );
    return 0;
  }, cleanup);
}

runBench(main);
