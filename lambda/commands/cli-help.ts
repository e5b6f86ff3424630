// What `tiktok-shop-token-refresher help` and each command's `--help` print: the options, the
// environment each command reads and its exit codes, as the command modules implement them.
import { DEFAULTS } from '../shared/contract.js';
import type { Env } from '../shared/env.js';

/** The binary's name, as package.json's `bin` installs it. */
export const BINARY = 'tiktok-shop-token-refresher';

/**
 * How `command` was started, as its usage lines say it: `npm run refresh --` when npm runs the
 * script of that name (in a clone, or a project's own script), else `<binary> refresh`.
 */
export function invocation(command: string, env: Env): string {
  return env.npm_lifecycle_event === command ? `npm run ${command} --` : `${BINARY} ${command}`;
}

export const COMMAND_LIST = `usage: ${BINARY} <command> [options]

commands:
  authorize     connect a shop from a seller's authorization code, or print a consent link
  refresh       refresh the token kept in a local JSON file (no AWS needed)
  switch-store  copy every shop's token between Secrets Manager and the DynamoDB token table
  help          print this list; "help <command>" or "<command> --help" prints a command's options

In a clone of the repository the same commands run as npm run <command> -- … (npm run authorize -- …).
Exit codes: 0 done, 1 failed, 2 usage (a wrong option or a missing setting).`;

export const REFRESH_HELP = `usage: ${BINARY} refresh --token-file <path> [--force] [--dry-run]

Refreshes the shop's token kept in a local JSON file (TikTok's answer, as authorize --token-file
writes it) when its access token falls due, as the deployed refresher does; no AWS account needed.
Before TikTok is called the file is checked to be writable and a recovery file is reserved beside
it, so a token TikTok issued is never lost to a failed write.

options:
  --token-file <path>  the token file (required); a symbolic link's target is replaced
  --force              refresh even when the token is not due
  --dry-run            say what would happen, call nothing
  -h, --help           print this help

environment:
  TIKTOK_APP_KEY, TIKTOK_APP_SECRET  the app's key and secret from TikTok Partner Center (required)
  TIKTOK_AUTH_BASE_URL               TikTok's token host (default ${DEFAULTS.tiktokAuthBaseUrl})
  REFUSAL_RECHECK_MS                 how long to look for another writer's new token after TikTok
                                     refuses the stored one, before asking for a new authorization
                                     (default ${DEFAULTS.refusalRecheckMs})

Schedule it with cron, e.g. hourly:
  17 * * * * cd /path/to/tokens && TIKTOK_APP_KEY=… TIKTOK_APP_SECRET=… npx ${BINARY} refresh --token-file shop.json

Exit codes: 0 done (refreshed, or not due), 1 the refresh failed, 2 usage (a wrong option or a
missing setting).`;

export const AUTHORIZE_HELP = `usage:
  ${BINARY} authorize --shop <name> --auth-code-stdin [--token-file <path> | --secret-prefix <prefix>] [--replace-seller] [--kms-key-id <key>] [--app <app>]
  TIKTOK_AUTH_CODE=<code> ${BINARY} authorize --shop <name> [...]
  ${BINARY} authorize --shop <name> --auth-code <code> [...]   (the code then shows in your shell history)
  ${BINARY} authorize --consent-link --shop <name> [--app <app>] [--region row|us] [--service-id <id>]

Exchanges the authorization code TikTok gave the seller for the shop's token and stores TikTok's
answer: in a local file with --token-file (no AWS needed), else as the secret
<prefix>tokens/<shop> in AWS Secrets Manager. --consent-link prints the link a seller opens to
approve the app (its signing key is read from AWS).

options:
  --shop <name>            the shop (1 to 64 letters, digits, '-' or '_')
  --auth-code-stdin        read the authorization code from standard input (paste it, or pipe it)
  --auth-code <code>       the code on the command line
  --token-file <path>      store the token in this file instead of Secrets Manager
  --secret-prefix <prefix> the deployment's secretNamePrefix (default tiktok-shop/)
  --replace-seller         hand a connected shop to another seller, on purpose
  --kms-key-id <key>       the key of a secret the command creates
  --app <app>              the TikTok app the seller approved (default: default)
  --apps <list>            the deployment's apps, as the stack's -c apps= (e.g. us:us)
  --consent-link           print a consent link instead of exchanging a code
  --region row|us          the consent page, where --apps does not say it
  --service-id <id>        the app's service id for the link (or TIKTOK_SERVICE_ID[_<APP>])
  -h, --help               print this help

The app's key and secret:
  TIKTOK_APP_KEY and TIKTOK_APP_SECRET, both; or else the app's credentials secret in AWS Secrets
  Manager (APP_CREDENTIALS_SECRET_ID, default tiktok-shop/app-credentials; APP_CREDENTIALS_SECRET_IDS
  for other apps). A --token-file run reads that secret only when AWS_REGION, AWS_DEFAULT_REGION,
  AWS_PROFILE, APP_CREDENTIALS_SECRET_ID or APP_CREDENTIALS_SECRET_IDS is set; otherwise it stops
  and names the variables to set. Writing to Secrets Manager needs AWS credentials and a region.

other environment:
  TIKTOK_AUTH_BASE_URL, TIKTOK_APPS, EVENT_BUS_NAME (default default), CALLBACK_STATE_SECRET_ID,
  TOKEN_SECRET_TAG_KEY, TOKEN_SECRET_KMS_KEY_ID

Exit codes: 0 done, 1 failed (nothing stored), 2 usage (a wrong option or a missing setting, an
AWS region included).`;

export const SWITCH_STORE_HELP = `usage:
  ${BINARY} switch-store --from secrets-manager --to dynamodb --table <name> [--secret-prefix <prefix>] [--tag-key <key>]
  ${BINARY} switch-store --from dynamodb --to secrets-manager --table <name> [--secret-prefix <prefix>] [--tag-key <key>] [--kms-key-id <key>]

Copies every shop's current token from one token store to the other, when a deployment moves
between Secrets Manager and the DynamoDB token table (docs/dynamodb-store.md). Run it right after
deploying the stack on the new store: it copies pass after pass until no source token moved, then
checks each copy. A token is copied only onto an older one, so it may be run again; nothing is
deleted.

options:
  --from, --to             secrets-manager or dynamodb (required, different)
  --table <name>           the token table (the stack's TokenTableName output; required)
  --secret-prefix <prefix> the deployment's secretNamePrefix (default tiktok-shop/)
  --tag-key <key>          the token secrets' discovery tag key (default tiktok-shop-token)
  --kms-key-id <key>       the key of a secret the command creates (--to secrets-manager only)
  -h, --help               print this help

AWS credentials and a region come from the usual AWS environment (AWS_PROFILE, AWS_REGION, …).

Exit codes: 0 every shop copied and checked, 1 a shop failed, 2 usage.`;
