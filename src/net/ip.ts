/**
 * IP address parsing and classification for the SSRF guard. Pure functions over bytes: every notation a URL or a
 * resolver can produce (decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f000001`, short `127.1`, IPv6 with
 * embedded IPv4 such as `::ffff:127.0.0.1` or NAT64 `64:ff9b::7f00:1`) is reduced to bytes first, so the policy is
 * checked once on the real address and never on a spelling of it.
 */

export interface IpAddress {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
}

/** Parse an IPv4 address the way inet_aton and the WHATWG URL parser do (1-4 parts, decimal/octal/hex). */
export function parseIpv4(text: string): IpAddress | undefined {
  if (text.length === 0 || text.length > 64) return undefined;
  const raw = text.endsWith('.') ? text.slice(0, -1) : text;
  const parts = raw.split('.');
  if (parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    const value = parseIpv4Part(part);
    if (value === undefined) return undefined;
    numbers.push(value);
  }
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255)) return undefined;
  if (last >= 256 ** (4 - numbers.length)) return undefined;
  let value = last;
  numbers.forEach((n, i) => {
    value += n * 256 ** (3 - i);
  });
  const bytes = new Uint8Array([(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
  return { family: 4, bytes };
}

function parseIpv4Part(part: string): number | undefined {
  if (part.length === 0) return undefined;
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
    if (digits.length === 0) return 0;
    if (!/^[0-9a-f]+$/i.test(digits)) return undefined;
  } else if (part.length > 1 && part.startsWith('0')) {
    digits = part.slice(1);
    radix = 8;
    if (!/^[0-7]+$/.test(digits)) return undefined;
  } else if (!/^[0-9]+$/.test(part)) {
    return undefined;
  }
  const value = parseInt(digits, radix);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Parse an IPv6 address (brackets and a zone id allowed), including a trailing dotted IPv4 part. */
export function parseIpv6(text: string): IpAddress | undefined {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(':') || s.length > 64) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const groups: number[] = [];
    const items = half.split(':');
    for (let i = 0; i < items.length; i += 1) {
      const item = items[i];
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseDottedQuad(item);
        if (!v4) return undefined;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-f]{1,4}$/i.test(item)) return undefined;
        groups.push(parseInt(item, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0]);
  const tail = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 255;
  });
  return { family: 6, bytes };
}

/** Strict a.b.c.d (only used inside IPv6 text, where the short forms are not allowed). */
function parseDottedQuad(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^[0-9]{1,3}$/.test(p))) return undefined;
  const numbers = parts.map((p) => parseInt(p, 10));
  return numbers.every((n) => n <= 255) ? numbers : undefined;
}

/** Parse any textual IP address; undefined when the text is a host name. */
export function parseIp(text: string): IpAddress | undefined {
  return parseIpv6(text) ?? parseIpv4(text);
}

export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return Array.from(ip.bytes).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i] << 8) | ip.bytes[i + 1]).toString(16));
  return groups.join(':');
}

export interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.lastIndexOf('/');
  const addressText = slash >= 0 ? text.slice(0, slash) : text;
  const ip = parseIp(addressText.trim());
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  const prefix = slash >= 0 ? Number(text.slice(slash + 1)) : max;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { family: ip.family, bytes: ip.bytes, prefix };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((cidr.bytes[i] & mask) !== (ip.bytes[i] & mask)) return false;
  }
  return true;
}

function cidrs(list: readonly [string, string][]): { cidr: Cidr; reason: string }[] {
  return list.map(([text, reason]) => ({ cidr: parseCidr(text)!, reason }));
}

/** Non-public IPv4 ranges (RFC 6890 and friends) with the reason reported to the client. */
const V4_BLOCKED = cidrs([
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.169.254/32', 'cloud metadata'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignment'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
]);

const V6_BLOCKED = cidrs([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['100::/64', 'discard-only'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['2001::/32', 'Teredo'],
  ['2001:db8::/32', 'documentation'],
  ['fd00:ec2::254/128', 'cloud metadata'],
  ['fc00::/7', 'unique local (private)'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
]);

/** IPv6 ranges that carry an IPv4 address: the embedded address is what a packet may really reach. */
const V6_EMBEDDING: { cidr: Cidr; offset: number }[] = [
  { cidr: parseCidr('::ffff:0:0/96')!, offset: 12 }, // IPv4-mapped
  { cidr: parseCidr('::/96')!, offset: 12 }, // IPv4-compatible (deprecated, still routed by some stacks)
  { cidr: parseCidr('64:ff9b::/96')!, offset: 12 }, // NAT64 well-known prefix
  { cidr: parseCidr('2002::/16')!, offset: 2 }, // 6to4
];

/** The IPv4 address an IPv6 address embeds (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedIpv4(ip: IpAddress): IpAddress | undefined {
  if (ip.family !== 6) return undefined;
  for (const { cidr, offset } of V6_EMBEDDING) {
    if (cidrContains(cidr, ip)) return { family: 4, bytes: ip.bytes.slice(offset, offset + 4) };
  }
  return undefined;
}

/**
 * Why an address is not a public unicast address, or undefined when it is. An IPv6 address that embeds an IPv4
 * address is judged by the embedded one as well.
 */
export function nonPublicReason(ip: IpAddress): string | undefined {
  if (ip.family === 4) {
    const hit = V4_BLOCKED.find(({ cidr }) => cidrContains(cidr, ip));
    if (hit) return hit.reason;
    if (ip.bytes.every((b) => b === 255)) return 'broadcast';
    return undefined;
  }
  const hit = V6_BLOCKED.find(({ cidr }) => cidrContains(cidr, ip));
  if (hit) return hit.reason;
  const v4 = embeddedIpv4(ip);
  if (v4) {
    const inner = nonPublicReason(v4);
    if (inner) return `${inner} (IPv4 ${formatIp(v4)} embedded in IPv6)`;
  }
  return undefined;
}
