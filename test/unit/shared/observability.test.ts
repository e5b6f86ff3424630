import { describe, expect, it } from 'vitest';
import { ReauthorizationRequiredError } from '../../../lambda/shared/errors.js';
import { errorFields } from '../../../lambda/shared/observability.js';

describe('Function: errorFields', () => {
  it('puts the message under errorMessage, beside the type and TikTok code', () => {
    // Act
    const fields = errorFields(
      new ReauthorizationRequiredError('seller must approve again', 105002),
    );

    // Assess
    expect(fields).toEqual({
      errorType: 'ReauthorizationRequiredError',
      tiktokCode: 105002,
      errorMessage: 'seller must approve again',
    });
    expect(fields).not.toHaveProperty('message');
  });

  it('names only the class of an unforeseen error, never its message', () => {
    // Act
    const fields = errorFields(new SyntaxError('Unexpected token in {"access_token":"TTS_AT"}'));

    // Assess
    expect(fields.errorType).toBe('InternalError');
    expect(fields.errorMessage).not.toContain('TTS_AT');
  });
});
