import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { ArgsType, Field, ID, InputType } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import { getMetadataStorage, IsOptional, IsString, IsUUID, ValidateNested } from 'class-validator';
import { inputValidationPipe } from './errors';
import { CacheableArgs } from './validated-args';
import { ValueOnly } from './value-only-checks';
import { lowerCaseInputIds } from './input-ids';
import { ID_VERSION } from '../ids';

const ID_A = '0190a8e2-7b3c-7def-8a12-3456789abcde';
const ID_B = '0190a8e2-7b3c-7def-8a12-3456789abcdf';

describe('ids of validated arguments', () => {
  @InputType()
  class Inner {
    @Field(() => ID) @IsUUID(ID_VERSION) userId!: string;
    @Field() @IsString() note!: string;
  }
  @InputType()
  class Outer {
    @Field(() => ID) @IsUUID(ID_VERSION) spaceId!: string;
    @Field(() => [ID]) @IsUUID(ID_VERSION, { each: true }) tagIds!: string[];
    @Field(() => Inner) @ValidateNested() @Type(() => Inner) inner!: Inner;
    @Field(() => [Inner]) @ValidateNested({ each: true }) @Type(() => Inner) more!: Inner[];
  }
  @CacheableArgs()
  @ArgsType()
  class FlatArgs {
    @Field(() => ID, { nullable: true }) @ValueOnly.IsOptional() @ValueOnly.IsUUID(ID_VERSION) spaceId?: string;
    @Field(() => String, { nullable: true }) @ValueOnly.IsOptional() @ValueOnly.IsString() handle?: string;
  }

  const body = (metatype: unknown) => ({ type: 'body' as const, metatype: metatype as never, data: '' });

  it('hands every @IsUUID value on in lower case, one or each of a list, through nested inputs; other strings as sent', async () => {
    const pipe = inputValidationPipe();
    const sent = { spaceId: ID_A.toUpperCase(), tagIds: [ID_A.toUpperCase(), ID_B], inner: { userId: ID_B.toUpperCase(), note: 'KEEP' }, more: [{ userId: ID_A.toUpperCase(), note: 'As Sent' }] };
    const got = (await pipe.transform(sent, body(Outer))) as Outer;
    expect(got).toBeInstanceOf(Outer);
    expect({ ...got, inner: { ...got.inner }, more: got.more.map((m) => ({ ...m })) }).toEqual({ spaceId: ID_A, tagIds: [ID_A, ID_B], inner: { userId: ID_B, note: 'KEEP' }, more: [{ userId: ID_A, note: 'As Sent' }] });
  });

  it('hands a kept flat argument on in lower case, whichever case was kept first', async () => {
    const pipe = inputValidationPipe();
    for (let i = 0; i < 2; i++) {
      expect({ ...((await pipe.transform({ spaceId: ID_A.toUpperCase(), handle: 'Ann' }, body(FlatArgs))) as object) }).toEqual({ spaceId: ID_A, handle: 'Ann' });
      expect({ ...((await pipe.transform({ spaceId: ID_A, handle: 'Ann' }, body(FlatArgs))) as object) }).toEqual({ spaceId: ID_A, handle: 'Ann' });
    }
  });

  it('leaves a value no UUID as it is (one its check let through unchecked)', () => {
    class Loose {
      @IsOptional() @IsUUID(ID_VERSION) id?: string;
    }
    const args = Object.assign(new Loose(), { id: 'Not-An-Id' });
    lowerCaseInputIds(args);
    expect(args.id).toBe('Not-An-Id');
  });

  /** Every source file of the libs declaring an @IsUUID check: its classes are the inputs and argument classes the API serves. */
  function loadInputs(): void {
    const libs = join(__dirname, '../../..');
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : []));
    for (const file of walk(libs)) if (/@(ValueOnly\.)?IsUUID\(/.test(readFileSync(file, 'utf8'))) require(file);
  }

  it('lower-cases each @IsUUID property of every class of the libs (more than 60 of them)', () => {
    loadInputs();
    const storage = getMetadataStorage() as unknown as { validationMetadatas: Map<object, { name?: string; propertyName: string }[]> };
    let seen = 0;
    const missed: string[] = [];
    for (const [target, checks] of storage.validationMetadatas) {
      if (typeof target !== 'function' || target === Outer || target === Inner || target === FlatArgs) continue;
      for (const property of new Set(checks.filter((c) => c.name === 'isUuid').map((c) => c.propertyName))) {
        seen++;
        for (const sent of [ID_A.toUpperCase(), [ID_B.toUpperCase(), ID_A]]) {
          const args = Object.assign(Object.create((target as { prototype: object }).prototype) as Record<string, unknown>, { [property]: sent });
          lowerCaseInputIds(args);
          const expected = Array.isArray(sent) ? [ID_B, ID_A] : ID_A;
          if (JSON.stringify(args[property]) !== JSON.stringify(expected)) missed.push(`${(target as { name: string }).name}.${property}`);
        }
      }
    }
    expect(missed).toEqual([]);
    expect(seen).toBeGreaterThan(60);
  });

  it('checks every @IsUUID property of the libs by the one rule, ID_VERSION (what isUuid answers for bare arguments, cursors and live events)', () => {
    loadInputs();
    const storage = getMetadataStorage() as unknown as { validationMetadatas: Map<object, { name?: string; propertyName: string; constraints?: unknown[] }[]> };
    const other: string[] = [];
    let seen = 0;
    for (const [target, checks] of storage.validationMetadatas) {
      if (typeof target !== 'function') continue;
      for (const check of checks.filter((c) => c.name === 'isUuid')) {
        seen++;
        if (check.constraints?.[0] !== ID_VERSION) other.push(`${(target as { name: string }).name}.${check.propertyName}: ${String(check.constraints?.[0])}`);
      }
    }
    expect(other).toEqual([]);
    expect(seen).toBeGreaterThan(60);
  });
});
