// Makes a name from inside an image safe to create on any host (issue 3: `extract` never writes outside DEST).
// Windows is the strictest host: its reserved characters, device names and trailing dots/spaces are all mapped,
// so the same extraction gives the same names on Linux, macOS and Windows.

// COM¹-COM³ and LPT¹-LPT³ are reserved too; written as escapes because the CLI bundle is ASCII (scripts/build.mjs).
const RESERVED =
  /^(con|prn|aux|nul|conin\$|conout\$|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(\..*)?$/i;
/** Longest name most host file systems accept (bytes in UTF-8 on Linux; 255 UTF-16 units on NTFS). */
const MAX_NAME = 200;

export function safeName(name: string): string {
  // Path separators, NUL, control characters and Windows-reserved characters become '_'.
  let s = name.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_');
  if (s === '' || s === '.' || s === '..') s = s === '' ? '_' : s.replace(/\./g, '_');
  if (RESERVED.test(s)) s = `_${s}`;
  // Windows drops trailing dots and spaces, which would merge names: keep them visible.
  s = s.replace(/[. ]+$/, (m) => '_'.repeat(m.length));
  if (new TextEncoder().encode(s).length > MAX_NAME) {
    let cut = s.slice(0, MAX_NAME);
    while (new TextEncoder().encode(cut).length > MAX_NAME - 9) cut = cut.slice(0, -1);
    s = `${cut}~${hash(name)}`;
  }
  return s;
}

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16).padStart(8, '0');
}
