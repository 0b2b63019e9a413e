/**
 * iproute2's `-j` output as a list of objects: anything that is not a JSON
 * array of objects (an old iproute2, an error message) reads as empty, so the
 * readers built on it never throw on what the OS prints.
 */
/** One object of iproute2's JSON: its fields are checked by each reader as it uses them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type IpJsonObject = Record<string, any>;

export function parseIpJson(text: string): IpJsonObject[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  return raw.filter((x): x is IpJsonObject => typeof x === 'object' && x !== null);
}
