import type { LambdaFunctionURLResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  type RefusalReason,
  ShopConnectionRefusedError,
} from '../../../lambda/onboarding/errors.js';
import {
  failurePage,
  METHOD_NOT_ALLOWED,
  refusedPage,
  renderPage,
  UNAVAILABLE,
} from '../../../lambda/onboarding/pages.js';
import {
  ReauthorizationRequiredError,
  UnexpectedResponseError,
} from '../../../lambda/shared/errors.js';

/** The page as a structured result (renderPage never answers a bare string). */
function rendered(result: LambdaFunctionURLResult): Exclude<LambdaFunctionURLResult, string> {
  if (typeof result === 'string') throw new Error('renderPage answered a bare string');
  return result;
}

describe('Function: renderPage', () => {
  it('escapes the title and the message, so text from outside cannot add markup', () => {
    // Act
    const { body } = rendered(
      renderPage({
        statusCode: 400,
        title: 'Shop <b>"x"</b>',
        message: `<script>alert('code')</script> & more`,
      }),
    );

    // Assess
    expect(body).toContain('<title>Shop &lt;b&gt;&quot;x&quot;&lt;/b&gt;</title>');
    expect(body).toContain('<p>&lt;script&gt;alert(&#39;code&#39;)&lt;/script&gt; &amp; more</p>');
    expect(body).not.toContain('<script>');
  });

  it('allows no scripts, outside resources, referrer or caching', () => {
    // Act
    const { statusCode, headers } = rendered(renderPage(UNAVAILABLE));

    // Assess
    expect(statusCode).toBe(500);
    expect(headers).toEqual({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'",
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    });
  });

  it('names the accepted method on a 405', () => {
    expect(rendered(renderPage(METHOD_NOT_ALLOWED)).headers).toMatchObject({ allow: 'GET' });
  });
});

describe('Function: refusedPage', () => {
  it.each<[RefusalReason, number]>([
    ['link-already-used', 409],
    ['link-not-finished', 409],
    ['shop-already-connected', 409],
    ['shop-not-connected', 409],
    ['seller-mismatch', 403],
    ['seller-connected-elsewhere', 409],
    ['stored-seller-unknown', 409],
    ['app-mismatch', 409],
    ['app-unknown', 400],
  ])('explains %s with status %i, naming the shop and no seller', (reason, status) => {
    // Prepare
    const refusal = new ShopConnectionRefusedError('refused', reason, {
      shop: 'acme-uk',
      openId: 'seller-open-id-7',
      otherShops: ['acme-de'],
    });

    // Act
    const page = refusedPage('acme-uk', refusal);

    // Assess
    expect(page.statusCode).toBe(status);
    expect(page.title).toBe('Shop not connected');
    expect(page.message).toContain('acme-uk');
    expect(page.message).toContain('Nothing was changed.');
    expect(page.message).not.toContain('seller-open-id-7');
    expect(page.message).not.toContain('acme-de');
  });
});

describe('Function: refusedPage, for a link used again', () => {
  it('asks for a new link when the link connected nothing, and says there is nothing to do when it did', () => {
    // Act
    const unfinished = refusedPage(
      'acme-uk',
      new ShopConnectionRefusedError('refused', 'link-not-finished'),
    );
    const used = refusedPage(
      'acme-uk',
      new ShopConnectionRefusedError('refused', 'link-already-used'),
    );

    // Assess
    expect(unfinished.message).toContain('did not finish');
    expect(unfinished.message).toContain('ask us for a new link');
    expect(unfinished.message).not.toContain('nothing more to do');
    expect(used.message).toContain('nothing more to do');
    expect(used.message).not.toContain('new link');
  });
});

describe('Function: failurePage', () => {
  it("shows TikTok's refusal with its message, as 400 when the seller must approve again", () => {
    // Act
    const page = failurePage(new ReauthorizationRequiredError('code expired', 36004004), true);

    // Assess
    expect(page.statusCode).toBe(400);
    expect(page.message).toContain('TikTok did not accept the authorization (code expired)');
  });

  it('shows any other answer TikTok gave as 502', () => {
    expect(failurePage(new UnexpectedResponseError('not JSON'), true).statusCode).toBe(502);
  });

  it('shows nothing of a failure on our side', () => {
    // Act
    const page = failurePage(
      new Error('AccessDeniedException on tiktok-shop/tokens/acme-uk'),
      false,
    );

    // Assess
    expect(page).toBe(UNAVAILABLE);
    expect(page.message).not.toContain('AccessDenied');
  });
});
