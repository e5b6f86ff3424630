import { describe, expect, it } from 'vitest';
import {
  ConnectedElsewhereError,
  type ConnectRequest,
  connectShop,
} from '../../lambda/onboarding/connect.js';
import {
  type DestinationState,
  type DestinationWrite,
  type KeptAnswer,
  type LinkClaim,
  type ShopTokenDestination,
  sellerTagValue,
  storedSeller,
} from '../../lambda/onboarding/destination.js';
import { ShopConnectionRefusedError } from '../../lambda/onboarding/errors.js';
import { shopConnectedEvent, shopConnectionRefusedEvent } from '../../lambda/onboarding/events.js';
import {
  TokenNotCurrentError,
  TokenNotStoredError,
  TransientError,
} from '../../lambda/shared/errors.js';
import { KEPT_LABEL } from '../../lambda/shared/secrets-store.js';
import type { TokenAnswer } from '../../lambda/shared/token.js';

const NOW_S = Math.floor(Date.now() / 1000);

function tokenOf(openId: string | undefined, n = 1): TokenAnswer & { usable: true } {
  const data = {
    access_token: `TTS_AT_connect_${n}`,
    access_token_expire_in: NOW_S + 7 * 86_400,
    refresh_token: `TTS_RT_connect_${n}`,
    refresh_token_expire_in: NOW_S + 365 * 86_400,
    seller_name: `Seller ${openId ?? 'unnamed'}`,
    ...(openId === undefined ? {} : { open_id: openId }),
  };
  const document = { code: 0 as const, message: 'success', data, request_id: `req-${n}` };
  return { usable: true, raw: JSON.stringify(document), document };
}

/** A destination in memory: the current token, links claimed, writes and kept answers recorded. */
class FakeDestination implements ShopTokenDestination {
  readonly shop: string;
  readonly name: string;
  current: { versionId: string; raw: string } | undefined;
  usedNonces = new Set<string>();
  /** Links claimed and no token stored since (their exchange failed). */
  unfinishedNonces = new Set<string>();
  others: FakeDestination[] = [];
  /** The app the secret's tag binds it to; undefined: no secret yet. */
  app: string | undefined;
  writes: { raw: string; basedOnVersionId: string | undefined }[] = [];
  /** The app of each write. */
  writtenApps: string[] = [];
  kept: string[] = [];
  /** Answers for the next writes, before the write happens (a race lost). */
  nextWrites: DestinationWrite[] = [];
  /** Runs before a write answers `moved`: the other writer's token. */
  onMoved: (() => void) | undefined;
  inspections = 0;

  constructor(current?: TokenAnswer & { usable: true }, shop = 'acme-uk') {
    this.shop = shop;
    this.name = `tiktok-shop/tokens/${shop}`;
    if (current !== undefined) {
      this.current = { versionId: 'v-stored', raw: current.raw };
      this.app = 'default';
    }
  }

  async inspect(linkNonce: string | undefined): Promise<DestinationState> {
    this.inspections++;
    return {
      linkUsed: linkNonce !== undefined && this.usedNonces.has(linkNonce),
      ...(linkNonce !== undefined && this.unfinishedNonces.has(linkNonce)
        ? { linkUsed: true, linkUnfinished: true as const }
        : {}),
      ...(this.app === undefined ? {} : { app: this.app }),
      ...(this.current === undefined
        ? {}
        : { current: storedSeller(this.current.versionId, this.current.raw) }),
    };
  }

  async claimLink(linkNonce: string): Promise<LinkClaim> {
    if (this.usedNonces.has(linkNonce)) return { claimed: false };
    this.usedNonces.add(linkNonce);
    return { claimed: true, created: false };
  }

  async shopsOfSeller(): Promise<ShopTokenDestination[]> {
    return this.others;
  }

  async write(
    raw: string,
    options: { basedOnVersionId: string | undefined; app: string },
  ): Promise<DestinationWrite> {
    const forced = this.nextWrites.shift();
    if (forced !== undefined) {
      if (!forced.stored && forced.reason === 'moved') this.onMoved?.();
      return forced;
    }
    if (this.current?.versionId !== options.basedOnVersionId) {
      return { stored: false, reason: 'moved' };
    }
    this.writes.push({ raw, basedOnVersionId: options.basedOnVersionId });
    this.writtenApps.push(options.app);
    const versionId = `v-${this.writes.length}`;
    this.current = { versionId, raw };
    this.app = options.app;
    return {
      stored: true,
      versionId,
      created: options.basedOnVersionId === undefined,
      warnings: [],
    };
  }

