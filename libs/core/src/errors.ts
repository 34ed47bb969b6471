import { IntrinsicException } from '@nestjs/common';
/** Error codes clients rely on (../shared/design/API.md). */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  RATE_LIMITED = 'RATE_LIMITED',
  CONFLICT = 'CONFLICT',
  INTERNAL = 'INTERNAL',
}

export interface FieldError {
  field: string;
  message: string;
}

/** What an error tells the client besides its code and message, as GraphQL error extensions. */
export interface ErrorDetails {
  /** BAD_USER_INPUT: what is wrong with which input field. */
  fields?: FieldError[];
  /** RATE_LIMITED: when to try again. */
  retryAfterSeconds?: number;
  /** Anything a feature adds for its clients (a refused sign-in's sanction, say); never `code`. */
  extensions?: Record<string, unknown>;
}

/**
 * The one error type services throw. The GraphQL error formatter maps it to
 * `extensions.code`; anything else becomes INTERNAL with a correlation id.
 * It is an IntrinsicException, which Nest's exception handler does not log: a refused
 * request is the client's answer, not a server error, and its details may hold what a log
 * must not (a refused sign-in's appeal token).
 */
export class AppError extends IntrinsicException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  static notFound(what = 'Not found'): AppError {
    return new AppError(ErrorCode.NOT_FOUND, what);
  }
  static unauthenticated(message = 'You need to sign in'): AppError {
    return new AppError(ErrorCode.UNAUTHENTICATED, message);
  }
  static forbidden(message = 'You may not do that'): AppError {
    return new AppError(ErrorCode.FORBIDDEN, message);
  }
  static conflict(message: string): AppError {
    return new AppError(ErrorCode.CONFLICT, message);
  }
  static badInput(fields: FieldError[], message = 'Invalid input'): AppError {
    return new AppError(ErrorCode.BAD_USER_INPUT, message, { fields });
  }
  static badField(field: string, message: string): AppError {
    return AppError.badInput([{ field, message }], message);
  }
  static rateLimited(retryAfterSeconds: number, message = 'Too many attempts, try again later'): AppError {
    return new AppError(ErrorCode.RATE_LIMITED, message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
  }
}

/**
 * A root query's answer for one thing: the value, or NOT_FOUND when it does not exist or the
 * viewer may not see it (API.md: exactly as if it did not exist). The field stays nullable,
 * so the response's data says null beside the error.
 */
export function found<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw AppError.notFound(`${what} not found`);
  return value;
}
