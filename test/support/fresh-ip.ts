let issued = 0;

/**
 * A client address no earlier request of this test process used, so per-IP rate limits
 * start afresh for each caller that asks for one.
 */
export function freshIp(): string {
  issued++;
  return `10.${Math.floor(issued / 62_500) % 250}.${Math.floor(issued / 250) % 250}.${issued % 250}`;
}
