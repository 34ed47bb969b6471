import { isUuid, newId } from './ids';

describe('isUuid, the one rule for an id', () => {
  it('takes a UUID of a version 1 to 8 and the RFC variant (8, 9, a, b), the nil and the max UUID, in either case', () => {
    for (const id of [
      newId(),
      newId().toUpperCase(),
      '01a207d7-22e1-733a-9303-5a2047c59e37',
      '9b2c4f1e-6a3d-4e8b-a1c2-3d4e5f6a7b8c',
      '12345678-1234-1234-8234-123456789012',
      '12345678-1234-8234-b234-123456789012',
      '00000000-0000-0000-0000-000000000000',
      'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
    ]) {
      expect([id, isUuid(id)]).toEqual([id, true]);
    }
  });

  it('refuses a version of none (0) or past 8, another variant than the RFC, and anything not shaped as a UUID', () => {
    for (const id of [
      '12345678-1234-0234-8234-123456789012',
      '12345678-1234-9234-8234-123456789012',
      '12345678-1234-f234-8234-123456789012',
      '12345678-1234-7234-c234-123456789012',
      '12345678-1234-7234-7234-123456789012',
      '12345678-1234-0234-c234-123456789012',
      '00000000-0000-0000-0000-000000000001',
      '12345678123472348234123456789012',
      `${newId()} `,
      '',
      'nope',
      42,
      null,
      undefined,
      [newId()],
    ]) {
      expect([id, isUuid(id)]).toEqual([id, false]);
    }
  });
});
