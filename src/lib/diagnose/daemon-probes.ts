/**
 * The daemon's side of diagnose (GET /v1/diagnose/dns and /v1/diagnose/connect):
 * ask the daemon's own DNS server a question the way a guest would, and open a
 * TCP connection from the daemon process under the daemon's egress policy.
 *
 * Contract:
 * - resolve(name, type) sends one DNS query (RFC 1035 §4.1) into the same
 *   DnsServer.handleUdp() that guest queries reach, and returns the rcode and
 *   the A (or AAAA) addresses of the answer section, in order.
 * - connect(host, port) resolves host through the host resolver, applies
 *   egressFor() (--allow-egress, martians, host loopback) exactly as a guest
 *   flow to that address would, and only then connects; a refused destination
 *   answers { ok: false, result: "egress_denied" | ... } without any packet.
 * - Both are bounded by timeoutMs and never throw for network outcomes.
 */
import dnsPacket from 'dns-packet';
import { lookup } from 'node:dns/promises';
import { egressFor } from '../nat/egress.js';
import { parseIpv4 } from '../wire/addr.js';
import type { StackConfig } from '../iface/config.js';
import { tcpProbe } from './facts.js';
import type { TcpProbe } from './types.js';

export interface DnsProbe {
  name: string;
  type: 'A' | 'AAAA';
  rcode: string;
  answers: string[];
}

export interface DaemonProbes {
  resolve(name: string, type?: 'A' | 'AAAA'): Promise<DnsProbe>;
  connect(host: string, port: number): Promise<TcpProbe & { address?: string }>;
}

export function daemonProbes(cfg: StackConfig, dns: { handleUdp(q: Buffer): Promise<Buffer | null> }, timeoutMs = 5000): DaemonProbes {
  let id = 1;
  return {
    async resolve(name, type = 'A') {
      id = (id + 1) & 0xffff;
      const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
      let timer: NodeJS.Timeout | undefined;
      const reply = await Promise.race([dns.handleUdp(query), new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)))]).finally(() => clearTimeout(timer));
      if (!reply) return { name, type, rcode: 'TIMEOUT', answers: [] };
      const p = dnsPacket.decode(reply);
      const answers = (p.answers ?? []).filter((a) => a.type === type).map((a) => String((a as { data?: unknown }).data));
      return { name, type, rcode: (p as { rcode?: string }).rcode ?? 'NOERROR', answers };
    },
    async connect(host, port) {
      let address = host;
      if (parseIpv4(host) === undefined) {
        try {
          address = (await lookup(host, { family: 4 })).address;
        } catch (err) {
          return { ok: false, result: (err as NodeJS.ErrnoException).code ?? 'ENOTFOUND' };
        }
      }
      const decision = egressFor(cfg, parseIpv4(address)!);
      if (!decision.ok) return { ok: false, result: decision.reason, address };
      return { ...(await tcpProbe(decision.hostAddress, port, timeoutMs)), address };
    },
  };
}
