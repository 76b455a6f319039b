import { describe, expect, it } from 'vitest';
import { AddressGuard, AddressRefused, isPublic } from '../../src/events/address-guard.js';

describe('the webhook address guard (SSRF)', () => {
  const strict = new AddressGuard([]);

  it.each([
    ['http://127.0.0.1:8080/hook', /https/],
    ['https://127.0.0.1/hook', /not public/],
    ['https://169.254.169.254/latest/meta-data/', /not public/],
    ['https://10.1.2.3/hook', /not public/],
    ['https://172.16.0.1/hook', /not public/],
    ['https://192.168.1.1/hook', /not public/],
    ['https://100.100.100.200/hook', /not public/],
    ['https://0.0.0.0/hook', /not public/],
    ['https://[::1]/hook', /not public/],
    ['https://[::ffff:127.0.0.1]/hook', /not public/],
    ['https://[fe80::1]/hook', /not public/],
    ['https://[fd00:ec2::254]/hook', /not public/],
    ['https://localhost/hook', /resolves to .*not public/],
    ['ftp://example.com/hook', /https/],
    ['https://user:pass@93.184.216.34/', /credentials/],
    ['not a url', /not a URL/],
  ])('refuses %s', async (address, reason) => {
    const refusal = await strict.resolve(address).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(AddressRefused);
    expect((refusal as Error).message).toMatch(reason);
  });

  it('lets a public https address through, as the address it checked', async () => {
    expect(await strict.resolve('https://93.184.216.34/hook')).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });

  it('lets the operator allow hosts, addresses and ranges, plain http included', async () => {
    const allowing = new AddressGuard(['127.0.0.1', '10.0.0.0/8', 'localhost']);
    expect(await allowing.resolve('http://127.0.0.1:9/x')).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(await allowing.resolve('http://10.20.30.40/x')).toHaveLength(1);
    expect((await allowing.resolve('http://localhost:9/x')).length).toBeGreaterThan(0);
    await expect(allowing.resolve('http://192.168.0.1/x')).rejects.toBeInstanceOf(AddressRefused);
    await expect(allowing.resolve('https://169.254.169.254/x')).rejects.toBeInstanceOf(AddressRefused);
  });

  it.each([
    ['8.8.8.8', true], ['::ffff:7f00:1', false], ['2606:4700:4700::1111', true], ['127.0.0.2', false], ['::ffff:10.0.0.1', false], ['198.18.0.1', false], ['224.0.0.1', false],
  ])('judges %s public: %s', (address, expected) => {
    expect(isPublic(address)).toBe(expected);
  });
});
