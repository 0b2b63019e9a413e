// Query builders and a decoder shared by the DNS tests.
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, OptAnswer, RecordType } from 'dns-packet';

export function query(name: string, type: RecordType, o: { id?: number; edns?: number; version?: number } = {}): Buffer {
  const additionals: OptAnswer[] =
    o.edns !== undefined
      ? [{ type: 'OPT', name: '.', udpPayloadSize: o.edns, extendedRcode: 0, ednsVersion: o.version ?? 0, flags: 0, flag_do: false, options: [] }]
      : [];
  return dnsPacket.encode({ id: o.id ?? 0x4242, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], additionals });
}

/** A record as the tests read it: any type, data left to the test to cast. */
export interface LooseAnswer {
  name: string;
  type: string;
  ttl: number;
  data: unknown;
}

export type Decoded = Omit<DecodedPacket, 'answers' | 'authorities'> & { rcode: string; answers: LooseAnswer[]; authorities: LooseAnswer[] };

export const decode = (b: Buffer | null): Decoded => dnsPacket.decode(b!) as unknown as Decoded;

