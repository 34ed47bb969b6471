import { ArgsType, Field, InputType, Int } from '@nestjs/graphql';
import { Transform, Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateBy, ValidateNested } from 'class-validator';
import { GraphQLError } from 'graphql';
import { AppError, ErrorCode } from '../errors';
import { formatGraphQLError, inputValidationPipe, VALIDATED_ARGS_MAX } from './errors';
import { trim } from './transforms';

const format = (err: unknown) => formatGraphQLError({ message: 'raw', path: ['x'] }, new GraphQLError('raw', { originalError: err as Error }), 'req-1');

describe('GraphQL error formatting', () => {
  it('passes a feature’s extensions through beside the code, fields and retry time', () => {
    const err = new AppError(ErrorCode.FORBIDDEN, 'This account is banned', { extensions: { sanction: { kind: 'BAN' }, appealToken: 't' } });
    expect(format(err)).toEqual({ message: 'This account is banned', path: ['x'], locations: undefined, extensions: { code: 'FORBIDDEN', sanction: { kind: 'BAN' }, appealToken: 't' } });
    expect(format(AppError.rateLimited(2.5)).extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 3 });
    expect(format(AppError.badField('title', 'is too short')).extensions).toEqual({ code: 'BAD_USER_INPUT', fields: [{ field: 'title', message: 'is too short' }] });
  });

  it('never lets a feature’s extensions replace the code or the fields', () => {
    expect(format(new AppError(ErrorCode.NOT_FOUND, 'Gone', { extensions: { code: 'INTERNAL' } })).extensions).toEqual({ code: 'NOT_FOUND' });
    const fields = [{ field: 'title', message: 'is too short' }];
    expect(format(new AppError(ErrorCode.BAD_USER_INPUT, 'Invalid input', { fields, extensions: { fields: 'x' } })).extensions).toEqual({ code: 'BAD_USER_INPUT', fields });
  });
});

describe('input validation of flat arguments', () => {
  let checks = 0;
  const Counted = () => ValidateBy({ name: 'counted', validator: { validate: () => (checks++, true) } });

  @ArgsType()
  class PageLikeArgs {
    @Field(() => Int, { nullable: true }) @IsOptional() @IsInt() @Min(1) @Max(100) @Counted() first?: number;
    @Field(() => String, { nullable: true }) @IsOptional() @Transform(trim) @IsString() @MaxLength(10) after?: string;
  }

  @InputType()
  class Inner {
    @Field() @IsString() @Counted() text!: string;
  }
  @ArgsType()
  class NestedArgs {
    @Field(() => Inner) @ValidateNested() @Type(() => Inner) input!: Inner;
  }

  // As Nest hands a resolver's @Args() to the pipe.
  const ARGS = { type: 'body' as const, metatype: PageLikeArgs, data: undefined };
  const NESTED = { type: 'body' as const, metatype: NestedArgs, data: undefined };
  beforeEach(() => (checks = 0));

  it('checks the same flat arguments once, and hands each call its own instance of what the checks made', async () => {
    const pipe = inputValidationPipe();
    const first = (await pipe.transform({ first: 50, after: ' x ' }, ARGS)) as PageLikeArgs;
    const again = (await pipe.transform({ first: 50, after: ' x ' }, ARGS)) as PageLikeArgs;
    expect(checks).toBe(1);
    expect(again).toBeInstanceOf(PageLikeArgs);
    expect({ ...again }).toEqual({ first: 50, after: 'x' });
    expect(again).not.toBe(first);
    first.first = 7;
    again.after = 'changed';
    expect({ ...((await pipe.transform({ first: 50, after: ' x ' }, ARGS)) as PageLikeArgs) }).toEqual({ first: 50, after: 'x' });
    expect(checks).toBe(1);
  });

  it('still refuses arguments that fail, after the same class passed, and every time', async () => {
    const pipe = inputValidationPipe();
    await pipe.transform({ first: 50 }, ARGS);
    for (let i = 0; i < 2; i++) {
      await expect(pipe.transform({ first: 500 }, ARGS)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { fields: [{ field: 'first' }] } });
      await expect(pipe.transform({ first: 50, after: 'far too long a cursor' }, ARGS)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
  });

  it('checks nested inputs every time', async () => {
    const pipe = inputValidationPipe();
    const a = (await pipe.transform({ input: { text: 'hi' } }, NESTED)) as NestedArgs;
    const b = (await pipe.transform({ input: { text: 'hi' } }, NESTED)) as NestedArgs;
    expect(checks).toBe(2);
    expect(b.input).toBeInstanceOf(Inner);
    expect(b.input).not.toBe(a.input);
  });

  it('keeps at most VALIDATED_ARGS_MAX arguments, then starts again', async () => {
    const pipe = inputValidationPipe();
    for (let i = 0; i <= VALIDATED_ARGS_MAX; i++) await pipe.transform({ first: 1 + (i % 100), after: String(i) }, ARGS);
    checks = 0;
    await pipe.transform({ first: 1, after: '0' }, ARGS);
    expect(checks).toBe(1);
  });
});
