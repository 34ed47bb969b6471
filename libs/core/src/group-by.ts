/** Groups rows by a key, in the rows' order, keeping each row (or what `value` takes of it). */
export function groupBy<R, K, V = R>(rows: Iterable<R>, key: (r: R) => K, value: (r: R) => V = (r) => r as unknown as V): Map<K, V[]> {
  const out = new Map<K, V[]>();
  for (const r of rows) {
    const k = key(r);
    const group = out.get(k);
    if (group) group.push(value(r));
    else out.set(k, [value(r)]);
  }
  return out;
}
