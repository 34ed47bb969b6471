import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { AppError, ErrorCode, FieldError } from '../errors';
import { Logger } from '@nestjs/common';
import { newId } from '../ids';
import type { ApolloServerPlugin } from '@apollo/server';
import { ValidatedArgs } from './validated-args';
import { lowerCaseInputIds } from './input-ids';

/** The id of the request each error arose in (see `requestIdsOfErrors`). */
const requestOfError = new WeakMap<object, string>();

/**
 * Remembers the request id (`x-request-id`, as the HTTP log has it) of every error a
 * request ran into, before Apollo formats them: `formatError` has no request context, and
 * an INTERNAL error's correlation id is then the id the client and the logs already share.
 */
export function requestIdsOfErrors(): ApolloServerPlugin<{ requestId?: string }> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          if (!contextValue?.requestId) return;
          for (const e of errors) requestOfError.set(e, contextValue.requestId);
        },
      };
    },
  };
}

/** The request id `requestIdsOfErrors` recorded for an error, if any. */
export function requestIdOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? requestOfError.get(error) : undefined;
}

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    for (const message of Object.values(e.constraints ?? {})) out.push({ field, message });
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/**
 * Validates what clients send (`@Args()`), and nothing else: parents and contexts
 * are our own objects, and validating each parent of each field would cost more
 * than the rest of the request.
 *
 * Flat arguments (primitives only, as a page's `first`/`after`) of a class marked
 * `@CacheableArgs()` that passed are kept (ValidatedArgs, an LRU), by class and values: the
 * same arguments again (every topic page asks `posts(first: 50)`) get a fresh instance of what
 * the checks made of them, without class-transformer and class-validator, which were about 4% of
 * the API's CPU on the benchmark's topic page. The mark refuses a class whose checks or
 * transforms are not declared to depend on the value alone (ValueOnly, valueOnlyTransform), so
 * the outcome cannot differ; every other class, refusals and nested inputs are checked each time.
 *
 * Every `@IsUUID` value that passed is handed on in lower case (lowerCaseInputIds), kept or not.
 */
class InputValidationPipe extends ValidationPipe {
  private readonly validated = new ValidatedArgs();

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const kind = metadata.type as unknown;
    // GraphQL's `@Args()` arrive as 'body': the pipes consumer names @nestjs/graphql's ARGS (3) by
    // the HTTP parameter of the same number (RouteParamtypes.BODY).
    if (kind !== 'body' && kind !== 'query') return value;
    const key = kind === 'body' ? this.validated.keyOf(metadata.metatype, value) : undefined;
    if (key !== undefined) {
      const kept = this.validated.get(key);
      if (kept) return kept;
    }
    const result: unknown = await super.transform(value, metadata);
    // Before it is kept: a kept copy hands its ids on in lower case too.
    lowerCaseInputIds(result);
    if (key !== undefined) this.validated.keep(key, result);
    return result;
  }
}

/** class-validator on every input; failures become BAD_USER_INPUT with per-field messages. */
export function inputValidationPipe(): ValidationPipe {
  return new InputValidationPipe({
    transform: true,
    whitelist: true,
    forbidUnknownValues: false,
    validateCustomDecorators: false,
    exceptionFactory: (errors) => AppError.badInput(flatten(errors)),
  });
}

const log = new Logger('GraphQL');

/**
 * An error about the request itself (e.g. a variable of the wrong type): raised by
 * graphql-js before any resolver ran, so it has no path and wraps nothing.
 */
function isRequestError(error: unknown): boolean {
  const e = error as Partial<GraphQLError> | undefined;
  return !!e && !e.path && typeof e.message === 'string' && /^Variable "\$/.test(e.message);
}

/**
 * What a request-level error (GraphQL validation, variable coercion, limits) is about, for
 * `extensions.fields`: the path in a bad variable's value it failed at (inside the variable,
 * as the input's own checks name fields), else the variable, the argument,
 * input field or selected field it names, else '' (the request as a whole).
 */
export function fieldOfRequestError(message: string): string {
  const variable = /^Variable "\$(\w+)" got invalid value/.exec(message);
  if (variable) {
    // `... at "i.filter"; Field "x" of required type ...`: the path, then the missing field.
    const head = message.split('; ')[0];
    const at = / at "([^"]+)"$/.exec(head)?.[1] ?? variable[1];
    const missing = /; Field "(\w+)" of required type/.exec(message)?.[1];
    const path = missing ? `${at}.${missing}` : at;
    // Named inside the input, as the input's own checks name them (`kind`, not `input.kind`).
    return path.includes('.') ? path.slice(path.indexOf('.') + 1) : path;
  }
  const patterns = [
    /^Variable "\$(\w+)"/,
    /^Field "[\w.]+" argument "(\w+)"/,
    /^Field "\w+\.(\w+)" of required type/,
    /^Argument "(\w+)"/,
    /^Unknown argument "(\w+)"/,
    /^Cannot query field "(\w+)"/,
    /^Field "(\w+)" is not defined by type/,
  ];
  for (const p of patterns) {
    const m = p.exec(message);
    if (m) return m[1];
  }
  return '';
}

function namedFields(formatted: GraphQLFormattedError): FieldError[] | undefined {
  const fields = formatted.extensions?.fields;
  return Array.isArray(fields) && fields.every((f) => typeof f?.field === 'string' && typeof f?.message === 'string') ? (fields as FieldError[]) : undefined;
}

function findAppError(err: unknown): AppError | undefined {
  let cur = err as { originalError?: unknown } | undefined;
  for (let i = 0; i < 5 && cur; i++) {
    if (cur instanceof AppError) return cur;
    cur = cur.originalError as typeof cur;
  }
  return undefined;
}

/**
 * Maps every error to the codes in API.md. Unknown errors never show their
 * message or stack: the client gets INTERNAL with a correlation id, the log the rest.
 */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown, requestId?: string): GraphQLFormattedError {
  const app = findAppError(error);
  if (app) {
    return {
      message: app.message,
      path: formatted.path,
      locations: formatted.locations,
      extensions: {
        ...app.details.extensions,
        code: app.code,
        ...(app.details.fields ? { fields: app.details.fields } : {}),
        ...(app.details.retryAfterSeconds !== undefined ? { retryAfterSeconds: app.details.retryAfterSeconds } : {}),
      },
    };
  }
  const code = formatted.extensions?.code as string | undefined;
  // Errors the GraphQL layer raises about the request itself (syntax, unknown fields,
  // wrong argument types, depth/complexity) are the client's to fix.
  if (
    code === 'GRAPHQL_PARSE_FAILED' ||
    code === 'GRAPHQL_VALIDATION_FAILED' ||
    code === 'BAD_USER_INPUT' ||
    code === 'BAD_REQUEST' ||
    code === 'PERSISTED_QUERY_NOT_SUPPORTED' ||
    code === 'OPERATION_RESOLUTION_FAILURE' ||
    isRequestError(error)
  ) {
    return {
      message: formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      // A plugin that knows the place names it (inputTextPlugin: where in the variables).
      extensions: { code: ErrorCode.BAD_USER_INPUT, fields: namedFields(formatted) ?? [{ field: fieldOfRequestError(formatted.message), message: formatted.message }] },
    };
  }
  const correlationId = requestId ?? newId();
  log.error({ err: error, correlationId, path: formatted.path }, 'unhandled error in a GraphQL request');
  return {
    message: 'Something went wrong on our side',
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL, correlationId },
  };
}
