/**
 * Shared test helpers for the wire codecs: the Linux fixture frames and the
 * "only WireError may escape" assertion used by the fuzz properties.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { WireError } from '../../../src/lib/wire/errors.js';

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../fixtures/wire/linux-frames.json', import.meta.url)), 'utf8'),
) as { frames: string[] };

/**
 * Frames of test/fixtures/wire/linux-frames.json by what they are (see capture.sh):
 * 10.213.0.1 (A) talks to 10.213.0.2 (B).
 */
export const LinuxFrame = {
  arpRequest: 0,
  arpReply: 1,
  echoRequest: 2,
  echoReply: 3,
  /** ping -s 3000 from A: three fragments of one echo request (1480 + 1480 + 48 bytes). */
  bigEchoFragments: [4, 5, 6],
  bigEchoReplyFragments: [7, 8, 9],
  udpHello: 10,
  tcpSyn: 11,
  tcpSynAck: 12,
  tcpAck: 13,
  tcpData: 14,
  udpToClosedPort: 19,
  icmpPortUnreachable: 20,
} as const;

export function linuxFrame(i: number): Buffer {
  return Buffer.from(fixture.frames[i], 'hex');
}

export const HOST_A = 0x0ad50001; // 10.213.0.1
export const HOST_B = 0x0ad50002; // 10.213.0.2

/** Run `fn`; it may return or throw a WireError, nothing else. Returns the error reason or undefined. */
export function onlyWireError(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(WireError);
    return (e as WireError).reason;
  }
}

/** Assert that `fn` throws WireError with `reason`. */
export function expectWireError(fn: () => unknown, reason: string): void {
  expect(onlyWireError(fn)).to.equal(reason);
}
