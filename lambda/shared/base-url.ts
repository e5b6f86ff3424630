/** https everywhere except loopback, where the local endpoints run. Answers the problem, if any. */
export function checkBaseUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://auth.tiktok-shops.com';
  }
  if (/[?#]/.test(value) || url.username !== '' || url.password !== '') {
    return 'must not contain credentials, a query string or a fragment';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return undefined;
  return 'must use https (http is accepted only for a loopback host)';
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}
