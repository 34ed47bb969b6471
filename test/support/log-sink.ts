import { Writable } from 'node:stream';

/** A stream for `bootTestApp`'s log: every line the application writes lands in `lines`. */
export function logSink(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, sink };
}
