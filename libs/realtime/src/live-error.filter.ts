import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import { newId } from '../../core/src/ids';

/**
 * A live event whose handler failed is still acknowledged, with `INTERNAL` and a correlation
 * id, as GraphQL answers its failures: otherwise the client waits for an ack that never comes,
 * and Nest's default filter would echo the payload back. The error goes to the log (its
 * serializer keeps statement parameters out), never to the client.
 */
@Catch()
export class LiveErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('LiveGateway');

  catch(exception: unknown, host: ArgumentsHost): void {
    const correlationId = newId();
    this.log.error({ err: exception, correlationId, event: host.switchToWs().getPattern() }, 'unhandled error in a live event');
    // The handler's arguments: the socket, the payload, then the client's ack callback if it sent one.
    const ack = host.getArgs().slice(1).find((arg): arg is (response: unknown) => void => typeof arg === 'function');
    ack?.({ ok: false, code: 'INTERNAL', correlationId });
  }
}
