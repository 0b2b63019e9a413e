/**
 * The host's resolver configuration, /etc/resolv.conf (resolv.conf(5)).
 *
 * The DNS server forwards non-address queries to these nameservers unless
 * upstreams are configured, and DHCP offers the search list to guests
 * (option 119). Parsing never throws: unknown lines and malformed addresses
 * are skipped; a missing file reads as empty. Later `search`/`domain` lines
 * replace earlier ones, as the libc resolver does. Scoped IPv6 addresses
 * ("fe80::1%eth0") are kept with their zone so node can send to them.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export interface HostResolvConf {
  nameservers: Array<{ host: string; port: number }>;
  search: string[];
}

export function parseResolvConf(text: string): HostResolvConf {
  const nameservers: Array<{ host: string; port: number }> = [];
  let search: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest.length > 0) {
      const host = rest[0];
      if (isIP(host.split('%')[0]) !== 0) nameservers.push({ host, port: 53 });
    } else if (key === 'search' && rest.length > 0) {
      search = rest.map((d) => d.replace(/\.$/, '')).filter((d) => d.length > 0 && d.length <= 253);
    } else if (key === 'domain' && rest.length > 0) {
      search = [rest[0].replace(/\.$/, '')].filter((d) => d.length > 0);
    }
  }
  // resolv.conf(5): at most MAXNS (3) servers and 6 search domains are honoured.
  return { nameservers: nameservers.slice(0, 3), search: search.slice(0, 6) };
}

export function readHostResolvConf(path = '/etc/resolv.conf'): HostResolvConf {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    /* no file: no servers, no search list */
  }
  return parseResolvConf(text);
}
