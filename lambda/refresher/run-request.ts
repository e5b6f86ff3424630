// What one invocation is asked to do, read from its event: scheduled or typed by a person in the
// console, with force, dry run and a choice of shops.
import * as z from 'zod/mini';
import { InvalidEventError } from '../shared/errors.js';
import { describeIssue, valueAt } from '../shared/token.js';

/** What one invocation is asked to do. */
export interface RunRequest {
  readonly trigger: 'schedule' | 'manual';
  /** Refresh even tokens that are not due. */
  readonly force: boolean;
  /** Decide and report, but call neither TikTok nor any write. */
  readonly dryRun: boolean;
  /** Only these shops (secret names or ARNs); every configured shop when absent. */
  readonly shops?: readonly string[];
  /**
   * One invocation of a run the run state machine spreads over several: a shop left for lack of
   * time goes to the next invocation instead of failing this one.
   */
  readonly chained?: boolean;
}

// `chained` is the run state machine's, not a person's: not offered here.
const ACCEPTED =
  'accepted fields: force (boolean), shops (array of secret names or ARNs), dryRun (boolean)';
const ENVELOPE =
  'a scheduled event is a schedule\'s envelope (source "aws.scheduler" or "aws.events", detail-type "Scheduled Event") with any options in its detail';
/** Problems one message names; more are counted. */
const PROBLEMS_NAMED = 5;
const MAX_PROBLEM_LENGTH = 200;

const Shops = z
  .array(z.string().check(z.minLength(1, 'must not be empty')))
  .check(z.minLength(1, 'must name at least one shop'));

/**
 * `shops` is checked on its own (`Shops`): zod hands an object's field problems up with one
 * spread call, which overflows the stack at ~120,000 problems (a list of wrong-typed shops).
 */
const Options = z.strictObject({
  force: z.optional(z.boolean()),
  dryRun: z.optional(z.boolean()),
  shops: z.optional(z.unknown()),
});

/** A schedule's options: `chained` is the run state machine's (CHAINED_EVENT), not a person's. */
const ScheduledOptions = z.strictObject({ ...Options.shape, chained: z.optional(z.boolean()) });

/**
 * What a schedule delivers, and nothing else. The product's own schedule (EventBridge Scheduler)
 * sends SCHEDULED_EVENT, `{"source":"aws.scheduler","detail-type":"Scheduled Event","detail":{}}`;
 * an EventBridge rule with a schedule expression sends its envelope, source `aws.events` with
 * version, id, account, time, region, resources and an empty detail. Both are accepted with the
 * options in `detail`; a field beside them (say a top-level `dryRun`) or another source is
 * refused, because ignoring it would run a real refresh of every shop.
 */
const ScheduledEnvelope = z.strictObject({
  source: z.enum(['aws.scheduler', 'aws.events'], 'must be "aws.scheduler" or "aws.events"'),
  'detail-type': z.literal('Scheduled Event', 'must be "Scheduled Event"'),
  detail: z.optional(ScheduledOptions),
  version: z.optional(z.string()),
  id: z.optional(z.string()),
  account: z.optional(z.string()),
  time: z.optional(z.string()),
  region: z.optional(z.string()),
  resources: z.optional(z.array(z.string())),
});

/**
 * Accepts a scheduled event or what a person types in the console: `{}`, `{"force": true}`,
 * `{"shops": [...]}`, `{"dryRun": true}`, in any combination. Anything else is refused before
 * any call is made, naming the fields that are wrong: no option is ever silently ignored.
 */
export function parseRunRequest(event: unknown): RunRequest {
  if (event === undefined || event === null)
    return { trigger: 'manual', force: false, dryRun: false };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidEventError(`invalid event: must be a JSON object; ${ACCEPTED}`);
  }
  const isEnvelope = 'detail-type' in event || 'source' in event;
  const result = isEnvelope ? ScheduledEnvelope.safeParse(event) : Options.safeParse(event);
  const shopsPath = isEnvelope ? ['detail', 'shops'] : ['shops'];
  const shopsInput = valueAt(event, shopsPath);
  const shops = shopsInput === undefined ? undefined : Shops.safeParse(shopsInput);
  const issues = (result.success ? [] : result.error.issues).concat(
    shops?.success === false
      ? shops.error.issues.map((issue) => ({ ...issue, path: [...shopsPath, ...issue.path] }))
      : [],
  );
  if (!result.success || shops?.success === false) {
    const problems = describeProblems(issues, event);
    throw new InvalidEventError(
      `invalid event: ${problems}; ${ACCEPTED}${isEnvelope ? `; ${ENVELOPE}` : ''}`,
    );
  }
  const options: z.infer<typeof ScheduledOptions> =
    'detail-type' in result.data ? (result.data.detail ?? {}) : result.data;
  return {
    trigger: isEnvelope ? 'schedule' : 'manual',
    force: options.force ?? false,
    dryRun: options.dryRun ?? false,
    ...(options.chained === true ? { chained: true } : {}),
    ...(shops === undefined ? {} : { shops: [...new Set(shops.data)] }),
  };
}

/** The first few problems, each of bounded length, and how many more there are. */
function describeProblems(issues: readonly z.core.$ZodIssue[], event: unknown): string {
  const named = issues.slice(0, PROBLEMS_NAMED).map((issue) => {
    const text =
      issue.code === 'unrecognized_keys' && issue.keys.length > PROBLEMS_NAMED
        ? `${describeIssue({ ...issue, keys: issue.keys.slice(0, PROBLEMS_NAMED) }, event)} and ${(issue.keys.length - PROBLEMS_NAMED).toLocaleString('en-US')} more`
        : describeIssue(issue, event);
    return text.length > MAX_PROBLEM_LENGTH ? `${text.slice(0, MAX_PROBLEM_LENGTH)}…` : text;
  });
  const more = issues.length - named.length;
  return more > 0
    ? `${named.join('; ')}; and ${more.toLocaleString('en-US')} more problems`
    : named.join('; ');
}