  async keep(raw: string): Promise<KeptAnswer> {
    this.kept.push(raw);
    return { versionId: 'v-kept', label: KEPT_LABEL, where: `version v-kept of ${this.name}` };
  }
}

function tiktokAnswering(token: TokenAnswer) {
  const calls: string[] = [];
  const appKeys: string[] = [];
  return {
    calls,
    appKeys,
    getToken: async (credentials: { app_key: string }, authCode: string) => {
      calls.push(authCode);
      appKeys.push(credentials.app_key);
      return token;
    },
  };
}

const credentials = async () => ({ app_key: 'k', app_secret: 'APPSECRET_connect_test' });

function request(overrides: Partial<ConnectRequest> = {}): ConnectRequest {
  return { shop: 'acme-uk', authCode: 'AUTHCODE_connect', purpose: 'any', ...overrides };
}

async function refusal(promise: Promise<unknown>): Promise<ShopConnectionRefusedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ShopConnectionRefusedError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('Function: connectShop', () => {
  it('stores a new shop’s token, unchanged, as a new connection', async () => {
    // Prepare
    const destination = new FakeDestination();
    const answer = tokenOf('open_acme');

    // Act
    const connected = await connectShop(request({ purpose: 'connect', linkNonce: 'n1' }), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(answer),
      destination,
    });

    // Assess
    expect(destination.writes).toEqual([{ raw: answer.raw, basedOnVersionId: undefined }]);
    expect(connected).toMatchObject({
      shop: 'acme-uk',
      connection: 'new',
      openId: 'open_acme',
      sellerName: 'Seller open_acme',
      stored: { name: destination.name, created: true },
    });
    expect(JSON.stringify(connected)).not.toContain('TTS_');
  });

  it('reconnects the seller already stored, replacing the token it checked', async () => {
    const destination = new FakeDestination(tokenOf('open_acme', 1));

    const connected = await connectShop(request({ purpose: 'reconnect', linkNonce: 'n1' }), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(tokenOf('open_acme', 2)),
      destination,
    });

    expect(connected.connection).toBe('reconnected');
    expect(destination.writes).toEqual([
      { raw: tokenOf('open_acme', 2).raw, basedOnVersionId: 'v-stored' },
    ]);
  });

  it('refuses a token of another seller before anything is written', async () => {
    // Prepare: the link is good, the approval comes from someone else's seller account
    const stored = tokenOf('open_acme', 1);
    const destination = new FakeDestination(stored);

    // Act
    const refused = await refusal(
      connectShop(request({ purpose: 'reconnect', linkNonce: 'n1' }), {
        now: Date.now,
        appCredentials: credentials,
        tiktok: tiktokAnswering(tokenOf('open_attacker', 2)),
        destination,
      }),
    );

    // Assess
    expect(refused.reason).toBe('seller-mismatch');
    expect(refused.detail).toMatchObject({
      shop: 'acme-uk',
      openId: 'open_attacker',
      storedOpenId: 'open_acme',
      codeUsed: true,
    });
    expect(refused.message).toContain('--replace-seller');
    expect(destination.writes).toEqual([]);
    expect(destination.current?.raw).toBe(stored.raw);
  });

  it('hands the shop to another seller only when the operator says so', async () => {
    const destination = new FakeDestination(tokenOf('open_acme', 1));

    const connected = await connectShop(request({ replaceSeller: true }), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(tokenOf('open_buyer', 2)),
      destination,
    });

    expect(connected).toMatchObject({
      connection: 'seller-replaced',
      openId: 'open_buyer',
      previousOpenId: 'open_acme',
    });
    expect(destination.writes).toHaveLength(1);
  });

  it.each([
    [
      'a link already used',
      () => {
        const destination = new FakeDestination(tokenOf('open_acme'));
        destination.usedNonces.add('n1');
        return { destination, req: request({ purpose: 'reconnect', linkNonce: 'n1' }) };
      },
      'link-already-used',
    ],
    [
      'a link already used whose exchange did not finish',
      () => {
        const destination = new FakeDestination(tokenOf('open_acme'));
        destination.unfinishedNonces.add('n1');
        return { destination, req: request({ purpose: 'reconnect', linkNonce: 'n1' }) };
      },
      'link-not-finished',
    ],
    [
      'a link for a new shop when the shop holds a token',
      () => ({
        destination: new FakeDestination(tokenOf('open_acme')),
        req: request({ purpose: 'connect', linkNonce: 'n2' }),
      }),
      'shop-already-connected',
    ],
    [
      'a reconnect link for a shop without a token',
      () => ({
        destination: new FakeDestination(),
        req: request({ purpose: 'reconnect', linkNonce: 'n3' }),
      }),
      'shop-not-connected',
    ],
    [
      'a stored value that names no seller',
      () => {
        const destination = new FakeDestination();
        destination.current = { versionId: 'v-hand', raw: '{"code":0,"data":{}}' };
        return { destination, req: request() };
      },
      'stored-seller-unknown',
    ],
  ])('refuses %s without calling TikTok', async (_, setup, reason) => {
    // Prepare
    const { destination, req } = setup();
    const tiktok = tiktokAnswering(tokenOf('open_acme', 9));

    // Act
    const refused = await refusal(
      connectShop(req, { now: Date.now, appCredentials: credentials, tiktok, destination }),
    );

    // Assess
    expect(refused.reason).toBe(reason);
    expect(refused.detail.codeUsed).toBe(false);
    expect(tiktok.calls).toEqual([]);
    expect(destination.writes).toEqual([]);
  });

  it('stores the token of a seller connected as another shop there, and refuses the new shop', async () => {
    // Prepare: the seller holds acme-old; the exchange revoked its token
    const destination = new FakeDestination();
    const own = new FakeDestination(tokenOf('open_acme', 1), 'acme-old');
    destination.others = [own];

    // Act
    const refused = await refusal(
      connectShop(request({ purpose: 'connect', linkNonce: 'n1' }), {
        now: Date.now,
        appCredentials: credentials,
        tiktok: tiktokAnswering(tokenOf('open_acme', 2)),
        destination,
      }),
    );

    // Assess: the token is acme-old's now, by compare-and-swap on the version checked
    expect(refused).toBeInstanceOf(ConnectedElsewhereError);
    expect(refused.reason).toBe('seller-connected-elsewhere');
    expect(refused.detail).toMatchObject({
      otherShops: ['tiktok-shop/tokens/acme-old'],
      tokenStoredIn: 'tiktok-shop/tokens/acme-old',
      codeUsed: true,
    });
    expect(refused.message).toContain('the new token was stored there');
    expect(own.writes).toEqual([
      { raw: tokenOf('open_acme', 2).raw, basedOnVersionId: 'v-stored' },
    ]);
    expect((refused as ConnectedElsewhereError).connected).toMatchObject({
      shop: 'acme-old',
      connection: 'reconnected',
      stored: { name: 'tiktok-shop/tokens/acme-old' },
    });
    expect(destination.writes).toEqual([]);
  });

  it('stores the token of another seller connected as another shop there, leaving the link’s shop as it was', async () => {
    // Prepare: seller B, connected as acme-b, approves acme-uk's reconnect link
    const stored = tokenOf('open_acme', 1);
    const destination = new FakeDestination(stored);
    const own = new FakeDestination(tokenOf('open_b', 2), 'acme-b');
    destination.others = [own];

    // Act
    const refused = await refusal(
      connectShop(request({ purpose: 'reconnect', linkNonce: 'n1' }), {
        now: Date.now,
        appCredentials: credentials,
        tiktok: tiktokAnswering(tokenOf('open_b', 3)),
        destination,
      }),
    );

    // Assess
    expect(refused.reason).toBe('seller-mismatch');
    expect(refused.detail).toMatchObject({
      storedOpenId: 'open_acme',
      tokenStoredIn: 'tiktok-shop/tokens/acme-b',
    });
    expect(own.current?.raw).toBe(tokenOf('open_b', 3).raw);
    expect(destination.current?.raw).toBe(stored.raw);
  });

  it('does not store a token in a shop whose stored seller is not the one its tag names', async () => {
    const destination = new FakeDestination();
    destination.others = [new FakeDestination(tokenOf('open_other', 1), 'acme-old')];

    const connected = await connectShop(request({ purpose: 'connect', linkNonce: 'n1' }), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(tokenOf('open_acme', 2)),
      destination,
    });

    expect(connected).toMatchObject({ shop: 'acme-uk', connection: 'new' });
    expect(destination.others[0]?.writes).toEqual([]);
  });

  it.each([
    [
      'an answer that is not a token document',
      {
        usable: false,
        raw: '{"code":0,"data":{"refresh_token":"TTS_RT_drift"}}',
        problems: ['data.access_token: required'],
      } as TokenAnswer,
      'it is not a token document (data.access_token: required)',
    ],
    ['an answer that names no seller', tokenOf(undefined), 'it names no seller (open_id)'],
  ])('keeps %s beside the shop’s token, not current, and says where', async (_, answer, why) => {
    // Prepare
    const destination = new FakeDestination();

    // Act
    const connecting = connectShop(request({ purpose: 'connect', linkNonce: 'n1' }), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(answer),
      destination,
    });

    // Assess
    await expect(connecting).rejects.toBeInstanceOf(TokenNotCurrentError);
    await expect(connecting).rejects.toThrow(why);
    await expect(connecting).rejects.toThrow(
      'kept as version v-kept of tiktok-shop/tokens/acme-uk',
    );
    expect(destination.kept).toEqual([answer.raw]);
    expect(destination.writes).toEqual([]);
  });

  it('keeps an answer whose access token has already expired', async () => {
    const destination = new FakeDestination(tokenOf('open_acme', 1));

    const connecting = connectShop(request({ purpose: 'reconnect', linkNonce: 'n1' }), {
      now: () => Date.now() + 8 * 86_400_000,
      appCredentials: credentials,
      tiktok: tiktokAnswering(tokenOf('open_acme', 2)),
      destination,
    });

    await expect(connecting).rejects.toThrow('its access token had already expired');
    expect(destination.kept).toEqual([tokenOf('open_acme', 2).raw]);
  });

  it('refuses, without exchanging its code, a use of a link that another use claimed first', async () => {
    // Prepare: a double approval; the other use claimed the link after this one looked
    const destination = new FakeDestination();
    const tiktok = tiktokAnswering(tokenOf('open_acme'));
    destination.claimLink = async () => ({ claimed: false });

    // Act
    const refused = await refusal(
      connectShop(request({ purpose: 'connect', linkNonce: 'n1' }), {
        now: Date.now,
        appCredentials: credentials,
        tiktok,
        destination,
      }),
    );

    // Assess
    expect(refused.reason).toBe('link-already-used');
    expect(refused.detail.codeUsed).toBe(false);
    expect(tiktok.calls).toEqual([]);
  });

  it('stores the same seller’s token over a token another link of theirs stored meanwhile', async () => {
    // Prepare: two new-shop links approved by one seller; the other one's token arrived first
    const destination = new FakeDestination();
    destination.nextWrites.push({ stored: false, reason: 'moved' });
    destination.onMoved = () => {
      destination.current = { versionId: 'v-other-link', raw: tokenOf('open_acme', 1).raw };
    };

    // Act
    const connected = await connectShop(request({ purpose: 'connect', linkNonce: 'n2' }), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(tokenOf('open_acme', 2)),
      destination,
    });

    // Assess: the later exchange's token is current
    expect(connected.connection).toBe('reconnected');
    expect(destination.current?.raw).toBe(tokenOf('open_acme', 2).raw);
  });

  it('stores after the refresher moved the same seller’s token meanwhile, based on the new one', async () => {
    // Prepare: the refresher replaces the token between the look and the write
    const destination = new FakeDestination(tokenOf('open_acme', 1));
    destination.nextWrites.push({ stored: false, reason: 'moved' });
    destination.onMoved = () => {
      destination.current = { versionId: 'v-refreshed', raw: tokenOf('open_acme', 3).raw };
    };

    // Act
    const connected = await connectShop(request({ purpose: 'reconnect', linkNonce: 'n1' }), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(tokenOf('open_acme', 2)),
      destination,
    });

    // Assess
    expect(connected.connection).toBe('reconnected');
    expect(destination.writes).toEqual([
      { raw: tokenOf('open_acme', 2).raw, basedOnVersionId: 'v-refreshed' },
    ]);
  });

  it('refuses when the shop went to another seller between the look and the write', async () => {
    const destination = new FakeDestination(tokenOf('open_acme', 1));
    destination.nextWrites.push({ stored: false, reason: 'moved' });
    destination.onMoved = () => {
      destination.current = { versionId: 'v-other', raw: tokenOf('open_other', 3).raw };
    };

    const refused = await refusal(
      connectShop(request({ purpose: 'reconnect', linkNonce: 'n1' }), {
        now: Date.now,
        appCredentials: credentials,
        tiktok: tiktokAnswering(tokenOf('open_acme', 2)),
        destination,
      }),
    );

    expect(refused.reason).toBe('seller-mismatch');
    expect(destination.writes).toEqual([]);
  });

  it('gives up with TokenNotStoredError when the token keeps moving', async () => {
    const destination = new FakeDestination(tokenOf('open_acme', 1));
    for (let i = 0; i < 3; i++) destination.nextWrites.push({ stored: false, reason: 'moved' });

    const connecting = connectShop(request(), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(tokenOf('open_acme', 2)),
      destination,
    });

    await expect(connecting).rejects.toBeInstanceOf(TokenNotStoredError);
    await expect(connecting).rejects.toThrow('the seller must approve the app again');
  });

  describe('with several apps', () => {
    const usCredentials = async () => ({ app_key: 'us-key', app_secret: 'APPSECRET_connect_us' });

    it('exchanges the code with the app’s credentials and binds a new shop to that app', async () => {
      // Prepare
      const destination = new FakeDestination();
      const tiktok = tiktokAnswering(tokenOf('open_us'));

      // Act
      const connected = await connectShop(
        request({ purpose: 'connect', linkNonce: 'n1', app: 'us' }),
        { now: Date.now, appCredentials: usCredentials, tiktok, destination },
      );

      // Assess
      expect(tiktok.appKeys).toEqual(['us-key']);
      expect(destination.writtenApps).toEqual(['us']);
      expect(connected).toMatchObject({ app: 'us', connection: 'new' });
      expect(shopConnectedEvent(connected, 'consent-callback').detail).toMatchObject({
        app: 'us',
      });
    });

    it('binds a shop to the default app unless told another', async () => {
      const destination = new FakeDestination();

      const connected = await connectShop(request(), {
        now: Date.now,
        appCredentials: credentials,
        tiktok: tiktokAnswering(tokenOf('open_acme')),
        destination,
      });

      expect(connected.app).toBe('default');
      expect(destination.writtenApps).toEqual(['default']);
    });

    it.each([
      ['a connected shop of the default app', 'default', tokenOf('open_acme', 1)],
      ['the empty secret of a shop of the app eu', 'eu', undefined],
    ])('refuses a US code for %s before exchanging it', async (_, app, stored) => {
      // Prepare
      const destination = new FakeDestination(stored);
      destination.app = app;
      const tiktok = tiktokAnswering(tokenOf('open_acme', 2));
      let credentialsRead = 0;

      // Act
      const refused = await refusal(
        connectShop(request({ app: 'us' }), {
          now: Date.now,
          appCredentials: async () => {
            credentialsRead++;
            return usCredentials();
          },
          tiktok,
          destination,
        }),
      );

      // Assess
      expect(refused.reason).toBe('app-mismatch');
      expect(refused.detail).toEqual({
        shop: 'acme-uk',
        app: 'us',
        storedApp: app,
        codeUsed: false,
      });
      expect(refused.message).toContain(`shop acme-uk is bound to app "${app}"`);
      expect([tiktok.calls, credentialsRead, destination.writes]).toEqual([[], 0, []]);
      expect(
        shopConnectionRefusedEvent(destination.name, refused, 'consent-callback').detail,
      ).toMatchObject({ reason: 'app-mismatch', app: 'us', storedApp: app });
    });

    it('refuses when the shop was bound to another app between the look and the write', async () => {
      // Prepare: a new shop; another link of the app `eu` connects it meanwhile
      const destination = new FakeDestination();
      destination.nextWrites.push({ stored: false, reason: 'moved' });
      destination.onMoved = () => {
        destination.current = { versionId: 'v-eu', raw: tokenOf('open_eu', 3).raw };
        destination.app = 'eu';
      };

      // Act
      const refused = await refusal(
        connectShop(request({ app: 'us' }), {
          now: Date.now,
          appCredentials: usCredentials,
          tiktok: tiktokAnswering(tokenOf('open_us', 2)),
          destination,
        }),
      );

      // Assess
      expect(refused.reason).toBe('app-mismatch');
      expect(refused.detail).toMatchObject({ storedApp: 'eu', codeUsed: true });
      expect(destination.writes).toEqual([]);
    });
  });

  it('reports a failed write as TokenNotStoredError, naming the cause', async () => {
    const destination = new FakeDestination();
    destination.write = async () => {
      throw new TransientError('Secrets Manager CreateSecret failed: ThrottlingException: slow');
    };

    const connecting = connectShop(request(), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(tokenOf('open_acme')),
      destination,
    });

    await expect(connecting).rejects.toBeInstanceOf(TokenNotStoredError);
    await expect(connecting).rejects.toThrow('ThrottlingException: slow');
  });

  it('stores an answer too large for a secret as its token fields, marked as trimmed', async () => {
    // Prepare: TikTok's answer carries 100 KB of optional data
    const destination = new FakeDestination();
    const answer = tokenOf('open_acme');
    const big = {
      ...answer.document,
      data: { ...answer.document.data, granted_scopes: ['x'.repeat(100_000)] },
    };
    const oversized = {
      usable: true as const,
      raw: JSON.stringify(big),
      document: answer.document,
    };

    // Act
    await connectShop(request(), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(oversized),
      destination,
    });

    // Assess
    const stored = JSON.parse(destination.writes[0]?.raw ?? '{}');
    expect(Buffer.byteLength(destination.writes[0]?.raw ?? '')).toBeLessThanOrEqual(65_536);
    expect(stored.data.refresh_token).toBe(answer.document.data.refresh_token);
    expect(stored.data.granted_scopes).toBeUndefined();
    expect(stored.refresher_trimmed_from_bytes).toBe(Buffer.byteLength(oversized.raw));
  });

  it('refuses, writing nothing, an answer whose token alone is too large for a secret', async () => {
    const destination = new FakeDestination();
    const answer = tokenOf('open_acme');
    const huge = {
      ...answer.document,
      data: { ...answer.document.data, access_token: 'A'.repeat(70_000) },
    };

    const connecting = connectShop(request(), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering({
        usable: true,
        raw: JSON.stringify(huge),
        document: answer.document,
      }),
      destination,
    });

    await expect(connecting).rejects.toBeInstanceOf(TokenNotStoredError);
    await expect(connecting).rejects.toThrow('too large for a secret');
    expect(destination.writes).toEqual([]);
  });
});

