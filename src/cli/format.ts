// Text helpers shared by commands: sizes as people read them, aligned key/value blocks.

/** "64 MiB (67108864 bytes)" style: binary units, exact bytes alongside. */
export function humanSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n} bytes`;
  const text = Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  return `${text} ${units[u]} (${n} bytes)`;
}

/** Key/value lines with the values aligned, as `qemu-img info` prints them. */
export function keyValues(rows: [string, string | number | null | undefined][], indent = ''): string {
  const shown = rows.filter(([, v]) => v !== null && v !== undefined && v !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length)) + 2;
  return shown.map(([k, v]) => `${indent}${`${k}:`.padEnd(width)}${v}`).join('\n');
}
