// What the seller's browser shows after TikTok's consent redirect: every page text, and the
// page as HTML without scripts or outside resources.
import type { LambdaFunctionURLResult } from 'aws-lambda';
import { describeError, ReauthorizationRequiredError } from '../shared/errors.js';
import { ConnectedElsewhereError, type ConnectedShop } from './connect.js';
import type { RefusalReason, ShopConnectionRefusedError } from './errors.js';

/** What the seller's browser shows. */
export interface Page {
  readonly statusCode: number;
  readonly title: string;
  readonly message: string;
}

/** A failure on our side: nothing about it is shown, it is logged. */
export const UNAVAILABLE: Page = {
  statusCode: 500,
  title: 'Shop not connected',
  message:
    'Something went wrong on our side and the shop was not connected. Please contact us; you may be asked to approve the app again.',
};

export const METHOD_NOT_ALLOWED: Page = {
  statusCode: 405,
  title: 'Method not allowed',
  message: 'Only GET is accepted.',
};

export function invalidLink(why: string): Page {
  return {
    statusCode: 400,
    title: 'Invalid authorization link',
    message: `${why} Nothing was changed. Ask us for a new link and approve the app again.`,
  };
}

/** The seller did not approve the app; `said` is TikTok's `error` parameter, when it is safe to show. */
export function declinedPage(shop: string, said: string | undefined, expiresAt: Date): Page {
  return {
    statusCode: 200,
    title: 'Shop not connected',
    message: `You did not approve the app for shop ${shop}${said ? ` (TikTok reported: ${said})` : ''}, so it was not connected and nothing was changed. To connect it, open the same link again and approve the app before ${expiresAt.toISOString()}, or ask us for a new link.`,
  };
}

export function connectedPage(connected: ConnectedShop): Page {
  const again = connected.connection === 'reconnected' ? ' again' : '';
  return {
    statusCode: 200,
    title: 'Shop connected',
    message: `Shop ${connected.shop} is connected${again}. Its token will be refreshed automatically.`,
  };
}

/** What the seller is told; never which seller the shop belongs to, nor other shops' names. */
export function refusedPage(shop: string, refusal: ShopConnectionRefusedError): Page {
  // The approving seller's own shop, which received the token: theirs to know.
  if (refusal instanceof ConnectedElsewhereError) {
    const own = refusal.connected.shop;
    return {
      statusCode: 409,
      title: 'Shop not connected',
      message:
        refusal.reason === 'seller-mismatch'
          ? `Shop ${shop} is connected to another TikTok Shop seller account than the one that approved the app, so it was not changed. The account that approved the app is connected here as shop ${own}: this approval renewed that shop's authorization instead. If the shop has changed hands, contact us.`
          : `The TikTok Shop seller account that approved the app is already connected here as shop ${own}: this approval renewed that shop's authorization instead, and shop ${shop} was not connected. Contact us if you meant to connect another shop.`,
    };
  }
  const unchanged = 'Nothing was changed.';
  // Every reason has its text: a new reason without one does not compile.
  const texts: Record<RefusalReason, [number, string]> = {
    'link-already-used': [
      409,
      `This link has already been used for shop ${shop}, and a link works once. ${unchanged} The shop is connected (or being connected by your other approval with this link), so there is nothing more to do.`,
    ],
    'link-not-finished': [
      409,
      `This link has already been used for shop ${shop}, but that connection did not finish, and a link works once. ${unchanged} Shop ${shop} was not connected by this link: ask us for a new link and approve the app again.`,
    ],
    'shop-already-connected': [
      409,
      `Shop ${shop} is already connected, and this link was made for a new shop. ${unchanged} To renew its authorization, ask us for a new link.`,
    ],
    'shop-not-connected': [
      409,
      `This link renews the authorization of shop ${shop}, which is not connected. ${unchanged} Ask us for a new link.`,
    ],
    'seller-mismatch': [
      403,
      `Shop ${shop} is connected to another TikTok Shop seller account than the one that approved the app. ${unchanged} If the shop has changed hands, contact us: that change is made by us, not through a link.`,
    ],
    'seller-connected-elsewhere': [
      409,
      `The TikTok Shop seller account that approved the app is already connected under another shop name, so it was not connected as ${shop}. ${unchanged} Contact us if this is unexpected.`,
    ],
    'stored-seller-unknown': [
      409,
      `Shop ${shop} cannot be reconnected through a link. ${unchanged} Please contact us.`,
    ],
    'app-mismatch': [
      409,
      `Shop ${shop} is connected through another of our TikTok apps than the one this link is for. ${unchanged} Ask us for a new link.`,
    ],
    'app-unknown': [
      400,
      `This link was made for a TikTok app that is not set up here, so shop ${shop} was not connected. ${unchanged} Ask us for a new link.`,
    ],
  };
  const [statusCode, message] = texts[refusal.reason];
  return { statusCode, title: 'Shop not connected', message };
}

/** TikTok's answer could not be a token: it is kept, and we are alerted. */
export function answerKeptPage(shop: string): Page {
  return {
    statusCode: 502,
    title: 'Shop not connected yet',
    message: `TikTok accepted the approval, but its answer could not be read as a token. It was kept, and we have been alerted; shop ${shop} is not connected yet. There is nothing for you to do now: we will contact you if the app must be approved again.`,
  };
}

/**
 * A connection that failed: TikTok's refusal of the code is shown with its code and message
 * (redacted by the client); any other failure is ours and shows UNAVAILABLE.
 */
export function failurePage(error: unknown, fromTikTok: boolean): Page {
  if (!fromTikTok) return UNAVAILABLE;
  return {
    statusCode: error instanceof ReauthorizationRequiredError ? 400 : 502,
    title: 'Shop not connected',
    message: `TikTok did not accept the authorization (${describeError(error).message}). Nothing was stored. Please approve the app again from a new link.`,
  };
}

/** A page without scripts or outside resources, so the URL with the code goes nowhere else. */
export function renderPage(page: Page): LambdaFunctionURLResult {
  return {
    statusCode: page.statusCode,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'",
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      ...(page.statusCode === 405 ? { allow: 'GET' } : {}),
    },
    body: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(page.title)}</title></head>
<body><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p></body></html>
`,
  };
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );
}
