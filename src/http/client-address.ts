/**
 * The key under which per-client limits (admission places, key failures) count an address. An IPv4 address, or an
 * IPv4-mapped IPv6 one (`::ffff:10.0.0.1`, as a dual-stack socket reports IPv4 clients), is itself; other IPv6
 * addresses count by their /64, because one host is routinely given a whole /64 and could otherwise be a new client
 * with every request.
 */
import { formatIp, parseIpv6 } from '../net/ip.ts';

export function clientKey(address: string): string {
  if (!address.includes(':')) return address;
  const ip = parseIpv6(address);
  if (!ip) return address;
  const b = ip.bytes;
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return formatIp({ family: 4, bytes: b.subarray(12) });
  const hextets: string[] = [];
  for (let i = 0; i < 8; i += 2) hextets.push(((b[i] << 8) | b[i + 1]).toString(16));
  return `${hextets.join(':')}::/64`;
}
