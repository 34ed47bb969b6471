import { ArgsType, Field, InputType, Int } from '@nestjs/graphql';
import { plainToInstance, Transform, Type } from 'class-transformer';
import * as cv from 'class-validator';
import { IsIn, IsInt, IsOptional, IsString, Max, Min, ValidateBy, ValidateIf, ValidateNested } from 'class-validator';
import { inputValidationPipe } from './errors';
import { PageArgs } from './pagination';
import { CacheableArgs, VALIDATED_ARGS_MAX, ValidatedArgs } from './validated-args';
import { trim, valueOnlyTransform } from './transforms';
import { ValueOnly } from './value-only-checks';

describe('input validation of flat arguments', () => {
  @CacheableArgs()
  @ArgsType()
  class PageLikeArgs {
    @Field(() => Int, { nullable: true }) @ValueOnly.IsOptional() @ValueOnly.IsInt() @ValueOnly.Min(1) @ValueOnly.Max(100) first?: number;
    @Field(() => String, { nullable: true }) @ValueOnly.IsOptional() @Transform(trim) @ValueOnly.IsString() @ValueOnly.MaxLength(10) after?: string;
  }

  /** The same arguments, not marked. */
  @ArgsType()
  class UnmarkedArgs {
    @Field(() => Int, { nullable: true }) @IsOptional() @IsInt() @Min(1) @Max(100) first?: number;
  }

  /** Marked, then extended: the mark is the class's own. */
  @ArgsType()
  class ExtendedArgs extends PageLikeArgs {
    @Field(() => Int, { nullable: true }) @ValueOnly.IsOptional() @ValueOnly.IsInt() last?: number;
  }

  @InputType()
  class Inner {
    @Field() @IsString() text!: string;
  }
  @CacheableArgs()
  @ArgsType()
  class NestedArgs {
    @Field(() => Inner, { nullable: true }) @ValueOnly.IsOptional() @ValidateNested() @Type(() => Inner) input?: Inner;
  }

  // As Nest hands a resolver's @Args() to the pipe.
  const args = (metatype: unknown) => ({ type: 'body' as const, metatype: metatype as never, data: undefined });
  const ARGS = args(PageLikeArgs);

  /** The pipe, and how many times it ran class-validator so far. */
  function countedPipe() {
    const pipe = inputValidationPipe();
    const validate = jest.spyOn(pipe as unknown as { validate: (...a: unknown[]) => unknown }, 'validate');
    return { pipe, checks: () => validate.mock.calls.length };
  }

  it('checks the same flat arguments of a marked class once, and hands each call its own instance of what the checks made', async () => {
    const { pipe, checks } = countedPipe();
    const first = (await pipe.transform({ first: 50, after: ' x ' }, ARGS)) as PageLikeArgs;
    const again = (await pipe.transform({ first: 50, after: ' x ' }, ARGS)) as PageLikeArgs;
    expect(checks()).toBe(1);
    expect(again).toBeInstanceOf(PageLikeArgs);
    expect({ ...again }).toEqual({ first: 50, after: 'x' });
    expect(again).not.toBe(first);
    first.first = 7;
    again.after = 'changed';
    expect({ ...((await pipe.transform({ first: 50, after: ' x ' }, ARGS)) as PageLikeArgs) }).toEqual({ first: 50, after: 'x' });
    expect(checks()).toBe(1);
  });

  it('checks the arguments of a class not marked every time, a subclass of a marked one too', async () => {
    const { pipe, checks } = countedPipe();
    for (let i = 0; i < 3; i++) expect({ ...((await pipe.transform({ first: 50 }, args(UnmarkedArgs))) as object) }).toEqual({ first: 50 });
    expect(checks()).toBe(3);
    for (let i = 0; i < 3; i++) await pipe.transform({ first: 50 }, args(ExtendedArgs));
    expect(checks()).toBe(6);
  });

  it('still refuses arguments that fail, after the same class passed, and every time', async () => {
    const { pipe, checks } = countedPipe();
    await pipe.transform({ first: 50 }, ARGS);
    for (let i = 0; i < 2; i++) {
      await expect(pipe.transform({ first: 500 }, ARGS)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { fields: [{ field: 'first' }] } });
      await expect(pipe.transform({ first: 50, after: 'far too long a cursor' }, ARGS)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    expect(checks()).toBe(5);
  });

  it('checks nested inputs every time, in a marked class too', async () => {
    const { pipe, checks } = countedPipe();
    const a = (await pipe.transform({ input: { text: 'hi' } }, args(NestedArgs))) as NestedArgs;
    const b = (await pipe.transform({ input: { text: 'hi' } }, args(NestedArgs))) as NestedArgs;
    expect(checks()).toBe(2);
    expect(b.input).toBeInstanceOf(Inner);
    expect(b.input).not.toBe(a.input);
  });

  it('keys kept arguments by class and by type: another marked class, 50 against "50", null against absent', async () => {
    @CacheableArgs()
    @ArgsType()
    class SmallPageArgs {
      @Field(() => Int, { nullable: true }) @ValueOnly.IsOptional() @ValueOnly.IsInt() @ValueOnly.Min(1) @ValueOnly.Max(10) first?: number;
    }
    const { pipe } = countedPipe();
    await pipe.transform({ first: 50 }, ARGS);
    // The same values for another class are that class's own: refused there, though kept for PageLikeArgs.
    await expect(pipe.transform({ first: 50 }, args(SmallPageArgs))).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { fields: [{ field: 'first' }] } });
    await pipe.transform({ first: 5 }, ARGS);
    expect(await pipe.transform({ first: 5 }, args(SmallPageArgs))).toBeInstanceOf(SmallPageArgs);
    // A number kept is not a string of its digits.
    await expect(pipe.transform({ first: '50' }, ARGS)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { fields: expect.arrayContaining([{ field: 'first', message: 'first must be an integer number' }]) } });
    // Absent and null are both let through, and each handed on as it came.
    await pipe.transform({}, ARGS);
    expect(Object.entries((await pipe.transform({ after: null }, ARGS)) as object)).toEqual([['after', null]]);
    expect(Object.entries((await pipe.transform({}, ARGS)) as object)).toEqual([]);
  });

  it('keeps nothing whose checks made an object of it: no instance is shared between two calls', async () => {
    @CacheableArgs()
    @ArgsType()
    class SinceArgs {
      @Field(() => String, { nullable: true }) @ValueOnly.IsOptional() @Transform(valueOnlyTransform(({ value }) => (typeof value === 'string' ? new Date(value) : value))) since?: Date;
    }
    const { pipe, checks } = countedPipe();
    const a = (await pipe.transform({ since: '2026-01-01T00:00:00Z' }, args(SinceArgs))) as SinceArgs;
    a.since?.setTime(0);
    const b = (await pipe.transform({ since: '2026-01-01T00:00:00Z' }, args(SinceArgs))) as SinceArgs;
    expect(b.since?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(checks()).toBe(2);
  });

  it('keeps the arguments asked again while VALIDATED_ARGS_MAX others are asked once (least recently used first out)', async () => {
    const { pipe, checks } = countedPipe();
    const once = 2 * VALIDATED_ARGS_MAX;
    for (let i = 0; i < once; i++) {
      await pipe.transform({ first: 50 }, ARGS);
      await pipe.transform({ first: 1 + (i % 100), after: String(i) }, ARGS);
    }
    // `{ first: 50 }` checked once in all, never dropped (clearing everything at the bound checked it again).
    expect(checks()).toBe(1 + once);
    const before = checks();
    // The oldest of those asked once made way.
    await pipe.transform({ first: 1, after: '0' }, ARGS);
    expect(checks()).toBe(before + 1);
  });

  it('refuses to mark a class whose checks or transforms may answer otherwise for the same value', () => {
    const Clocked = () => ValidateBy({ name: 'beforeNow', validator: { validate: (v: unknown) => typeof v === 'number' && v < Date.now() } });
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class ClockedArgs {
        @Field(() => Int) @Clocked() at!: number;
      }
      return ClockedArgs;
    }).toThrow(/ClockedArgs cannot be @CacheableArgs\(\): at's check beforeNow is not declared to depend on the value alone/);
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class ConditionalArgs {
        @Field(() => Int) @ValidateIf(() => Math.random() < 0.5) @IsInt() n!: number;
      }
      return ConditionalArgs;
    }).toThrow(/ValidateIf/);
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class ConditionalOptionArgs {
        @Field(() => Int) @IsInt({ validateIf: () => Math.random() < 0.5 }) n!: number;
      }
      return ConditionalOptionArgs;
    }).toThrow(/n has a condition \(validateIf\) of its own/);
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class StatefulPatternArgs {
        @Field() @ValueOnly.Matches(/^a/g) s!: string;
      }
      return StatefulPatternArgs;
    }).toThrow(/g or y flag/);
    // Sticky (y): each test starts at lastIndex, where the last one that matched ended.
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class StickyPatternArgs {
        @Field() @ValueOnly.Matches(/^a/y) s!: string;
      }
      return StickyPatternArgs;
    }).toThrow(/s's pattern keeps state \(its g or y flag\)/);
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class TransformedArgs {
        @Field() @Transform(({ value }) => `${value}${Date.now()}`) @IsString() s!: string;
      }
      return TransformedArgs;
    }).toThrow(/s has a transform not made with valueOnlyTransform/);
    // A value the class sets itself is in every instance the checks make, whatever the arguments: kept, it would be the first one's.
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class DefaultedArgs {
        @Field(() => Int, { nullable: true }) @ValueOnly.IsOptional() @ValueOnly.IsInt() at?: number = Date.now();
      }
      return DefaultedArgs;
    }).toThrow(/DefaultedArgs cannot be @CacheableArgs\(\): at is set by the class itself/);
    // A parent's check counts: marking a subclass does not hide it.
    @ArgsType()
    class ClockedParent {
      @Field(() => Int) @Clocked() at!: number;
    }
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class ChildArgs extends ClockedParent {}
      return ChildArgs;
    }).toThrow(/beforeNow/);
  });

  it('refuses a check that only bears the name of a value-only one', () => {
    const ClockedInt = () => ValidateBy({ name: 'isInt', validator: { validate: (v: unknown) => Number.isInteger(v) && (v as number) < Date.now() } });
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class ImpostorArgs {
        @Field(() => Int) @ClockedInt() at!: number;
      }
      return ImpostorArgs;
    }).toThrow(/ImpostorArgs cannot be @CacheableArgs\(\): at's check isInt/);
    // class-validator's own, too: its list is the caller's, which may change after the class is marked (ValueOnly.IsIn copies it).
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class ListArgs {
        @Field() @IsIn(['a', 'b']) kind!: string;
      }
      return ListArgs;
    }).toThrow(/ListArgs cannot be @CacheableArgs\(\): kind's check isIn is not declared to depend on the value alone/);
  });

  it('keeps nothing of an argument without checks, whatever its transform or conversion: the pipe drops it (whitelist)', async () => {
    // The mark looks at the transforms of checked arguments only; one without checks is safe because the pipe drops it.
    let calls = 0;
    @CacheableArgs()
    @ArgsType()
    class UncheckedArgs {
      @Field(() => Int, { nullable: true }) @ValueOnly.IsOptional() @ValueOnly.IsInt() first?: number;
      @Field(() => Int, { nullable: true }) @Transform(({ value }) => (calls++ % 2 ? value : Date.now())) stamped?: number;
      @Field(() => Int, { nullable: true }) @Type(() => (calls++ % 2 ? Number : String)) typed?: number;
      @Field(() => Int, { nullable: true }) bare?: number;
    }
    const pipe = inputValidationPipe();
    const sent = { first: 1, stamped: 5, typed: 5, bare: 7 };
    const kept = [];
    for (let i = 0; i < 3; i++) kept.push({ ...((await pipe.transform(sent, args(UncheckedArgs))) as object) });
    expect(kept).toEqual([{ first: 1 }, { first: 1 }, { first: 1 }]);
    expect({ ...((await inputValidationPipe().transform(sent, args(UncheckedArgs))) as object) }).toEqual({ first: 1 });
  });

  it('answers as a fresh pipe would after a list or an enum its checks name changes', async () => {
    const kinds = ['a', 'b'];
    const Sort: Record<string, string> = { A: 'a', B: 'b' };
    @CacheableArgs()
    @ArgsType()
    class KindArgs {
      @Field({ nullable: true }) @ValueOnly.IsOptional() @ValueOnly.IsIn(kinds) kind?: string;
      @Field({ nullable: true }) @ValueOnly.IsOptional() @ValueOnly.IsEnum(Sort) sort?: string;
    }
    const pipe = inputValidationPipe();
    const sent = [{ kind: 'b' }, { sort: 'b' }];
    for (const value of sent) await pipe.transform(value, args(KindArgs));
    kinds.pop();
    delete Sort.B;
    for (const value of sent) {
      const fresh = await inputValidationPipe().transform(value, args(KindArgs)).then(() => 'passed', () => 'refused');
      expect(await pipe.transform(value, args(KindArgs)).then(() => 'passed', () => 'refused')).toBe(fresh);
    }
  });

  it('refuses to mark a class whose conversions (@Type) may answer otherwise for the same value', () => {
    let calls = 0;
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class TypedArgs {
        @Field(() => Int) @Type(() => (calls++ % 2 ? String : Number)) @ValueOnly.IsInt() n!: number;
      }
      return TypedArgs;
    }).toThrow(/TypedArgs cannot be @CacheableArgs\(\): n has a conversion \(@Type\) outside ValidateNested/);
  });

  it('refuses to mark a class whose accessors may answer otherwise for the same value', () => {
    expect(() => {
      @CacheableArgs()
      @ArgsType()
      class AccessorArgs {
        @Field(() => Int) @ValueOnly.IsInt() @ValueOnly.Max(100)
        get n(): number {
          return Date.now() % 2 ? 1 : 1000;
        }
        set n(_: number) {}
      }
      return AccessorArgs;
    }).toThrow(/AccessorArgs cannot be @CacheableArgs\(\): n is an accessor/);
  });

  it("checks with ValueOnly's decorators as with class-validator's: the same messages, options (each, groups, always, message) and order", () => {
    enum Sort { A = 'a', B = 'b' }
    enum Numbered { X, Y }
    type Checks = Record<'IsOptional' | 'IsDefined' | 'IsInt' | 'IsNumber' | 'IsBoolean' | 'IsString' | 'IsUUID' | 'Min' | 'Max' | 'MinLength' | 'MaxLength' | 'IsIn' | 'IsEnum' | 'Matches', (...a: never[]) => PropertyDecorator>;
    const withChecks = (d: Checks) => {
      class Checked {
        @d.IsOptional() @d.IsInt() @d.Min(1 as never) @d.Max(100 as never, { message: 'too big' } as never) n?: unknown;
        @d.IsString({ each: true } as never) @d.MaxLength(3 as never, { each: true } as never) @d.MinLength(2 as never, { groups: ['g'] } as never) s?: unknown;
        @d.IsIn(['a', 'b'] as never) @d.IsEnum(Sort as never, { each: true } as never) @d.Matches(/^a/i as never, { message: 'must be a tag' } as never) k?: unknown;
        @d.IsOptional() @d.IsEnum(Numbered as never) @d.IsNumber({ allowNaN: false } as never, { always: true } as never) e?: unknown;
        @d.IsOptional() @d.IsUUID('4' as never) @d.IsBoolean({ groups: ['g'] } as never) u?: unknown;
        @d.IsDefined({ message: '$property is needed' } as never) v?: unknown;
      }
      return Checked;
    };
    const [Theirs, Ours] = [withChecks(cv as unknown as Checks), withChecks(ValueOnly as unknown as Checks)];
    const errors = (cls: new () => object, v: unknown, groups?: string[]) =>
      cv.validateSync(plainToInstance(cls, { n: v, s: v, k: v, e: v, u: v, v }), groups ? { groups } : {}).map((e) => [e.property, e.constraints]);
    for (const v of [undefined, null, 0, 5, 101, 1.5, 'a', 'A', 'b', 'abcd', ['a', 'bb'], ['abcd'], [1], '9f1c4b1e-0f6e-4c1a-8b1a-2b3c4d5e6f70', true, NaN]) {
      for (const groups of [undefined, ['g'], ['h']]) expect([v, groups, errors(Ours, v, groups)]).toEqual([v, groups, errors(Theirs, v, groups)]);
    }
  });

  it('marks the page arguments, whose checks pass the rule', () => {
    expect(new ValidatedArgs().keyOf(PageArgs, { first: 50 })).toBeDefined();
  });
});