describe('Function: shopConnectedEvent and shopConnectionRefusedEvent', () => {
  it('describe the shop, the seller and the expiries, never a token', async () => {
    // Prepare
    const destination = new FakeDestination(tokenOf('open_acme', 1));
    const connected = await connectShop(request({ replaceSeller: true }), {
      now: Date.now,
      appCredentials: credentials,
      tiktok: tiktokAnswering(tokenOf('open_buyer', 2)),
      destination,
    });
    const refused = new ShopConnectionRefusedError('another seller', 'seller-mismatch', {
      shop: 'acme-uk',
      openId: 'open_attacker',
      codeUsed: true,
    });

    // Act
    const events = [
      shopConnectedEvent(connected, 'authorize-command'),
      shopConnectionRefusedEvent(destination.name, refused, 'consent-callback'),
    ];

    // Assess
    expect(events).toEqual([
      {
        detailType: 'Shop Connected',
        detail: {
          shop: 'tiktok-shop/tokens/acme-uk',
          shopName: 'acme-uk',
          app: 'default',
          connection: 'seller-replaced',
          openId: 'open_buyer',
          sellerName: 'Seller open_buyer',
          previousOpenId: 'open_acme',
          versionId: 'v-1',
          accessTokenExpiresAt: connected.accessTokenExpiresAt,
          refreshTokenExpiresAt: connected.refreshTokenExpiresAt,
          via: 'authorize-command',
        },
      },
      {
        detailType: 'Shop Connection Refused',
        detail: {
          shop: 'tiktok-shop/tokens/acme-uk',
          shopName: 'acme-uk',
          reason: 'seller-mismatch',
          openId: 'open_attacker',
          codeUsed: true,
          message: 'another seller',
          via: 'consent-callback',
        },
      },
    ]);
    expect(JSON.stringify(events)).not.toContain('TTS_');
  });
});

describe('Function: sellerTagValue', () => {
  it('keeps an open_id that a tag value can hold, and hashes one it cannot', () => {
    expect(sellerTagValue('7494-abc_DEF.1')).toBe('7494-abc_DEF.1');
    expect(sellerTagValue('has space&amp')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(sellerTagValue('has space&amp')).toBe(sellerTagValue('has space&amp'));
  });
});

describe('Function: storedSeller', () => {
  it('reads the seller of a stored document, with a byte-order mark too', () => {
    const raw = `\uFEFF${tokenOf('open_acme').raw}`;

    expect(storedSeller('v1', raw)).toEqual({
      versionId: 'v1',
      openId: 'open_acme',
      sellerName: 'Seller open_acme',
    });
    expect(storedSeller('v2', 'not json')).toEqual({ versionId: 'v2' });
  });
});
