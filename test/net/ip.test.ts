import { describe, expect, it } from 'vitest';
import { cidrContains, embeddedIpv4, formatIp, nonPublicReason, parseCidr, parseIp, parseIpv4, parseIpv6 } from '../../src/net/ip.ts';
import { AllowList } from '../../src/net/allow-list.ts';

const v4 = (text: string): string | undefined => {
  const ip = parseIpv4(text);
  return ip ? formatIp(ip) : undefined;
};

describe('parseIpv4: every notation inet_aton and URLs accept', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['169.254.169.254', '169.254.169.254'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['10.0.0.1.', '10.0.0.1'],
  ])('%s -> %s', (text, expected) => {
    expect(v4(text)).toBe(expected);
  });

  it.each(['256.0.0.1', '1.2.3.4.5', 'example.com', '08.0.0.1', '1..2', '', '4294967296', '1.2.3.256', '0xg'])('rejects %s', (text) => {
    expect(v4(text)).toBeUndefined();
  });
});

describe('parseIpv6', () => {
  it.each([
    ['::1', '0:0:0:0:0:0:0:1'],
    ['[::1]', '0:0:0:0:0:0:0:1'],
    ['::ffff:127.0.0.1', '0:0:0:0:0:ffff:7f00:1'],
    ['[::ffff:7f00:1]', '0:0:0:0:0:ffff:7f00:1'],
    ['64:ff9b::7f00:1', '64:ff9b:0:0:0:0:7f00:1'],
    ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1'],
    ['2001:db8::', '2001:db8:0:0:0:0:0:0'],
  ])('%s', (text, expected) => {
    const ip = parseIpv6(text);
    expect(ip && formatIp(ip)).toBe(expected);
  });

  it.each(['1:2:3:4:5:6:7:8:9', ':::', '1::2::3', 'g::1', '::ffff:1.2.3', 'abc'])('rejects %s', (text) => {
    expect(parseIpv6(text)).toBeUndefined();
  });
});

describe('nonPublicReason: refuses non-public targets in every spelling', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['127.1', 'loopback'],
    ['::1', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['169.254.169.254', 'cloud metadata'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fd12:3456::1', 'unique local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'reserved'],
  ])('%s is %s', (text, reason) => {
    const ip = parseIp(text);
    expect(ip).toBeDefined();
    expect(nonPublicReason(ip!)).toContain(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '93.184.216.34'])('%s is public', (text) => {
    expect(nonPublicReason(parseIp(text)!)).toBeUndefined();
  });

  it('reports the IPv4 address hidden in an IPv6 one', () => {
    expect(formatIp(embeddedIpv4(parseIp('64:ff9b::a9fe:a9fe')!)!)).toBe('169.254.169.254');
    expect(nonPublicReason(parseIp('64:ff9b::a9fe:a9fe')!)).toMatch(/169\.254\.169\.254 embedded/);
  });
});

describe('CIDRs and the allow-list', () => {
  it('matches prefixes bit by bit', () => {
    const net = parseCidr('192.168.4.0/22')!;
    expect(cidrContains(net, parseIp('192.168.7.255')!)).toBe(true);
    expect(cidrContains(net, parseIp('192.168.8.0')!)).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('8.8.8.8')!)).toBe(true);
    expect(cidrContains(parseCidr('fd00::/8')!, parseIp('fd12::1')!)).toBe(true);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
  });

  it('lets listed networks and names through and nothing else', () => {
    const allow = new AllowList(['192.168.1.0/24', 'cams.local', '*.lan']);
    expect(allow.refusal('x', parseIp('192.168.1.7')!)).toBeUndefined();
    expect(allow.refusal('x', parseIp('::ffff:192.168.1.7')!)).toBeUndefined();
    expect(allow.refusal('x', parseIp('192.168.2.7')!)).toBe('private');
    expect(allow.refusal('cams.local', parseIp('10.0.0.5')!)).toBeUndefined();
    expect(allow.refusal('door.lan', parseIp('10.0.0.6')!)).toBeUndefined();
    expect(allow.refusal('evil.example', parseIp('127.0.0.1')!)).toBe('loopback');
    expect(allow.refusal('evil.example', parseIp('8.8.4.4')!)).toBeUndefined();
    expect(() => new AllowList(['http://x/'])).toThrow(/allow-list entry/);
  });
});
