import * as z from 'zod/mini';
import { InvalidEventError } from '../shared/errors.js';
import { describeIssue } from '../shared/token.js';

/** What one invocation is asked to do. */
export interface RunRequest {
  readonly trigger: 'schedule' | 'manual';
  /** Refresh even tokens that are not due. */
  readonly force: boolean;
  /** Decide and report, but call neither TikTok nor any write. */
  readonly dryRun: boolean;
  /** Only these shops (secret names or ARNs); every configured shop when absent. */
  readonly shops?: readonly string[];
}

const ACCEPTED =
  'accepted fields: force (boolean), shops (array of secret names or ARNs), dryRun (boolean)';

const Options = z.strictObject({
  force: z.optional(z.boolean()),
  dryRun: z.optional(z.boolean()),
  shops: z.optional(
    z
      .array(z.string().check(z.minLength(1, 'must not be empty')))
      .check(z.minLength(1, 'must name at least one shop')),
  ),
});

/** An EventBridge rule's or EventBridge Scheduler's envelope; `detail` may carry the options. */
const ScheduledEnvelope = z.looseObject({
  source: z.string(),
  'detail-type': z.literal('Scheduled Event', 'must be "Scheduled Event"'),
  detail: z.optional(Options),
});

/**
 * Accepts a scheduled event or what a person types in the console: `{}`, `{"force": true}`,
 * `{"shops": [...]}`, `{"dryRun": true}`, in any combination. Anything else is refused before
 * any call is made, naming the field that is wrong.
 */
export function parseRunRequest(event: unknown): RunRequest {
  if (event === undefined || event === null)
    return { trigger: 'manual', force: false, dryRun: false };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidEventError(`invalid event: must be a JSON object; ${ACCEPTED}`);
  }
  const isEnvelope = 'detail-type' in event || 'source' in event;
  const result = isEnvelope ? ScheduledEnvelope.safeParse(event) : Options.safeParse(event);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeIssue(issue, event));
    throw new InvalidEventError(`invalid event: ${problems.join('; ')}; ${ACCEPTED}`);
  }
  const options = 'detail-type' in result.data ? (result.data.detail ?? {}) : result.data;
  return {
    trigger: isEnvelope ? 'schedule' : 'manual',
    force: options.force ?? false,
    dryRun: options.dryRun ?? false,
    ...(options.shops === undefined ? {} : { shops: [...new Set(options.shops)] }),
  };
}
