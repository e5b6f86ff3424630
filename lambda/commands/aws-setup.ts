// When a command may turn to AWS for the app's credentials, and what it says when AWS is not set
// up: a person with a token file and no AWS account is told which variables to set.
import { APPS_ENV, ENV } from '../shared/contract.js';
import type { EnvReader } from '../shared/env.js';

/**
 * The variables that say AWS is meant: a region or a profile for the SDK, or a credentials
 * secret named on purpose. A region kept only in ~/.aws/config does not count (AWS_PROFILE=default
 * says it).
 */
export const AWS_SETUP_VARIABLES = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  ENV.appCredentialsSecretId,
  APPS_ENV.appCredentialsSecretIds,
] as const;

/** Whether one of AWS_SETUP_VARIABLES is set. */
export function awsRequested(read: EnvReader): boolean {
  return AWS_SETUP_VARIABLES.some((name) => read.text(name) !== undefined);
}

/** The usage error of a file-only run without the app's key and secret. */
export function missingAppKeyProblem(credentialsSecretId: string): string {
  return `TIKTOK_APP_KEY and TIKTOK_APP_SECRET are not set: set both to the app's key and secret from TikTok Partner Center (a --token-file run needs no AWS), or, to read them from the secret ${credentialsSecretId} in AWS Secrets Manager, set AWS_REGION (or AWS_PROFILE), and ${ENV.appCredentialsSecretId} where the secret has another name`;
}

/** Whether `message` is (or quotes) the SDK's "Region is missing": a missing setting, exit 2. */
export function missesRegion(message: string): boolean {
  return message.includes('Region is missing');
}

/** The SDK's "Region is missing", with what to set; any other message unchanged. */
export function withAwsHint(message: string): string {
  if (!missesRegion(message)) return message;
  return `${message}: set AWS_REGION (or AWS_PROFILE of a profile with a region) to use AWS, or give --token-file with TIKTOK_APP_KEY and TIKTOK_APP_SECRET to work without it`;
}
