/**
 * Docker-style port specs for `hnet ports add|remove` (DESIGN §4).
 *
 *   add:    [HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp]
 *   remove: [HOST_IP:]HOST_PORT[-END][/tcp|/udp]
 *
 * Contract:
 * - HOST_IP defaults to 127.0.0.1 and proto to tcp; ports are 1-65535.
 * - A host range maps onto a guest range of the same length, port by port
 *   (8000-8010:8000-8010); a single guest port with a host range is refused,
 *   as are reversed ranges and ranges over MAX_RANGE ports.
 * - Anything else throws UsageError HNET_BAD_SPEC (exit 2) quoting the spec
 *   and showing the accepted forms.
 */
import { UsageError } from '../errors.js';
import { parseIpv4 } from '../wire/addr.js';
import type { Proto } from './control-types.js';

export const MAX_RANGE = 1024;
export const DEFAULT_HOST_IP = '127.0.0.1';

/** One forward as persisted and as sent to POST /v1/ports. */
export interface PortSpec {
  proto: Proto;
  hostIp: string;
  hostPort: number;
  guestIp?: string;
  guestPort: number;
}

/** What `ports remove` names: host ports on one host IP. */
export interface PortTarget {
  proto: Proto;
  hostIp: string;
  hostPorts: number[];
}

const EXAMPLES = ['8080:80', '127.0.0.1:8080:80', '8000-8010:8000-8010', '5353:53/udp'];

function bad(spec: string, why: string): UsageError {
  return new UsageError('HNET_BAD_SPEC', `bad port spec "${spec}": ${why}`, [`use a form like ${EXAMPLES.join(', ')}`]);
}

function splitProto(spec: string): { body: string; proto: Proto } {
  const slash = spec.lastIndexOf('/');
  if (slash < 0) return { body: spec, proto: 'tcp' };
  const p = spec.slice(slash + 1).toLowerCase();
  if (p !== 'tcp' && p !== 'udp') throw bad(spec, `protocol "${p}" is not tcp or udp`);
  return { body: spec.slice(0, slash), proto: p };
}

function parsePort(spec: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw bad(spec, `"${text}" is not a port number`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw bad(spec, `port ${n} is outside 1-65535`);
  return n;
}

function parseRange(spec: string, text: string): number[] {
  const dash = text.indexOf('-');
  if (dash < 0) return [parsePort(spec, text)];
  const lo = parsePort(spec, text.slice(0, dash));
  const hi = parsePort(spec, text.slice(dash + 1));
  if (hi < lo) throw bad(spec, `range ${text} runs backwards`);
  if (hi - lo + 1 > MAX_RANGE) throw bad(spec, `range ${text} has more than ${MAX_RANGE} ports`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

function parseHostIp(spec: string, text: string): string {
  if (parseIpv4(text) === undefined) throw bad(spec, `"${text}" is not an IPv4 address`);
  return text;
}

/** Parse an add spec into one PortSpec per host port. */
export function parseAddSpec(spec: string, guestIp?: string): PortSpec[] {
  const text = spec.trim();
  const { body, proto } = splitProto(text);
  const parts = body.split(':');
  if (parts.length < 2 || parts.length > 3) throw bad(text, 'expected HOST_PORT:GUEST_PORT, optionally after HOST_IP:');
  const hostIp = parts.length === 3 ? parseHostIp(text, parts[0]) : DEFAULT_HOST_IP;
  const hostPorts = parseRange(text, parts[parts.length - 2]);
  const guestPorts = parseRange(text, parts[parts.length - 1]);
  if (hostPorts.length !== guestPorts.length) {
    throw bad(text, `the host range has ${hostPorts.length} ports and the guest range ${guestPorts.length}; they must match`);
  }
  if (guestIp !== undefined && parseIpv4(guestIp) === undefined) {
    throw new UsageError('HNET_BAD_SPEC', `--guest ${guestIp} is not an IPv4 address`, ['use a guest address such as 192.168.65.2']);
  }
  return hostPorts.map((hostPort, i) => ({ proto, hostIp, hostPort, ...(guestIp !== undefined ? { guestIp } : {}), guestPort: guestPorts[i] }));
}

/** Parse a remove spec. */
export function parseRemoveSpec(spec: string): PortTarget {
  const text = spec.trim();
  const { body, proto } = splitProto(text);
  const parts = body.split(':');
  if (parts.length > 2) throw bad(text, 'remove takes [HOST_IP:]HOST_PORT[/tcp|/udp] (no guest port)');
  const hostIp = parts.length === 2 ? parseHostIp(text, parts[0]) : DEFAULT_HOST_IP;
  return { proto, hostIp, hostPorts: parseRange(text, parts[parts.length - 1]) };
}

/** `127.0.0.1:8080/tcp`, the form remove accepts. */
export function formatHostSide(p: { proto: Proto; hostIp: string; hostPort: number }): string {
  return `${p.hostIp}:${p.hostPort}/${p.proto}`;
}

export function sameHostSide(a: { proto: Proto; hostIp: string; hostPort: number }, b: { proto: Proto; hostIp: string; hostPort: number }): boolean {
  return a.proto === b.proto && a.hostIp === b.hostIp && a.hostPort === b.hostPort;
}
