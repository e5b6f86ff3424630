// The smallest function that could do this job: it builds the two SDK clients the refresher
// needs and does nothing else. The deployed bundle is measured against it.
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const secretsManager = new SecretsManagerClient({ maxAttempts: 1 });
const eventBridge = new EventBridgeClient({});

export const handler = async () => ({ clients: [secretsManager, eventBridge].length });
