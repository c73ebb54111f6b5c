/**
 * Lower-cased header names without a string allocation for the common ones.
 *
 * Most header lines of real traffic carry one of a few dozen names. Decoding each name and lower-casing it
 * makes two fresh strings per line, and a fresh string as an object key must be hashed and internalized again;
 * the parser instead hashes the name's bytes case-insensitively while it validates them, and takes the
 * interned lower-case string from this fixed table. Names not in it are decoded as before.
 */

const WELL_KNOWN_NAMES = [
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-allow-origin',
  'access-control-expose-headers',
  'access-control-max-age',
  'access-control-request-headers',
  'access-control-request-method',
  'age',
  'allow',
  'alt-svc',
  'api-key',
  'authorization',
  'b3',
  'cache-control',
  'connection',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-range',
  'content-security-policy',
  'content-type',
  'cookie',
  'date',
  'dnt',
  'etag',
  'expect',
  'expires',
  'forwarded',
  'from',
  'grpc-timeout',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'keep-alive',
  'last-modified',
  'link',
  'location',
  'origin',
  'pragma',
  'priority',
  'proxy-authenticate',
  'proxy-authorization',
  'range',
  'referer',
  'referrer-policy',
  'retry-after',
  'sec-ch-ua',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
  'sec-fetch-dest',
  'sec-fetch-mode',
  'sec-fetch-site',
  'sec-fetch-user',
  'server',
  'server-timing',
  'set-cookie',
  'strict-transport-security',
  'te',
  'timing-allow-origin',
  'traceparent',
  'tracestate',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'upgrade-insecure-requests',
  'user-agent',
  'vary',
  'via',
  'www-authenticate',
  'x-amzn-trace-id',
  'x-api-key',
  'x-auth-token',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-spanid',
  'x-b3-traceid',
  'x-content-type-options',
  'x-correlation-id',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-proto',
  'x-frame-options',
  'x-powered-by',
  'x-real-ip',
  'x-request-id',
  'x-requested-with',
  'x-xss-protection',
];

/** One step of the case-insensitive name hash: ASCII letters count as their lower case. */
export function hashNameByte(hash: number, byte: number): number {
  const lower = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
  return Math.imul(hash ^ lower, 0x01000193) >>> 0;
}

export const NAME_HASH_SEED = 0x811c9dc5;

function hashOf(name: string): number {
  let hash = NAME_HASH_SEED;
  for (let i = 0; i < name.length; i++) hash = hashNameByte(hash, name.charCodeAt(i));
  return hash;
}

// An open-addressed table, a few times larger than the list so that probes stay short: a lookup is an array
// index and a hash compare before the one byte-wise compare that confirms a hit.
const SLOTS = 1024;
const SLOT_MASK = SLOTS - 1;
const slotHashes = new Uint32Array(SLOTS);
const slotNames: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
for (const name of WELL_KNOWN_NAMES) {
  const hash = hashOf(name);
  let slot = hash & SLOT_MASK;
  while (slotNames[slot] !== undefined) slot = (slot + 1) & SLOT_MASK;
  slotHashes[slot] = hash;
  slotNames[slot] = name;
}

/**
 * The lower-cased name of bytes [start, end) of `line` when it is a well-known name, else undefined.
 * @param hash the bytes' hash by `hashNameByte` from `NAME_HASH_SEED`.
 */
export function wellKnownName(line: Buffer, start: number, end: number, hash: number): string | undefined {
  for (let slot = hash & SLOT_MASK; ; slot = (slot + 1) & SLOT_MASK) {
    const name = slotNames[slot];
    if (name === undefined) return undefined;
    if (slotHashes[slot] === hash && name.length === end - start && equalsIgnoringCase(line, start, name)) {
      return name;
    }
  }
}

function equalsIgnoringCase(line: Buffer, start: number, lowerCaseName: string): boolean {
  for (let i = 0; i < lowerCaseName.length; i++) {
    const byte = line[start + i]!;
    const lower = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
    if (lower !== lowerCaseName.charCodeAt(i)) return false;
  }
  return true;
}
