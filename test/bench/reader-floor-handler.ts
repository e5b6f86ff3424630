// The smallest function that could read a shop's token: it builds a Secrets Manager client and
// does nothing else. The example reader's bundle is measured against it.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const secretsManager = new SecretsManagerClient({ maxAttempts: 1 });

export const handler = async () => ({ clients: [secretsManager].length });
