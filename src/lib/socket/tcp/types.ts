/**
 * Shared shapes of the TCP socket: the states of RFC 9293 §3.3.2, the
 * endpoint 4-tuple halves, the configuration with its defaults, and the
 * per-socket statistics the NAT and `/v1/connections` read.
 */
import type { Counters } from '../../counters.js';
import type { Ipv4 } from '../../wire/addr.js';

/** RFC 9293 §3.3.2 connection states. LISTEN here means "holding a guest SYN, not yet answered". */
export const TcpState = {
  CLOSED: 'CLOSED',
  LISTEN: 'LISTEN',
  SYN_SENT: 'SYN-SENT',
  SYN_RECEIVED: 'SYN-RECEIVED',
  ESTABLISHED: 'ESTABLISHED',
  FIN_WAIT_1: 'FIN-WAIT-1',
  FIN_WAIT_2: 'FIN-WAIT-2',
  CLOSING: 'CLOSING',
  TIME_WAIT: 'TIME-WAIT',
  CLOSE_WAIT: 'CLOSE-WAIT',
  LAST_ACK: 'LAST-ACK',
} as const;
export type TcpState = (typeof TcpState)[keyof typeof TcpState];

export interface Endpoint {
  addr: Ipv4;
  port: number;
}

export interface TcpSocketConfig {
  /** Our MSS (MTU - 40), advertised in our SYN and the cap on what we send. */
  mss: number;
  /**
   * Largest data segment we build (default: mss). Above the MSS only toward a
   * link that cuts super-segments into MSS pieces (tap TSO): new data then goes
   * out in multiples of the peer's MSS; retransmissions stay at one MSS.
   */
  maxSegmentBytes?: number;
  /**
   * Emit a large data segment's payload as views of the queued chunks
   * (TcpRepr.payloadRest) instead of gathering a straddling one into a
   * scratch buffer; for an emitter that writes the views out as they are
   * (a tap with offload, interface.ts). Default false.
   */
  gatherPayload?: boolean;
  /** Queued-unacknowledged bytes at which send() returns false. */
  sndBuf: number;
  /** Receive buffer: the advertised window is rcvBuf - unread bytes. */
  rcvBuf: number;
  /** TIME-WAIT duration, 2*MSL (RFC 9293 §3.4.2); default 60000 ms. */
  timeWaitMs?: number;
  /** Retransmissions of one segment before giving up (RFC 9293 §3.8.3 R2); default 12. */
  maxRetries?: number;
  /** Retransmissions of a SYN or SYN-ACK before giving up; default 6. */
  maxSynRetries?: number;
  /** Delayed-ACK timeout, at most 500 ms (RFC 9293 §3.8.6.3); default 40 ms. */
  delayedAckMs?: number;
  /** RFC 6298 bounds; defaults 200 ms (Linux), 60 s, initial 1 s. */
  minRtoMs?: number;
  maxRtoMs?: number;
  initialRtoMs?: number;
  /** Offer/accept RFC 7323 window scaling, timestamps, and RFC 2018 SACK; default true. */
  windowScaling?: boolean;
  timestamps?: boolean;
  sack?: boolean;
  /**
   * With SACK negotiated: RFC 6675 SACK-based loss recovery (else RFC 6582
   * NewReno, which only skips SACKed data) and RFC 8985 §7 tail loss probes.
   * Default true; false gives the NewReno behaviour for comparison.
   */
  sackRecovery?: boolean;
  tailLossProbe?: boolean;
  /** Initial send sequence number; random (RFC 6528 in spirit) when absent. */
  iss?: number;
  /** Offset added to `now` for our TSval (RFC 7323 §5.4); random when absent. */
  tsOffset?: number;
  /** Challenge ACKs allowed per second (RFC 5961 §7); default 10. */
  challengeAckLimit?: number;
  /** Shared counters: drops are counted as drop.tcp_<reason>. */
  counters?: Counters;
}

/** The configuration with its defaults filled in; shared by every socket made from one TcpSocketConfig. */
export type ResolvedConfig = Required<Omit<TcpSocketConfig, 'iss' | 'tsOffset' | 'counters'>> & Pick<TcpSocketConfig, 'counters'>;

