// `npm run authorize -- --consent-link`: the link a seller opens to approve the app, signed for
// a new shop or a reconnect by what the shop's secret holds now.
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { consentLink, readSigningKey, signConsentState } from '../onboarding/consent-state.js';
import { TokenSecretDestination } from '../onboarding/token-secret.js';
import { DEFAULT_APP, DEFAULT_TOKEN_SECRET_TAG_KEY } from '../shared/contract.js';
import { UsageError } from '../shared/errors.js';
import type { ConsentLinkCommand } from './authorize-args.js';
import { printable } from './terminal-text.js';

/** The link, with a line saying what it is for; refused for a shop bound to another app. */
export async function printableConsentLink(
  command: ConsentLinkCommand,
  secretsManager: () => SecretsManagerClient,
): Promise<string> {
  const client = secretsManager();
  const provider = new SecretsProvider({ awsSdkV3Client: client });
  const key = await readSigningKey(command.stateSecretId, (secretId) => provider.get(secretId));
  // The SDK learnt AWS's time from the answer: a link signed by a wrong clock is born expired.
  refuseWrongClock(client.config.systemClockOffset);
  // A shop that holds a token gets a reconnect link, which only its seller can use.
  const { current, app: boundTo } = await new TokenSecretDestination({
    client,
    shop: command.shop,
    secretName: command.secretName,
    tokenSecretsPrefix: '',
    tagKey: DEFAULT_TOKEN_SECRET_TAG_KEY,
  }).inspect(undefined);
  const app = command.app.name;
  // The callback would refuse the link: a shop stays with its app.
  if (boundTo !== undefined && boundTo !== app) {
    throw new UsageError(
      `shop ${command.shop} is bound to app "${printable(boundTo, 40)}" (the tiktok-shop-app tag of ${command.secretName}; none means "${DEFAULT_APP}"), so a link for app "${app}" would be refused: make it with --app ${printable(boundTo, 40)}`,
    );
  }
  const purpose = current === undefined ? 'connect' : 'reconnect';
  const state = signConsentState({ shop: command.shop, purpose, app }, key, { now: Date.now() });
  const link = consentLink({ region: command.region, serviceId: command.serviceId, state });
  // The stored seller's name and open_id are TikTok's words: printed as text only.
  const seller =
    current?.openId === undefined
      ? 'the seller stored'
      : `seller ${current.sellerName ? `${printable(current.sellerName)} ` : ''}(open_id ${printable(current.openId)})`;
  const what =
    purpose === 'connect'
      ? `a new shop (${command.secretName} holds no token yet)`
      : `a reconnect: only ${seller} can use it; another seller is refused`;
  const ofApp = app === DEFAULT_APP ? '' : ` of app ${app} (${command.region} consent page)`;
  return `Consent link for shop ${command.shop}${ofApp}, ${what}. It works once, for one hour; the seller opens it and approves:\n${link}`;
}

/** Past this, the callback would count the link's hour from another time than this machine. */
const MAX_CLOCK_OFFSET_MS = 5 * 60_000;

/** `offsetMs`: AWS's time minus this machine's, as the SDK measured it. */
function refuseWrongClock(offsetMs: number): void {
  if (Math.abs(offsetMs) <= MAX_CLOCK_OFFSET_MS) return;
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  const by = minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
  throw new UsageError(
    `this machine's clock is ${by} ${offsetMs > 0 ? 'behind' : 'ahead of'} AWS's (AWS says it is ${new Date(Date.now() + offsetMs).toISOString()}): a link signed now would expire at the wrong time for the consent callback (${offsetMs > 0 ? 'before the seller can open it' : 'hours too late'}); set the clock right (e.g. turn on network time) and make the link again`,
  );
}
