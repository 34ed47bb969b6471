import type { Request, Response } from 'express';
import { Viewer } from './viewer';

/** The GraphQL context of one request. */
export interface GqlContext {
  req: Request;
  res: Response;
  viewer: Viewer;
  requestId: string;
}
