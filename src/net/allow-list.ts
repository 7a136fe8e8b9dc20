/**
 * The operator's exceptions to the SSRF guard: CIDRs (`192.168.1.0/24`, `fd12::/16`), single addresses, and host
 * names (`cams.local`, `*.lan`). Everything else must resolve to public unicast addresses only.
 */
import { cidrContains, embeddedIpv4, nonPublicReason, parseCidr, type Cidr, type IpAddress } from './ip.ts';

export class AllowList {
  private readonly cidrs: Cidr[] = [];
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(entries: readonly string[] = []) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      const cidr = parseCidr(entry);
      if (cidr) this.cidrs.push(cidr);
      else if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1));
      else if (/^[a-z0-9.-]+$/.test(entry)) this.hosts.add(entry.replace(/\.$/, ''));
      else throw new Error(`fetch allow-list entry '${raw}' is neither a CIDR, an address nor a host name`);
    }
  }

  permitsHost(hostname: string): boolean {
    const host = hostname.toLowerCase().replace(/\.$/, '');
    return this.hosts.has(host) || this.suffixes.some((s) => host.endsWith(s));
  }

  permitsAddress(ip: IpAddress): boolean {
    const v4 = embeddedIpv4(ip);
    return this.cidrs.some((c) => cidrContains(c, ip) || (v4 !== undefined && cidrContains(c, v4)));
  }

  /** Why connecting to `ip` (reached through `hostname`) is refused, or undefined when it is allowed. */
  refusal(hostname: string, ip: IpAddress): string | undefined {
    if (this.permitsHost(hostname) || this.permitsAddress(ip)) return undefined;
    return nonPublicReason(ip);
  }
}
