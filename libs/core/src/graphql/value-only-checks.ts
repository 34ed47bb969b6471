import * as cv from 'class-validator';
import type { ValidationOptions } from 'class-validator';
import { valueOnlyCheck } from './validated-args';
import { HasVisibleText, IsPlainText, IsSingleLine, MaxCharacters, MinCharacters } from './validators';

/**
 * The checks a class marked `@CacheableArgs()` may hold, each declared to answer from the value
 * alone (`valueOnlyCheck`): class-validator's type and bound checks, and ours in validators.ts.
 * A list, an enum or a pattern is copied where the class is defined, so changing the original
 * afterwards changes no answer, kept or fresh: `@ValueOnly.IsOptional() @ValueOnly.IsInt()`.
 */
export const ValueOnly = {
  IsOptional: valueOnlyCheck(cv.IsOptional),
  IsDefined: valueOnlyCheck(cv.IsDefined),
  IsInt: valueOnlyCheck(cv.IsInt),
  IsNumber: valueOnlyCheck(cv.IsNumber),
  IsBoolean: valueOnlyCheck(cv.IsBoolean),
  IsString: valueOnlyCheck(cv.IsString),
  IsUUID: valueOnlyCheck(cv.IsUUID),
  Min: valueOnlyCheck(cv.Min),
  Max: valueOnlyCheck(cv.Max),
  MinLength: valueOnlyCheck(cv.MinLength),
  MaxLength: valueOnlyCheck(cv.MaxLength),
  IsIn: valueOnlyCheck((values: readonly unknown[], options?: ValidationOptions) => cv.IsIn(Object.freeze([...values]), options)),
  IsEnum: valueOnlyCheck((entity: object, options?: ValidationOptions) => cv.IsEnum(Object.freeze({ ...entity }), options)),
  /** A pattern without the g or y flag (CacheableArgs refuses those: they keep state between tests). */
  Matches: valueOnlyCheck((pattern: RegExp, options?: ValidationOptions) => cv.Matches(new RegExp(pattern.source, pattern.flags), options)),
  HasVisibleText: valueOnlyCheck(HasVisibleText),
  MaxCharacters: valueOnlyCheck(MaxCharacters),
  MinCharacters: valueOnlyCheck(MinCharacters),
  IsSingleLine: valueOnlyCheck(IsSingleLine),
  IsPlainText: valueOnlyCheck(IsPlainText),
};
