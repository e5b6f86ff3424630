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
  const provider = new SecretsProvider({ awsSdkV3Client: secretsManager() });
  const key = await readSigningKey(command.stateSecretId, (secretId) => provider.get(secretId));
  // A shop that holds a token gets a reconnect link, which only its seller can use.
  const { current, app: boundTo } = await new TokenSecretDestination({
    client: secretsManager(),
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
