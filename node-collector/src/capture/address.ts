/** Text forms of the raw network-order addresses in wire records. */

/** IPv4 dotted quad; IPv6 in RFC 5952 form, except IPv4-mapped addresses, shown as the IPv4 address they carry. */
export function formatAddress(buf: Buffer, at: number, family: 4 | 6): string {
  if (family === 4) return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(buf.readUInt16BE(at + i * 2));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return formatAddress(buf, at + 12, 4);
  return compressIpv6(words);
}

function compressIpv6(words: number[]): string {
  // The longest run of two or more zero words becomes "::" (the first such run on a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
