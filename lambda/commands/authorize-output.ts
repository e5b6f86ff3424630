// What the authorize command prints about a shop it connected, or did not: never a token, and
// TikTok's words only as printable text.
import type { ConnectedShop } from '../onboarding/connect.js';
import { ShopConnectionRefusedError } from '../onboarding/errors.js';
import { DEFAULT_APP } from '../shared/contract.js';
import { describeError, TokenNotCurrentError } from '../shared/errors.js';
import { printable } from './terminal-text.js';

export function describeConnected(
  connected: ConnectedShop,
  toFile: boolean,
  inTable = false,
): string {
  const { stored } = connected;
  const where = inTable
    ? stored.created
      ? `created item ${stored.name} of the token table`
      : `made a new token current in item ${stored.name} (the previous token is kept beside it)`
    : toFile
      ? stored.created
        ? `created token file ${stored.name}`
        : `replaced the token in file ${stored.name} (the previous one is kept in ${stored.name}.previous)`
      : stored.created
        ? `created secret ${stored.name}, tagged for discovery by the refresher`
        : `stored a new current version of secret ${stored.name} (the previous token is kept as AWSPREVIOUS)`;
  const connection = {
    new: 'a new shop',
    reconnected: 'the same seller again',
    'seller-replaced': `seller replaced on purpose (was open_id ${printable(connected.previousOpenId ?? 'unknown')})`,
  }[connected.connection];
  return [
    `Shop ${connected.shop} connected: ${where}`,
    ...(connected.app === DEFAULT_APP ? [] : [`  app: ${connected.app}`]),
    `  connection: ${connection}`,
    `  version: ${stored.versionId}`,
    `  seller: ${connected.sellerName ? `${printable(connected.sellerName)} ` : ''}(open_id ${printable(connected.openId)})`,
    `  access token expires: ${connected.accessTokenExpiresAt}`,
    `  refresh token expires: ${connected.refreshTokenExpiresAt}`,
  ].join('\n');
}

/** Why the shop was not connected, and whether the seller must approve again for a new code. */
export function describeNotConnected(shop: string, error: unknown): string {
  // The message may quote TikTok (a seller's name, TikTok's own message): one printable line.
  const message = printable(describeError(error).message, 2_000);
  if (error instanceof TokenNotCurrentError) {
    return `error: shop ${shop} not connected: ${message}. Look at the kept answer: if it holds a working token, make it current by hand; otherwise the seller approves the app again.`;
  }
  const used =
    error instanceof ShopConnectionRefusedError &&
    error.detail.codeUsed === true &&
    error.detail.tokenStoredIn === undefined
      ? ' The authorization code is used up: the seller approves again for a new one.'
      : '';
  return `error: shop ${shop} not connected, nothing stored: ${message}${used}`;
}
