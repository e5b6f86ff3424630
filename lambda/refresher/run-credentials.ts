// The apps' credentials for one run: the one place they are memoized, each app's read at most
// once per run, and every app with a shop in the run read at its start.
import { DEFAULT_APP } from '../shared/contract.js';
import type { AppCredentials } from '../shared/token.js';
import { appOf, type Shop } from './shops.js';

/**
 * An app's credentials, read by `load` the first time the app is asked for. Every app with a
 * shop in the run (the default app's in a run without shops) is read at once, due shops or not,
 * so that broken credentials show in every run and not days later when a token falls due. A
 * failure is reported by each due shop of that app when it asks, and by no other shop.
 */
export function runCredentials(
  shops: readonly Shop[],
  load: (app: string) => Promise<AppCredentials>,
): (app: string) => Promise<AppCredentials> {
  const reads = new Map<string, Promise<AppCredentials>>();
  const credentials = (app: string): Promise<AppCredentials> => {
    let read = reads.get(app);
    if (read === undefined) {
      read = load(app);
      reads.set(app, read);
    }
    return read;
  };
  const apps = new Set(shops.filter((shop) => shop.appProblem === undefined).map(appOf));
  if (shops.length === 0) apps.add(DEFAULT_APP);
  for (const app of apps) credentials(app).catch(() => {});
  return credentials;
}
