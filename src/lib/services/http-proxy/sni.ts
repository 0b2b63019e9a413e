/**
 * The server name a TLS client asks for, read from its ClientHello without
 * terminating TLS (transparent proxying of port 443 needs it for CONNECT).
 *
 * Layout (RFC 8446 §5.1 record, §4.1.2 ClientHello; RFC 6066 §3 server_name):
 *   record:      type(1)=22 handshake, legacy_version(2), length(2)
 *   handshake:   msg_type(1)=1 client_hello, length(3)
 *   hello:       legacy_version(2), random(32), session_id<0..32>(1+n),
 *                cipher_suites<2..>(2+n), compression_methods<1..>(1+n),
 *                extensions<8..>(2+n): type(2), length(2), data
 *   server_name: list length(2), then entries name_type(1)=0 host_name, length(2), name
 *
 * Only the first record is read (a ClientHello fits one 16 KiB record in
 * practice). Never throws: bytes that are not a ClientHello give `none`.
 */

export type SniResult = { status: 'more' } | { status: 'none' } | { status: 'sni'; name: string };

const RECORD_HEADER = 5;
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const HOST_NAME = 0;

/** Parse what has arrived so far; `more` means wait for more bytes. */
export function parseSni(buf: Buffer): SniResult {
  if (buf.length >= 1 && buf[0] !== HANDSHAKE) return { status: 'none' };
  if (buf.length < RECORD_HEADER) return { status: 'more' };
  if (buf[1] !== 3) return { status: 'none' };
  const recordLen = buf.readUInt16BE(3);
  if (buf.length < RECORD_HEADER + recordLen) return { status: 'more' };
  const rec = buf.subarray(RECORD_HEADER, RECORD_HEADER + recordLen);
  try {
    return { ...helloSni(rec) };
  } catch {
    return { status: 'none' };
  }
}

/** Throws RangeError on truncation (caught above). */
function helloSni(rec: Buffer): SniResult {
  if (rec[0] !== CLIENT_HELLO) return { status: 'none' };
  const helloLen = rec.readUIntBE(1, 3);
  const end = Math.min(rec.length, 4 + helloLen);
  let p = 4 + 2 + 32;
  p += 1 + rec.readUInt8(p); // session_id
  p += 2 + rec.readUInt16BE(p); // cipher_suites
  p += 1 + rec.readUInt8(p); // compression_methods
  if (p + 2 > end) return { status: 'none' }; // no extensions at all
  const extEnd = Math.min(end, p + 2 + rec.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = rec.readUInt16BE(p);
    const len = rec.readUInt16BE(p + 2);
    p += 4;
    if (type === EXT_SERVER_NAME) {
      const listEnd = Math.min(p + len, p + 2 + rec.readUInt16BE(p));
      let q = p + 2;
      while (q + 3 <= listEnd) {
        const nameType = rec.readUInt8(q);
        const nameLen = rec.readUInt16BE(q + 1);
        q += 3;
        if (q + nameLen > listEnd) return { status: 'none' };
        if (nameType === HOST_NAME) {
          const name = rec.toString('latin1', q, q + nameLen).toLowerCase();
          return /^[a-z0-9.-]+$/.test(name) ? { status: 'sni', name } : { status: 'none' };
        }
        q += nameLen;
      }
      return { status: 'none' };
    }
    p += len;
  }
  return { status: 'none' };
}
