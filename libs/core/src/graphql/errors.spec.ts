import { GraphQLError } from 'graphql';
import { AppError, ErrorCode } from '../errors';
import { formatGraphQLError } from './errors';

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
