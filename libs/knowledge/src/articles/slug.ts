/** Longest slug kept from a title (the rest is cut at a word boundary when there is one). */
export const SLUG_MAX = 80;

/**
 * A URL slug from a title: lower-case ASCII letters, digits and single dashes. Accents are
 * folded (é → e); other scripts fall back to `article`, which the caller makes unique.
 */
export function slugify(title: string): string {
  const folded = title.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  let slug = folded.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (slug.length > SLUG_MAX) {
    const cut = slug.slice(0, SLUG_MAX);
    const dash = cut.lastIndexOf('-');
    slug = (dash > SLUG_MAX / 2 ? cut.slice(0, dash) : cut).replace(/-+$/, '');
  }
  return slug || 'article';
}

/** `base`, else `base-2`, `base-3`… : the first one not in `taken`. */
export function firstFreeSlug(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}
