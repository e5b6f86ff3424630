// Checks of the refresher's props against the limits of the services they become: Lambda's
// timeout and environment size, tag keys Secrets Manager takes and the product does not use
// itself, an e-mail address SNS can subscribe. Each problem is refused at synth, not at deploy.
import { Duration, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { DEFAULT_APP_TAG_KEY, SELLER_TAG_KEY, SHOP_STATE_TAG } from '../lambda/shared/contract.js';

/** Lambda's longest function timeout. */
export const MAXIMUM_REFRESHER_TIMEOUT = Duration.minutes(15);

/** Lambda's limit on a function's environment, measured as the JSON of its variables. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/**
 * The tag keys the product writes or reads on a token secret itself: a discovery tag of the same
 * key would mix the shop name with the app, the seller or a webhook's mark.
 */
const PRODUCT_TAG_KEYS: readonly string[] = [
  DEFAULT_APP_TAG_KEY,
  SELLER_TAG_KEY,
  SHOP_STATE_TAG.deauthorized,
  SHOP_STATE_TAG.authorizationExpires,
  SHOP_STATE_TAG.authorizationExpiresNotification,
];

/** Characters of a Secrets Manager tag key: letters, digits, spaces and _.:/=+-@ (1 to 128). */
const TAG_KEY = /^[\p{L}\p{N}\p{Z}_.:/=+\-@]{1,128}$/u;

/** Anything@domain.tld with no space: what SNS's e-mail protocol takes, short of a typo's check. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface LimitedProps {
  readonly timeout: Duration;
  readonly tokenSecretTagKey: string;
  readonly alarmEmail: string | undefined;
}

/** What in `props` a service would refuse at deploy, or the product would misread at run time. */
export function limitProblems(props: LimitedProps): string[] {
  const problems: string[] = [];
  const timeout = props.timeout.toSeconds();
  const maximum = MAXIMUM_REFRESHER_TIMEOUT.toSeconds();
  if (timeout > maximum) {
    problems.push(
      `timeout must be at most ${maximum / 60} minutes, the longest Lambda runs a function (got ${timeout} seconds)`,
    );
  }
  const tagKeyProblem = tokenSecretTagKeyProblem(props.tokenSecretTagKey);
  if (tagKeyProblem !== undefined) problems.push(tagKeyProblem);
  const email = props.alarmEmail;
  if (email !== undefined && !Token.isUnresolved(email) && !EMAIL.test(email)) {
    problems.push(
      `invalid alarmEmail ${quote(email)}: one e-mail address, such as ops@example.com`,
    );
  }
  return problems;
}

function tokenSecretTagKeyProblem(key: string): string | undefined {
  if (Token.isUnresolved(key)) return undefined;
  const invalid = `invalid tokenSecretTagKey ${quote(key)}`;
  if (!TAG_KEY.test(key)) {
    return `${invalid}: 1 to 128 letters, digits, spaces or _.:/=+-@ (a Secrets Manager tag key)`;
  }
  if (key.toLowerCase().startsWith('aws:')) {
    return `${invalid}: keys starting with 'aws:' are AWS's own`;
  }
  if (PRODUCT_TAG_KEYS.includes(key) || key.startsWith(SHOP_STATE_TAG.shopIdPrefix)) {
    return `${invalid}: the product tags token secrets with it for another purpose (its own keys: ${PRODUCT_TAG_KEYS.join(', ')}, ${SHOP_STATE_TAG.shopIdPrefix}<id>)`;
  }
  return undefined;
}

/**
 * The refresher's environment, refused when too large for Lambda (the deploy would fail in
 * CloudFormation), the error naming `scope`. A value known only at deploy (a token) counts as its placeholder, so this
 * errs on the side of letting a deploy through. The shop list is what grows, and the way out is
 * the one that scales without a list: discovery by tag.
 */
export function checkedEnvironment(
  scope: IConstruct,
  shops: number,
  environment: Record<string, string>,
): Record<string, string> {
  const size = Buffer.byteLength(JSON.stringify(environment));
  if (size <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return environment;
  throw new Error(
    `${scope.node.path}: invalid props: the refresher function's environment would be ${size} bytes, over the ${LAMBDA_ENVIRONMENT_LIMIT_BYTES} Lambda allows (its shop list names ${shops} token secrets): set discoverTokenSecretsByTag: true and list fewer shops in shops and existingTokenSecrets (a secret under <secretNamePrefix>tokens/ tagged with tokenSecretTagKey is refreshed without being listed; the shops' created secrets carry that tag and, with the default secretRemovalPolicy RETAIN, stay when they leave shops), or split the shops across refreshers with their own secretNamePrefix`,
  );
}

/** A value from the props, quoted and cut short, for an error message. */
function quote(text: string): string {
  return JSON.stringify(text.length > 70 ? `${text.slice(0, 70)}…` : text);
}
