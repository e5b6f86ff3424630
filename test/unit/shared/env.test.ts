import { describe, expect, it } from 'vitest';
import { readEnv, wholeNumberProblem } from '../../../lambda/shared/env.js';
import { ConfigurationError } from '../../../lambda/shared/errors.js';

describe('Function: readEnv', () => {
  it('reads a value without its surrounding blanks, and a blank one as unset', () => {
    // Act
    const read = readEnv({ NAME: '  shop-events ', BLANK: '   ' });

    // Assess
    expect(read.text('NAME')).toBe('shop-events');
    expect(read.text('BLANK')).toBeUndefined();
    expect(read.text('UNSET')).toBeUndefined();
    expect(read.problems).toEqual([]);
  });

  it('collects every problem before failing, in the order they were found', () => {
    // Prepare
    const read = readEnv({ COUNT: '12x', URL: 'http://auth.example.com', LIMIT: '101' }, [
      'an earlier problem',
    ]);

    // Act
    read.required('STATE');
    read.integer('COUNT', 1, 0, 10);
    read.baseUrl('URL', 'https://auth.tiktok-shops.com');
    read.integer('LIMIT', 1, 1, 100);

    // Assess
    expect(read.problems).toEqual([
      'an earlier problem',
      'STATE is required',
      'COUNT must be a whole number from 0 to 10',
      'URL must use https (http is accepted only for a loopback host)',
      'LIMIT must be a whole number from 1 to 100',
    ]);
    expect(() => read.check()).toThrow(
      new ConfigurationError(`invalid configuration: ${read.problems.join('; ')}`),
    );
  });

  it('answers the fallback for an unset number or URL, and passes when nothing is wrong', () => {
    // Act
    const read = readEnv({ COUNT: '7' });

    // Assess
    expect(read.integer('COUNT', 1, 0, 10)).toBe(7);
    expect(read.integer('OTHER', 3, 0, 10)).toBe(3);
    expect(read.baseUrl('URL', 'https://auth.tiktok-shops.com')).toBe(
      'https://auth.tiktok-shops.com',
    );
    expect(() => read.check()).not.toThrow();
  });
});

describe('Function: wholeNumberProblem', () => {
  it.each([
    ['0', undefined],
    ['10', undefined],
    ['11', 'N must be a whole number from 0 to 10'],
    ['-1', 'N must be a whole number from 0 to 10'],
    ['1.5', 'N must be a whole number from 0 to 10'],
    ['1e1', 'N must be a whole number from 0 to 10'],
  ])('judges %j', (value, problem) => {
    expect(wholeNumberProblem('N', value, 0, 10)).toBe(problem);
  });
});
