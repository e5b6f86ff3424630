import { describe, expect, it } from 'vitest';
import { CHAINED_EVENT } from '../../infra/run-events.js';
import { SCHEDULED_EVENT } from '../../infra/token-refresher.js';
import { parseRunRequest } from '../../lambda/refresher/run-request.js';
import { InvalidEventError } from '../../lambda/shared/errors.js';

const ACCEPTED =
  'accepted fields: force (boolean), shops (array of secret names or ARNs), dryRun (boolean)';
const ENVELOPE =
  'a scheduled event is a schedule\'s envelope (source "aws.scheduler" or "aws.events", detail-type "Scheduled Event") with any options in its detail';

function invalidEvent(event: unknown): InvalidEventError {
  try {
    parseRunRequest(event);
  } catch (error) {
    if (error instanceof InvalidEventError) return error;
    throw error;
  }
  throw new Error('parseRunRequest accepted the event');
}

/** What an EventBridge rule with a schedule expression delivers. */
const RULE_ENVELOPE = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2025-05-08T12:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/refresh-tokens'],
  detail: {},
};

describe('Function: parseRunRequest', () => {
  describe('manual events', () => {
    it.each([undefined, null])('treats %s as a manual run of every shop', (event) => {
      expect(parseRunRequest(event)).toEqual({ trigger: 'manual', force: false, dryRun: false });
    });

    it('treats an empty object as a manual run of every shop', () => {
      const request = parseRunRequest({});

      expect(request).toEqual({ trigger: 'manual', force: false, dryRun: false });
      expect(request).not.toHaveProperty('shops');
    });

    it('reads force, dryRun and shops in any combination', () => {
      expect(parseRunRequest({ force: true })).toEqual({
        trigger: 'manual',
        force: true,
        dryRun: false,
      });
      expect(parseRunRequest({ dryRun: true, shops: ['shop-a'] })).toEqual({
        trigger: 'manual',
        force: false,
        dryRun: true,
        shops: ['shop-a'],
      });
      expect(parseRunRequest({ force: false, dryRun: false, shops: ['a', 'b'] })).toEqual({
        trigger: 'manual',
        force: false,
        dryRun: false,
        shops: ['a', 'b'],
      });
    });

    it('names each requested shop once', () => {
      const request = parseRunRequest({ shops: ['shop-a', 'shop-b', 'shop-a'] });

      expect(request.shops).toEqual(['shop-a', 'shop-b']);
    });

    it('rejects an unknown field in a manual event and lists the accepted ones', () => {
      const error = invalidEvent({ forse: true });

      expect(error.message).toBe(`invalid event: unknown field 'forse'; ${ACCEPTED}`);
      expect(error.errorType).toBe('InvalidEventError');
      expect(error.retryable).toBe(false);
    });

    it('names every unknown field at once', () => {
      const error = invalidEvent({ force: true, dry_run: true, shop: 'a' });

      expect(error.message).toBe(`invalid event: unknown fields 'dry_run', 'shop'; ${ACCEPTED}`);
    });

    it.each([
      [{ force: 'true' }, 'force: must be a boolean'],
      [{ dryRun: 1 }, 'dryRun: must be a boolean'],
      [{ shops: 'shop-a' }, 'shops: must be an array'],
      [{ shops: [] }, 'shops: must name at least one shop'],
      [{ shops: ['shop-a', ''] }, 'shops.1: must not be empty'],
      [{ shops: [42] }, 'shops.0: must be a string'],
    ])('rejects %j naming the field that is wrong', (event, problem) => {
      expect(invalidEvent(event).message).toBe(`invalid event: ${problem}; ${ACCEPTED}`);
    });

    it.each([[[{ force: true }]], ['{"force":true}'], [42], [true]])(
      'rejects %j because it is not a JSON object',
      (event) => {
        expect(invalidEvent(event).message).toBe(
          `invalid event: must be a JSON object; ${ACCEPTED}`,
        );
      },
    );
  });

  describe('scheduled events', () => {
    it('treats an EventBridge rule envelope as a scheduled run', () => {
      expect(parseRunRequest(RULE_ENVELOPE)).toEqual({
        trigger: 'schedule',
        force: false,
        dryRun: false,
      });
    });

    it('treats an EventBridge Scheduler envelope as a scheduled run', () => {
      // Prepare: Scheduler's own source, no detail at all
      const event = {
        source: 'aws.scheduler',
        'detail-type': 'Scheduled Event',
        resources: ['arn:aws:scheduler:eu-west-1:123456789012:schedule/default/refresh-tokens'],
      };

      // Act
      const request = parseRunRequest(event);

      // Assess
      expect(request).toEqual({ trigger: 'schedule', force: false, dryRun: false });
    });

    it('refuses chained from a person: only the run state machine sends it', () => {
      expect(() => parseRunRequest({ chained: true })).toThrow(
        "invalid event: unknown field 'chained'",
      );
    });

    it("marks the run state machine's event as one invocation of a chain", () => {
      expect(parseRunRequest(CHAINED_EVENT)).toEqual({
        trigger: 'schedule',
        force: false,
        dryRun: false,
        chained: true,
      });
    });

    it('reads the options from the detail of a scheduled event', () => {
      const request = parseRunRequest({
        ...RULE_ENVELOPE,
        detail: { force: true, shops: ['shop-b', 'shop-b'] },
      });

      expect(request).toEqual({
        trigger: 'schedule',
        force: true,
        dryRun: false,
        shops: ['shop-b'],
      });
    });

    it('rejects an unknown field in the detail of a scheduled event', () => {
      const error = invalidEvent({ ...RULE_ENVELOPE, detail: { everything: true } });

      expect(error.message).toBe(
        `invalid event: detail: unknown field 'everything'; ${ACCEPTED}; ${ENVELOPE}`,
      );
    });

    it('rejects a wrongly typed option in the detail of a scheduled event', () => {
      const error = invalidEvent({ ...RULE_ENVELOPE, detail: { dryRun: 'yes' } });

      expect(error.message).toBe(
        `invalid event: detail.dryRun: must be a boolean; ${ACCEPTED}; ${ENVELOPE}`,
      );
    });

    it('rejects an envelope of another detail type', () => {
      const error = invalidEvent({ ...RULE_ENVELOPE, 'detail-type': 'Object Created' });

      expect(error.message).toBe(
        `invalid event: detail-type: must be "Scheduled Event"; ${ACCEPTED}; ${ENVELOPE}`,
      );
    });

    it('rejects an envelope without a detail type', () => {
      const error = invalidEvent({ source: 'aws.events', detail: {} });

      expect(error.message).toContain('detail-type');
    });

    it('rejects an envelope without a source', () => {
      const error = invalidEvent({ 'detail-type': 'Scheduled Event' });

      expect(error.message).toBe(
        `invalid event: source: must be "aws.scheduler" or "aws.events"; ${ACCEPTED}; ${ENVELOPE}`,
      );
    });

    it("treats the product's own schedule event as a scheduled run", () => {
      expect(parseRunRequest(SCHEDULED_EVENT)).toEqual({
        trigger: 'schedule',
        force: false,
        dryRun: false,
      });
    });

    it('refuses a scheduled-looking event from another source with an option beside it', () => {
      // Prepare: what a person typed, which used to run a real refresh of every shop
      const event = { source: 'anything', 'detail-type': 'Scheduled Event', dryRun: true };

      // Act
      const error = invalidEvent(event);

      // Assess
      expect(error.message).toBe(
        `invalid event: source: must be "aws.scheduler" or "aws.events"; unknown field 'dryRun'; ${ACCEPTED}; ${ENVELOPE}`,
      );
    });

    it.each([
      ['dryRun', { ...SCHEDULED_EVENT, dryRun: true }],
      ['force', { ...RULE_ENVELOPE, force: true }],
      ['shops', { ...RULE_ENVELOPE, shops: ['shop-a'] }],
    ])('refuses a genuine envelope with %s beside it instead of ignoring it', (field, event) => {
      expect(invalidEvent(event).message).toBe(
        `invalid event: unknown field '${field}'; ${ACCEPTED}; ${ENVELOPE}`,
      );
    });

    it('refuses an envelope field of the wrong type', () => {
      const error = invalidEvent({ ...RULE_ENVELOPE, resources: 'rule/refresh-tokens' });

      expect(error.message).toBe(
        `invalid event: resources: must be an array; ${ACCEPTED}; ${ENVELOPE}`,
      );
    });
  });

  describe('what the error echoes back', () => {
    it('names the first five of many unknown fields and counts the rest', () => {
      // Prepare
      const event = Object.fromEntries(
        Array.from({ length: 100_000 }, (_, i) => [`field${i}`, true]),
      );

      // Act
      const error = invalidEvent(event);

      // Assess
      expect(error.message).toBe(
        `invalid event: unknown fields 'field0', 'field1', 'field2', 'field3', 'field4' and 99,995 more; ${ACCEPTED}`,
      );
    });

    it('names the first five of many problems and counts the rest', () => {
      const error = invalidEvent({ shops: Array.from({ length: 100_000 }, () => '') });

      expect(error.message).toBe(
        `invalid event: shops.0: must not be empty; shops.1: must not be empty; shops.2: must not be empty; shops.3: must not be empty; shops.4: must not be empty; and 99,995 more problems; ${ACCEPTED}`,
      );
    });

    it.each([
      [{ shops: Array.from({ length: 123_000 }, () => 42) }, 'shops'],
      [
        { ...RULE_ENVELOPE, detail: { shops: Array.from({ length: 200_000 }, () => null) } },
        'detail.shops',
      ],
    ])('refuses a list of 100,000+ wrong-typed shops as an invalid event (%#)', (event, path) => {
      const error = invalidEvent(event);

      expect(error.message).toContain(`${path}.0: must be a string; ${path}.1: must be a string`);
      expect(error.message).toMatch(/and (122|199),995 more problems/);
    });

    it('cuts a very long field name short', () => {
      const error = invalidEvent({ ['x'.repeat(100_000)]: true });

      expect(error.message.length).toBeLessThan(500);
      expect(error.message).toContain('…');
    });
  });
});
