/** The webhook receiver's own failures: each answered 500, so that TikTok delivers again. */
import { RefresherError } from '../shared/errors.js';

/** Something that must succeed before TikTok is answered 200 did not: TikTok will retry. */
export class NotificationNotRecordedError extends RefresherError {
  override readonly retryable = true;
}
