/**
 * What an anonymised account's import link (`import_links`, kind `user`) keeps in place of its
 * digest: the digest was a hash of the person's profile as a dump told it (name, about, place,
 * site), so it goes with the profile. Not a digest of any kind (`raw1:`), so an import takes the
 * user as unchanged in the dump, and it never writes a digest over it: the account stays
 * anonymised whatever a later run of the dump says.
 */
export const ERASED_IMPORT_DIGEST = 'erased';
