import { InitialSchema1763888400000 } from './1763888400000-initial-schema';
import { ModerationAuditAndSanctions1763899200000 } from './1763899200000-moderation-audit-and-sanctions';
import { ReportsAndReviewQueue1763902800000 } from './1763902800000-reports-and-review-queue';
import { WatchedWords1763906400000 } from './1763906400000-watched-words';
import { TrustLevels1763910000000 } from './1763910000000-trust-levels';
import { AppealsAndEscalation1763913600000 } from './1763913600000-appeals-and-escalation';
import { SpamModels1763917200000 } from './1763917200000-spam-models';
import { NotificationsAndWatching1763920800000 } from './1763920800000-notifications-and-watching';
import { EmailPreferences1763924400000 } from './1763924400000-email-preferences';
import { Search1763928000000 } from './1763928000000-search';
import { ImportLinks1763931600000 } from './1763931600000-import-links';
import { Ideas1763938800000 } from './1763938800000-ideas';
import { Knowledge1763942400000 } from './1763942400000-knowledge';
import { PostDeletedFrom1764633600000 } from './1764633600000-post-deleted-from';
import { RateTokens1764720000000 } from './1764720000000-rate-tokens';
import { SearchWithoutAuthorHandle1764723600000 } from './1764723600000-search-without-author-handle';
import { RetireUnsubscribeKey1764727200000 } from './1764727200000-retire-unsubscribe-key';
import { ModerationLogEntryId1764730800000 } from './1764730800000-moderation-log-entry-id';
import { SearchTermsPerSpace1764734400000 } from './1764734400000-search-terms-per-space';
import { ModerationLogHead1764738000000 } from './1764738000000-moderation-log-head';
import { SanctionExpiry1764741600000 } from './1764741600000-sanction-expiry';
import { PostPendingEdits1764745200000 } from './1764745200000-post-pending-edits';
import { NotificationsCreatedIndex1764748800000 } from './1764748800000-notifications-created-index';
import { PendingEditVersion1764752400000 } from './1764752400000-pending-edit-version';
import { SanctionTriggeredBy1764756000000 } from './1764756000000-sanction-triggered-by';
import { PostRevisionHeadings1764759600000 } from './1764759600000-post-revision-headings';

/** Every migration, in order. Listed explicitly so the runner never depends on file globs. */
export const migrations = [InitialSchema1763888400000, ModerationAuditAndSanctions1763899200000, ReportsAndReviewQueue1763902800000, WatchedWords1763906400000, TrustLevels1763910000000, AppealsAndEscalation1763913600000, SpamModels1763917200000, NotificationsAndWatching1763920800000, EmailPreferences1763924400000, Search1763928000000, ImportLinks1763931600000, Ideas1763938800000, Knowledge1763942400000, PostDeletedFrom1764633600000, RateTokens1764720000000, SearchWithoutAuthorHandle1764723600000, RetireUnsubscribeKey1764727200000, ModerationLogEntryId1764730800000, SearchTermsPerSpace1764734400000, ModerationLogHead1764738000000, SanctionExpiry1764741600000, PostPendingEdits1764745200000, NotificationsCreatedIndex1764748800000, PendingEditVersion1764752400000, SanctionTriggeredBy1764756000000, PostRevisionHeadings1764759600000];
