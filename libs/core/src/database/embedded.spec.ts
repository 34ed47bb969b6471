import { Client } from 'pg';
import { ConfigError, loadConfig } from '../config/config';
import { cgroupMemoryMax, clusterFlags, memorySettings, memorySizing, readPgMemory } from './embedded';

describe('the embedded cluster', () => {
  it('is always UTF-8, with a UTF-8 locale when the system has one and PostgreSQL’s own C.UTF-8 otherwise', () => {
    expect(clusterFlags(() => ['C', 'C.utf8', 'POSIX'])).toEqual(['--encoding=UTF8', '--locale=C.utf8']);
    expect(clusterFlags(() => ['en_US.UTF-8', 'C.UTF-8'])).toEqual(['--encoding=UTF8', '--locale=C.UTF-8']);
    expect(clusterFlags(() => [])).toEqual(['--encoding=UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8']);
    expect(clusterFlags()[0]).toBe('--encoding=UTF8');
  });
});

describe('the persistent embedded cluster’s memory (memorySizing)', () => {
  const GB = 1024 ** 3;
  const sized = (totalGB: number, cgroupMax?: string, overrides: { sharedBuffers?: string; effectiveCacheSize?: string } = {}) => {
    const s = memorySizing({ totalMemBytes: totalGB * GB, cgroupMax, ...overrides });
    return [s.sharedBuffersMB, s.effectiveCacheSizeMB, s.memoryMB, s.memoryFrom];
  };

  it('gives shared_buffers a quarter of the RAM and effective_cache_size half of it', () => {
    expect(sized(8)).toEqual([2048, 4096, 8192, 'RAM']);
    expect(sized(2)).toEqual([512, 1024, 2048, 'RAM']);
  });

  it('keeps shared_buffers between PostgreSQL’s default 128MB and 4GB, effective_cache_size never under it', () => {
    expect(sized(23)).toEqual([4096, 11776, 23552, 'RAM']);
    expect(sized(64)).toEqual([4096, 32768, 65536, 'RAM']);
    expect(sized(0.25)).toEqual([128, 128, 256, 'RAM']);
  });

  it('sizes to the container’s cgroup limit when it is lower than the RAM, and ignores one that is not', () => {
    expect(sized(23, `${4 * GB}\n`)).toEqual([1024, 2048, 4096, 'cgroup limit']);
    expect(sized(8, 'max\n')).toEqual([2048, 4096, 8192, 'RAM']);
    expect(sized(8, `${64 * GB}\n`)).toEqual([2048, 4096, 8192, 'RAM']);
    expect(sized(8, '')).toEqual([2048, 4096, 8192, 'RAM']);
  });

  it('sizes to the limit of the process’s own cgroup (v1, or nested under systemd) as Node reads it, the lower of the limits', () => {
    const limited = (constrainedBytes: number, cgroupMax?: string) => {
      const s = memorySizing({ totalMemBytes: 23 * GB, cgroupMax, constrainedBytes });
      return [s.sharedBuffersMB, s.effectiveCacheSizeMB, s.memoryFrom];
    };
    expect(limited(2 * GB)).toEqual([512, 1024, 'cgroup limit']);
    expect(limited(2 * GB, `${4 * GB}`)).toEqual([512, 1024, 'cgroup limit']);
    expect(limited(8 * GB, `${4 * GB}`)).toEqual([1024, 2048, 'cgroup limit']);
    // cgroup v1 without a limit (9223372036854771712, read as an unsigned 64-bit number), and unknown.
    expect(limited(18446744073709552000)).toEqual([4096, 11776, 'RAM']);
    expect(limited(0, 'max')).toEqual([4096, 11776, 'RAM']);
  });

  it('reads the cgroup v2 limit of the process’s own cgroup and of every cgroup above it (a systemd slice’s), the lowest of them', () => {
    const files = (entries: Record<string, string>) => (file: string) => entries[file];
    // A service under a slice limited to 2GB (MemoryMax= on parvis.slice), the service itself not limited.
    const sliced = files({
      '/proc/self/cgroup': '0::/parvis.slice/parvis.service\n',
      '/sys/fs/cgroup/parvis.slice/parvis.service/memory.max': 'max\n',
      '/sys/fs/cgroup/parvis.slice/memory.max': `${2 * GB}\n`,
    });
    expect(cgroupMemoryMax(sliced)).toBe(`${2 * GB}`);
    expect(memorySizing({ totalMemBytes: 23 * GB, cgroupMax: cgroupMemoryMax(sliced) })).toMatchObject({ sharedBuffersMB: 512, effectiveCacheSizeMB: 1024, memoryFrom: 'cgroup limit' });
    // The lowest of the levels, wherever it is: the service's own below its slice's, the container's root below both.
    const nested = (service: string, slice: string, root?: string) =>
      cgroupMemoryMax(files({
        '/proc/self/cgroup': '0::/system.slice/parvis.service\n',
        '/sys/fs/cgroup/system.slice/parvis.service/memory.max': service,
        '/sys/fs/cgroup/system.slice/memory.max': slice,
        ...(root ? { '/sys/fs/cgroup/memory.max': root } : {}),
      }));
    expect(nested(`${GB}`, `${2 * GB}`)).toBe(`${GB}`);
    expect(nested(`${4 * GB}`, `${2 * GB}`, `${3 * GB}`)).toBe(`${2 * GB}`);
    expect(nested('max', 'max', `${3 * GB}`)).toBe(`${3 * GB}`);
    expect(nested('max', 'max')).toBe('max');
    // A container with its own cgroup namespace (its cgroup is the root of what it sees), and a host with no cgroup v2.
    expect(cgroupMemoryMax(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': `${4 * GB}\n` }))).toBe(`${4 * GB}`);
    expect(cgroupMemoryMax(files({ '/proc/self/cgroup': '4:memory:/user.slice\n0::/\n' }))).toBeUndefined();
    // A cgroup outside the namespace's root (`/../..`) is not followed out of /sys/fs/cgroup.
    expect(cgroupMemoryMax(files({ '/proc/self/cgroup': '0::/../other\n', '/sys/fs/cgroup/memory.max': `${4 * GB}\n`, '/sys/other/memory.max': `${GB}` }))).toBe(`${4 * GB}`);
  });

  it('reads the cgroup v1 limit of the process\u2019s own cgroup and of every cgroup above it that bounds it, the lowest of them', () => {
    const files = (entries: Record<string, string>) => (file: string) => entries[file];
    const UNLIMITED = '9223372036854771712\n';
    // A service under a slice limited to 2GB, the service itself not limited: Node reads the service's own cgroup alone.
    const sliced = files({
      '/proc/self/cgroup': '12:pids:/parvis.slice/parvis.service\n4:memory:/parvis.slice/parvis.service\n0::/parvis.slice/parvis.service\n',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': UNLIMITED,
      '/sys/fs/cgroup/memory/parvis.slice/memory.limit_in_bytes': `${2 * GB}\n`,
      '/sys/fs/cgroup/memory/parvis.slice/memory.use_hierarchy': '1\n',
      '/sys/fs/cgroup/memory/parvis.slice/parvis.service/memory.limit_in_bytes': UNLIMITED,
    });
    expect(cgroupMemoryMax(sliced)).toBe(`${2 * GB}`);
    expect(memorySizing({ totalMemBytes: 23 * GB, cgroupMax: cgroupMemoryMax(sliced), constrainedBytes: 18446744073709552000 })).toMatchObject({
      sharedBuffersMB: 512, effectiveCacheSizeMB: 1024, memoryFrom: 'cgroup limit',
    });
    // The lowest of the levels, wherever it is; the memory controller named among others on its line.
    const nested = (service: string, slice: string, root: string, sliceHierarchy = '1') =>
      cgroupMemoryMax(files({
        '/proc/self/cgroup': '7:cpu,memory:/system.slice/parvis.service\n',
        '/sys/fs/cgroup/memory/system.slice/parvis.service/memory.limit_in_bytes': service,
        '/sys/fs/cgroup/memory/system.slice/memory.limit_in_bytes': slice,
        '/sys/fs/cgroup/memory/system.slice/memory.use_hierarchy': sliceHierarchy,
        '/sys/fs/cgroup/memory/memory.limit_in_bytes': root,
        '/sys/fs/cgroup/memory/memory.use_hierarchy': '1',
      }));
    expect(nested(`${GB}`, `${2 * GB}`, UNLIMITED)).toBe(`${GB}`);
    expect(nested(`${4 * GB}`, `${2 * GB}`, `${3 * GB}`)).toBe(`${2 * GB}`);
    expect(nested(UNLIMITED, UNLIMITED, `${3 * GB}`)).toBe(`${3 * GB}`);
    expect(Number(nested(UNLIMITED, UNLIMITED, UNLIMITED))).toBeGreaterThan(64 * 1024 * GB);
    // A cgroup without hierarchy bounds none below it: its limit is not the process's.
    expect(nested(UNLIMITED, `${2 * GB}`, `${3 * GB}`, '0')).toBe(`${3 * GB}`);
    // A container (its cgroup's path is the host's, its own cgroup mounted as the root): the root's limit, whatever its hierarchy.
    const container = files({
      '/proc/self/cgroup': '4:memory:/docker/0123abcd\n',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': `${GB}\n`,
      '/sys/fs/cgroup/memory/memory.use_hierarchy': '0\n',
    });
    expect(cgroupMemoryMax(container)).toBe(`${GB}`);
    // A cgroup outside the namespace's root is not followed out of the mount; a hybrid host's v2 hierarchy without the memory controller.
    expect(cgroupMemoryMax(files({ '/proc/self/cgroup': '4:memory:/../other\n', '/sys/fs/cgroup/memory/memory.limit_in_bytes': `${4 * GB}`, '/sys/fs/other/memory.limit_in_bytes': `${GB}` }))).toBe(`${4 * GB}`);
    expect(cgroupMemoryMax(files({ '/proc/self/cgroup': '4:memory:/user.slice\n0::/user.slice\n', '/sys/fs/cgroup/memory/user.slice/memory.limit_in_bytes': `${GB}` }))).toBe(`${GB}`);
  });

  it('takes the sizes set (EMBEDDED_PG_SHARED_BUFFERS, EMBEDDED_PG_EFFECTIVE_CACHE_SIZE) as they are', () => {
    expect(sized(23, undefined, { sharedBuffers: '1GB' })).toEqual([1024, 11776, 23552, 'RAM']);
    expect(sized(23, undefined, { sharedBuffers: '6GB', effectiveCacheSize: '16384MB' })).toEqual([6144, 16384, 23552, 'RAM']);
    // As PostgreSQL reads them: a fraction, hexadecimal, a unit of bytes.
    expect(sized(23, undefined, { sharedBuffers: '1.5GB', effectiveCacheSize: '0x4000MB' })).toEqual([1536, 16384, 23552, 'RAM']);
    expect(sized(8, undefined, { sharedBuffers: '1073741824B' })).toEqual([1024, 4096, 8192, 'RAM']);
    expect(sized(8, undefined, { effectiveCacheSize: '2097152kB' })).toEqual([2048, 2048, 8192, 'RAM']);
    expect(memorySizing({ totalMemBytes: 8 * GB, sharedBuffers: '1GB' }).overridden).toEqual({ sharedBuffers: true, effectiveCacheSize: false });
  });

  it('refuses a size set without its unit, unreadable, nil or larger than the memory, naming the variable', () => {
    expect(() => sized(8, undefined, { sharedBuffers: '1024' })).toThrow(
      'EMBEDDED_PG_SHARED_BUFFERS: must be a size with its unit, such as 512MB or 2GB (PostgreSQL\'s units: B, kB, MB, GB and TB, in that case; got "1024")',
    );
    expect(() => sized(8, undefined, { sharedBuffers: 'lots' })).toThrow(/^EMBEDDED_PG_SHARED_BUFFERS: must be a size with its unit/);
    // PostgreSQL's units are case-sensitive: it refuses 512mb, and so does the variable, rather than pass on what PostgreSQL would not take.
    for (const value of ['512mb', '4gb', '512Mb', '2kb']) {
      expect(() => sized(8, undefined, { sharedBuffers: value })).toThrow(`EMBEDDED_PG_SHARED_BUFFERS: must be a size with its unit, such as 512MB or 2GB (PostgreSQL's units: B, kB, MB, GB and TB, in that case; got "${value}")`);
    }
    expect(() => sized(8, undefined, { effectiveCacheSize: '1.5 GB x' })).toThrow(/^EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: must be a size with its unit/);
    expect(() => sized(8, undefined, { sharedBuffers: '0MB' })).toThrow('EMBEDDED_PG_SHARED_BUFFERS: must be at least 1MB (got "0MB")');
    // Below the integer range too (-2^31 pages and less): too small, not too large.
    for (const value of ['-1MB', '-16TB', '-17TB']) {
      expect(() => sized(8, undefined, { sharedBuffers: value })).toThrow(`EMBEDDED_PG_SHARED_BUFFERS: must be at least 1MB (got "${value}")`);
    }
    expect(() => sized(8, `${2 * GB}`, { sharedBuffers: '3GB' })).toThrow('EMBEDDED_PG_SHARED_BUFFERS: 3GB is more than the 2048MB of memory this machine has (its cgroup limit)');
  });

  it('refuses an effective_cache_size set larger than the memory, naming the variable, and takes one up to it', () => {
    expect(() => sized(8, undefined, { effectiveCacheSize: '9GB' })).toThrow(
      'EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: 9GB is more than the 8192MB of memory this machine has (its RAM); the planner would count on a cache the machine cannot hold',
    );
    expect(() => sized(23, `${2 * GB}`, { effectiveCacheSize: '4GB' })).toThrow(/^EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: 4GB is more than the 2048MB of memory this machine has \(its cgroup limit\)/);
    // Past PostgreSQL's own maximum (2^31 - 1 pages of 8kB): refused as PostgreSQL would refuse it, not at PostgreSQL's start.
    expect(() => sized(8, undefined, { effectiveCacheSize: '100TB' })).toThrow(/^EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: must be less than 16TB: PostgreSQL holds this setting in pages of 8kB, at most 2\^31 - 1 of them \(got "100TB"\)/);
    expect(() => sized(8, undefined, { effectiveCacheSize: '15TB' })).toThrow(/^EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: 15TB is more than the 8192MB/);
    expect(sized(8, undefined, { effectiveCacheSize: '8GB' })).toEqual([2048, 8192, 8192, 'RAM']);
  });

  it('refuses, when the configuration loads, an effective_cache_size set larger than this machine’s memory', () => {
    expect(() => loadConfig({ EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: '15TB' })).toThrow(/EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: 15TB is more than the \d+MB of memory this machine has/);
    expect(() => loadConfig({ EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: '1000000TB' })).toThrow(/EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: must be less than 16TB/);
  });

  it('leaves what ALTER SYSTEM set to the cluster, and raises the effective_cache_size it sizes to a shared_buffers ALTER SYSTEM set above it', () => {
    const eightGB = memorySizing({ totalMemBytes: 8 * GB });
    const altered = (entries: Record<string, string>, sizing = eightGB) => memorySettings(sizing, new Map(Object.entries(entries)));
    expect(altered({})).toEqual({
      flags: ['-c', 'shared_buffers=2048MB', '-c', 'effective_cache_size=4096MB'],
      line: "embedded postgres: shared_buffers 2048MB, effective_cache_size 4096MB (sized to 8192MB of memory, the machine's RAM)",
    });
    // Below the half of the memory sized: nothing to raise.
    expect(altered({ shared_buffers: '256MB' }).flags).toEqual(['-c', 'effective_cache_size=4096MB']);
    // Above it, however ALTER SYSTEM wrote it (with its unit, or in pages of 8kB): effective_cache_size includes shared_buffers.
    for (const sixGB of ['6GB', '6144MB', '6291456kB', '786432']) {
      expect(altered({ shared_buffers: sixGB })).toEqual({
        flags: ['-c', 'effective_cache_size=6144MB'],
        line: `embedded postgres: shared_buffers ${sixGB}, effective_cache_size 6144MB (shared_buffers as ALTER SYSTEM set; effective_cache_size raised to it)`,
      });
    }
    // What the operator set themselves stays as they set it: ALTER SYSTEM's, or the variable's.
    expect(altered({ shared_buffers: '6GB', effective_cache_size: '5GB' }).flags).toEqual([]);
    expect(altered({ shared_buffers: '6GB' }, memorySizing({ totalMemBytes: 8 * GB, effectiveCacheSize: '5GB' })).flags).toEqual(['-c', 'effective_cache_size=5120MB']);
    // A value it cannot read (PostgreSQL would refuse it first) raises nothing: one in a unit of the wrong case either.
    expect(altered({ shared_buffers: 'lots' }).flags).toEqual(['-c', 'effective_cache_size=4096MB']);
    expect(altered({ shared_buffers: '6gb' }).flags).toEqual(['-c', 'effective_cache_size=4096MB']);
    // What PostgreSQL reads otherwise, it reads as PostgreSQL does: 0x1800MB is 6GB, 06000MB (octal) 3GB.
    expect(altered({ shared_buffers: '0x1800MB' }).flags).toEqual(['-c', 'effective_cache_size=6144MB']);
    expect(altered({ shared_buffers: '06000MB' }).flags).toEqual(['-c', 'effective_cache_size=4096MB']);
  });

  it('reads a memory size as the PostgreSQL the tests run on reads it, refusing what it refuses', async () => {
    // Each value set as work_mem (in kB; a bare number is kB) on the real server: what it takes, in kB, or that it refuses the value.
    const values = [
      '512MB', '512mb', '512Mb', '4gb', '4GB', ' 512 MB ', '\t2GB\n', '1.5GB', '.5GB', ' .5GB', '+.5GB', '+2MB', '1e3kB', '1.5e1MB', '1e-1GB', '5e',
      '5eMB', '0x10MB', '0x10.8MB', '0x1p3MB', '0xMB', '010MB', '09MB', '00012MB', '010.5MB', '1048576B', '1TB', '2G', '2 G B', '1 GBx', '1 GBB',
      'lots', 'MB', '', '1024', '0x100', '65536 ', '100.25',
      // Past what a double holds, or so small it underflows: strtod's ERANGE, refused however they read.
      '1e400MB', '-1e400MB', `1${'0'.repeat(400)}MB`, '1e400', '1e-400MB', '1e-310MB',
    ];
    const client = new Client({ connectionString: process.env.PARVIS_TEST_ADMIN_URL });
    await client.connect();
    const server: Array<[string, number | 'refused']> = [];
    try {
      for (const value of values) {
        try {
          await client.query('BEGIN');
          await client.query(`SELECT set_config('work_mem', $1, true)`, [value]);
          const [{ kb }] = (await client.query(`SELECT setting::bigint AS kb FROM pg_settings WHERE name = 'work_mem'`)).rows;
          server.push([value, Number(kb)]);
        } catch (err) {
          // Only a value it cannot read: none of these is out of work_mem's range (64kB to 2TB).
          expect((err as Error).message).toMatch(/^invalid value for parameter "work_mem"/);
          server.push([value, 'refused']);
        } finally {
          await client.query('ROLLBACK');
        }
      }
    } finally {
      await client.end();
    }
    const ours = values.map((value): [string, number | 'refused'] => {
      const read = readPgMemory(value);
      return [value, read === undefined ? 'refused' : Math.round(read.unit ? read.amount * 1024 : read.amount)];
    });
    expect(ours).toEqual(server);
    // Not vacuous: it takes some and refuses others.
    expect(new Set(server.map(([, kb]) => kb === 'refused'))).toEqual(new Set([true, false]));
  });

  it("refuses, as PostgreSQL does, a size past the integer range of its setting's unit", async () => {
    // INT_MAX (2^31 - 1) in the unit, and just above; as a bare number, in another unit, a fraction that rounds over, and below INT_MIN.
    const cases: Array<{ setting: string; unitKB: number; values: string[] }> = [
      {
        setting: 'effective_cache_size', // pages of 8kB, as shared_buffers
        unitKB: 8,
        values: ['2147483647', '2147483648', '17179869176kB', '17179869184kB', '17179869180kB', '17179869179kB', '16777215.9921875MB', '16TB', '15.99999999TB', '-2147483649', '1e10'],
      },
      { setting: 'work_mem', unitKB: 1, values: ['2147483647', '2147483648', '2147483647kB', '2147483648kB', '2TB', '2047.99999999GB', '-2147483649'] },
    ];
    const client = new Client({ connectionString: process.env.PARVIS_TEST_ADMIN_URL });
    await client.connect();
    const server: Array<[string, string, number | 'out of range' | 'refused otherwise']> = [];
    const ours: typeof server = [];
    try {
      for (const { setting, unitKB, values } of cases) {
        for (const value of values) {
          try {
            await client.query('BEGIN');
            await client.query(`SELECT set_config($1, $2, true)`, [setting, value]);
            const [{ n }] = (await client.query(`SELECT setting::bigint AS n FROM pg_settings WHERE name = $1`, [setting])).rows;
            server.push([setting, value, Number(n)]);
          } catch (err) {
            server.push([setting, value, (err as { hint?: string }).hint === 'Value exceeds integer range.' ? 'out of range' : 'refused otherwise']);
          } finally {
            await client.query('ROLLBACK');
          }
          const read = readPgMemory(value, unitKB);
          const inUnit = read && Math.round(read.unit ? (read.amount * 1024) / unitKB : read.amount);
          // A value in range that the setting's own bounds refuse (below its least) reads here, and is refused later (parseMemorySize).
          ours.push([setting, value, read === undefined ? 'out of range' : inUnit! < 1 ? 'refused otherwise' : inUnit!]);
        }
      }
    } finally {
      await client.end();
    }
    expect(ours).toEqual(server);
    // Not vacuous: the server took some and refused others as out of the integer range.
    expect(new Set(server.map(([, , r]) => typeof r === 'number' || r))).toEqual(new Set([true, 'out of range']));
  });

  it('stops the process at start-up on a bad size, naming the variable', () => {
    expect(() => loadConfig({ EMBEDDED_PG_SHARED_BUFFERS: '2G' })).toThrow(ConfigError);
    expect(() => loadConfig({ EMBEDDED_PG_SHARED_BUFFERS: '2G' })).toThrow(/EMBEDDED_PG_SHARED_BUFFERS: must be a size with its unit/);
    expect(loadConfig({ EMBEDDED_PG_SHARED_BUFFERS: '256MB' }).EMBEDDED_PG_SHARED_BUFFERS).toBe('256MB');
    // The sizing it checked is kept, for the start to use rather than make again.
    expect(loadConfig({ EMBEDDED_PG_SHARED_BUFFERS: '256MB' }).embeddedMemory).toMatchObject({ sharedBuffersMB: 256, overridden: { sharedBuffers: true, effectiveCacheSize: false } });
    expect(() => loadConfig({ EMBEDDED_PG_SHARED_BUFFERS: '256mb' })).toThrow(/EMBEDDED_PG_SHARED_BUFFERS: must be a size with its unit, such as 512MB or 2GB \(PostgreSQL's units: B, kB, MB, GB and TB, in that case; got "256mb"\)/);
  });
});