const resolved = new WeakMap<TcpSocketConfig, ResolvedConfig>();

/**
 * The defaults filled in, once per config object (a NAT makes every flow from
 * one or two): resolving per connection read a dozen absent properties through
 * megamorphic inline caches, the top IC-miss site under short connections.
 * The per-connection numbers (ISS, timestamp offset) are not part of it: see
 * perConnection().
 */
export function resolveConfig(cfg: TcpSocketConfig): ResolvedConfig {
  const hit = resolved.get(cfg);
  if (hit) return hit;
  const r: ResolvedConfig = {
    mss: cfg.mss,
    maxSegmentBytes: Math.max(cfg.mss, cfg.maxSegmentBytes ?? cfg.mss),
    gatherPayload: cfg.gatherPayload ?? false,
    sndBuf: cfg.sndBuf,
    rcvBuf: cfg.rcvBuf,
    timeWaitMs: cfg.timeWaitMs ?? 60_000,
    maxRetries: cfg.maxRetries ?? 12,
    maxSynRetries: cfg.maxSynRetries ?? 6,
    delayedAckMs: Math.min(cfg.delayedAckMs ?? 40, 500),
    minRtoMs: cfg.minRtoMs ?? 200,
    maxRtoMs: cfg.maxRtoMs ?? 60_000,
    initialRtoMs: cfg.initialRtoMs ?? 1000,
    windowScaling: cfg.windowScaling ?? true,
    timestamps: cfg.timestamps ?? true,
    sack: cfg.sack ?? true,
    sackRecovery: cfg.sackRecovery ?? true,
    tailLossProbe: cfg.tailLossProbe ?? true,
    challengeAckLimit: cfg.challengeAckLimit ?? 10,
    counters: cfg.counters,
  };
  resolved.set(cfg, r);
  return r;
}

const rand32 = (): number => (Math.random() * 0x100000000) >>> 0;

/** A fresh connection's initial sequence number and TSval offset: random unless the config fixes them (tests). */
export function perConnection(cfg: TcpSocketConfig): { iss: number; tsOffset: number } {
  return { iss: (cfg.iss ?? rand32()) >>> 0, tsOffset: cfg.tsOffset ?? rand32() };
}

/** A TIME-WAIT endpoint's state, all of it (TcpSocket.timeWaitTcb). */
export interface TimeWaitTcb {
  /** When TIME-WAIT began or last restarted (the socket's clock, ms). */
  since: number;
  /** SND.NXT: one past our FIN. */
  sndNxt: number;
  /** RCV.NXT: one past the peer's FIN. */
  rcvNxt: number;
  /** The window field (unscaled, as on the wire) last advertised. */
  window: number;
  /** Added to `now` for our TSval. */
  tsOffset: number;
  /** The peer's TSval to echo; null when timestamps were not negotiated. */
  tsRecent: number | null;
}

/** Why the connection ended (set when the state reaches CLOSED). */
export type CloseReason =
  | 'normal'
  /** The peer reset the connection (or refused it, in SYN-SENT). */
  | 'reset'
  /** Retransmissions exhausted. */
  | 'timeout'
  /** We called abort() or refuse(). */
  | 'aborted';

export interface TcpStats {
  segmentsIn: number;
  segmentsOut: number;
  bytesIn: number;
  bytesOut: number;
  retransmits: number;
  fastRetransmits: number;
  timeouts: number;
  /** RFC 8985 §7 tail loss probes sent. */
  lossProbes: number;
  /** RFC 6675 recovery episodes entered. */
  sackRecoveries: number;
  /** Retransmissions found lost again and resent without a timeout (RFC 8985 §6.2). */
  lostRetransmits: number;
  dupAcksIn: number;
  challengeAcks: number;
  dropped: number;
}

/** RFC 7323 §2.3: the shift that makes rcvBuf fit the 16-bit window field, at most 14. */
export function windowShiftFor(rcvBuf: number): number {
  let shift = 0;
  while (shift < 14 && rcvBuf >> shift > 0xffff) shift++;
  return shift;
}
