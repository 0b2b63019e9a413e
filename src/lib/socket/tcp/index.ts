/**
 * Public surface of the sans-IO TCP socket (RFC 9293 with RFC 7323, 2018,
 * 5961, 5681, 6582, 6675, 8985 §6.2/§7, 6298, 6928). See socket.ts for the contract.
 */
export { TcpSocket } from './socket.js';
export { rstForUnexpected } from './stray.js';
export {
  TcpState,
  type Endpoint,
  type TcpSocketConfig,
  type TcpStats,
  type CloseReason,
  type TimeWaitTcb,
  windowShiftFor,
} from './types.js';
export { seqAdd, seqSub, seqDiff, seqLt, seqLe, seqGt, seqGe, seqMax, seqMin, seqInRange } from './seq.js';
