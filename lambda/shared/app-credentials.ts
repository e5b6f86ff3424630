// An app's credentials from the text of their secret, for the refresher's store and the webhook
// receiver: one check and one message for a secret that does not hold them.
import { MalformedSecretError } from './errors.js';
import { AppCredentials, parseJson } from './token.js';

/** The app's `{"app_key","app_secret"}` in `text`, read from secret `secretId`. */
export function appCredentialsIn(secretId: string, text: string): AppCredentials {
  const parsed = parseJson(text, AppCredentials);
  if (!parsed.ok) {
    throw new MalformedSecretError(
      `app credentials: secret ${secretId} does not hold {"app_key","app_secret"} (${parsed.problems.join('; ')}); put the app's key and secret in it`,
    );
  }
  return parsed.value;
}
