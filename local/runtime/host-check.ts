/**
 * DNS rebinding guard: a web page can point a name it controls at 127.0.0.1 and have the browser call the local
 * runtime with that name in `Host`. The runtime answers only requests addressed to a loopback name or address,
 * or to the host of the configured issuer (e.g. a tunnel that lets the real Entra read the JWKS), which only the
 * runtime's owner chooses.
 */
import { isLoopbackHost } from '../../contract/url-policy';

/** A host name or IPv4 address, or a bracketed IPv6 address, with an optional port: nothing else a Host can hold. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * True when a request with this `Host` header may be served.
 * @param issuer the configured issuer URL, whose host is accepted too; undefined when the issuer is the runtime's own address
 */
export function isAllowedHost(host: string | undefined, issuer?: string): boolean {
  if (host === undefined || !HOST_HEADER.test(host)) return false;
  let url: URL;
  try {
    url = new URL(`http://${host}`);
  } catch {
    return false;
  }
  if (isLoopbackHost(url.hostname)) return true;
  return issuer !== undefined && new URL(issuer).host.toLowerCase() === url.host.toLowerCase();
}
