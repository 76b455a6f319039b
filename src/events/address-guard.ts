import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Why an address may not be called: reported to the user at creation, and recorded on a failed delivery. */
export class AddressRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressRefused';
  }
}

/** An address a delivery may connect to, with its family, checked after DNS resolution. */
export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Keeps users' webhooks from making the server call into the operator's own network (SSRF): an
 * address must be https and every address its host resolves to public; loopback, private, link-local
 * (the cloud metadata services), shared, multicast and reserved ranges are refused. The operator's
 * allowed list (host names, addresses, CIDR ranges) lets more through, plain http included.
 * The sender connects to the very address this returned, so DNS cannot answer differently between
 * the check and the connection.
 */
export class AddressGuard {
  readonly #allowedNames = new Set<string>();
  readonly #allowedAddresses = new BlockList();

  constructor(allowed: readonly string[]) {
    for (const entry of allowed) {
      const [address, bits] = entry.split('/');
      const family = isIP(address ?? '');
      if (family !== 0 && bits !== undefined) this.#allowedAddresses.addSubnet(address!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
      else if (family !== 0) this.#allowedAddresses.addAddress(address!, family === 4 ? 'ipv4' : 'ipv6');
      else this.#allowedNames.add(entry.toLowerCase());
    }
  }

  /** The addresses `url` may be reached at, each checked; throws AddressRefused otherwise. */
  async resolve(url: string): Promise<CheckedAddress[]> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new AddressRefused('The address is not a URL');
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new AddressRefused('The address must be an https URL');
    if (parsed.username !== '' || parsed.password !== '') throw new AddressRefused('The address may not carry credentials');
    const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const nameAllowed = this.#allowedNames.has(host);
    const literal = isIP(host);
    const addresses: CheckedAddress[] = literal !== 0
      ? [{ address: host, family: literal as 4 | 6 }]
      : await lookup(host, { all: true, verbatim: true }).then(
        (found) => found.map((entry) => ({ address: entry.address, family: entry.family as 4 | 6 })),
        () => {
          throw new AddressRefused(`The host ${host} could not be resolved`);
        });
    if (addresses.length === 0) throw new AddressRefused(`The host ${host} could not be resolved`);
    for (const entry of addresses) {
      const allowed = nameAllowed || this.#allowedAddresses.check(entry.address, entry.family === 4 ? 'ipv4' : 'ipv6');
      if (!allowed && parsed.protocol !== 'https:') throw new AddressRefused('The address must be an https URL');
      if (!allowed && !isPublic(entry.address)) throw new AddressRefused(`The address ${host} resolves to ${entry.address}, which is not public`);
    }
    return addresses;
  }
}

const NOT_PUBLIC = new BlockList();
for (const [subnet, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(subnet, bits, 'ipv4');
for (const [subnet, bits] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(subnet, bits, 'ipv6');

/**
 * IPv4-mapped IPv6 addresses. (Kept apart: a BlockList matches IPv4 addresses against a rule for
 * these too, which would make every IPv4 address look mapped.)
 */
const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/** Whether an address is on the public internet (an IPv4-mapped IPv6 address is judged as its IPv4 one). */
export function isPublic(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return !NOT_PUBLIC.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return false;
  // A mapped address in hex (::ffff:7f00:1) is refused rather than decoded.
  if (family === 6 && MAPPED.check(address, 'ipv6')) return false;
  return !NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
