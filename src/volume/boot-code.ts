// What boot code an MBR and a volume boot record carry (docs/boot-sectors.md §1.2 "MBR boot code fingerprints",
// §4 "Volume boot records"): SCVMM's trace calls the result BootSectorType (known-answers.md §3). Pure functions.

export type MbrCodeKind =
  | 'none'
  | 'windows-nt6'
  | 'windows-nt5'
  | 'windows-like'
  | 'msdos'
  | 'grub'
  | 'grub4dos'
  | 'syslinux'
  | 'rufus'
  | 'reactos'
  | 'unknown';

export interface MbrCode {
  kind: MbrCodeKind;
  description: string;
  /** Printable strings of the code (for 'unknown', what a person can recognise). */
  strings: string[];
}

function strings(b: Uint8Array, min = 4): string[] {
  const out: string[] = [];
  let cur = '';
  for (const x of b) {
    if (x >= 0x20 && x < 0x7f) cur += String.fromCharCode(x);
    else {
      if (cur.length >= min) out.push(cur);
      cur = '';
    }
  }
  if (cur.length >= min) out.push(cur);
  return out;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

/** The Windows MBR message table: three pointer bytes at 0x1B5..0x1B7 to NUL-terminated texts in 0x100..0x1B7 (§1.2 step 2). */
function hasWindowsMessageTable(s: Uint8Array): boolean {
  let prev = -1;
  for (let i = 0; i < 3; i++) {
    const at = 0x100 + s[0x1b5 + i]!;
    if (at <= prev || at >= 0x1b5) return false;
    const end = s.indexOf(0, at);
    if (end < 0 || end >= 0x1b5 || end - at < 8) return false;
    for (let k = at; k < end; k++) if (s[k]! < 0x20 || s[k]! > 0x7e) return false;
    prev = at;
  }
  return true;
}

/** Classifies the 440 bytes of MBR boot code (§1.2, first match wins). */
export function classifyMbrCode(sector0: Uint8Array): MbrCode {
  const code = sector0.subarray(0, 440);
  const text = latin1(code);
  const found = strings(code);
  if (code.every((x) => x === 0))
    return { kind: 'none', description: 'no boot code (data disk or zeroed MBR)', strings: [] };
  if (hasWindowsMessageTable(sector0)) {
    if (text.includes('TCPA')) {
      // Vista and 7+ differ from byte 0x2B; Windows 8+ still writes the Windows 7 code (dfir): without the byte
      // images we report the family (§1.2 step 2).
      return {
        kind: 'windows-nt6',
        description: 'Windows MBR (NT6: Vista, 7 or later; bootsect /nt60)',
        strings: found,
      };
    }
    const xpTexts = ['Invalid partition table', 'Error loading operating system', 'Missing operating system'];
    if (xpTexts.every((t) => text.includes(t)))
      return {
        kind: 'windows-nt5',
        description: 'Windows MBR (NT5: 2000, XP, 2003; bootsect /nt52)',
        strings: found,
      };
    return {
      kind: 'windows-like',
      description: 'MBR with the Windows message-table layout (localized or a look-alike)',
      strings: found,
    };
  }
  const at = (s: string, off: number) => text.slice(off, off + s.length) === s;
  if (
    at('Invalid partition table', 0x8b) &&
    at('Error loading operating system', 0xa3) &&
    at('Missing operating system', 0xc2)
  ) {
    return { kind: 'msdos', description: 'MS-DOS / Windows 95 MBR (fdisk /mbr)', strings: found };
  }
  if (text.includes('Missing helper.'))
    return { kind: 'grub4dos', description: 'Grub4DOS MBR', strings: found };
  if (['GRUB ', 'Geom', 'Hard Disk', 'Read', ' Error'].every((s) => text.includes(s)))
    return { kind: 'grub', description: 'GRUB boot.img', strings: found };
  if (text.includes('Multiple active partitions') || text.includes('isolinux.bin missing'))
    return { kind: 'syslinux', description: 'SYSLINUX MBR', strings: found };
  if (text.includes('Press any key to boot from USB'))
    return { kind: 'rufus', description: 'Rufus MBR', strings: found };
  if (text.includes('no active partition found'))
    return { kind: 'reactos', description: 'ReactOS MBR', strings: found };
  return {
    kind: 'unknown',
    description: `unknown boot code${found.length ? ` (strings: ${found.slice(0, 4).join(', ')})` : ''}`,
    strings: found,
  };
}

/** What a volume boot record loads: SCVMM's BootSectorType (Bootmgr, Ntldr...). */
export type VbrLoader = 'bootmgr' | 'ntldr' | 'msdos' | 'freedos' | 'syslinux' | 'none' | 'unknown';

export interface VbrCode {
  loader: VbrLoader;
  description: string;
}

/**
 * Classifies a volume's boot code. `head` is the first 8 KiB of the volume when available (NTFS keeps the loader
 * name at 0x200 in $Boot: §4.1 step 2), else at least sector 0.
 */
export function classifyVbr(head: Uint8Array): VbrCode {
  if (head.length < 512) return { loader: 'unknown', description: 'volume too small' };
  const oem = latin1(head.subarray(3, 11));
  if (oem === 'NTFS    ') {
    if (head.subarray(0x54, 0x1fe).every((x) => x === 0))
      return { loader: 'none', description: 'NTFS, no boot code' };
    if (head.length >= 0x210) {
      const n = head[0x200]! | (head[0x201]! << 8);
      let name = '';
      for (let i = 0; i < n && i < 16; i++)
        name += String.fromCharCode(head[0x202 + 2 * i]! | (head[0x203 + 2 * i]! << 8));
      if (name === 'BOOTMGR') {
        // The Windows 8+ text follows sector 0 (dfir: at byte 668).
        const win8 = latin1(head.subarray(0, 2048)).includes("An operating system wasn't found");
        return {
          loader: 'bootmgr',
          description: `NTFS boot code loading BOOTMGR (NT6${win8 ? ', Windows 8 or later build' : ''})`,
        };
      }
      if (name === 'NTLDR')
        return { loader: 'ntldr', description: 'NTFS boot code loading NTLDR (NT5: 2000, XP, 2003)' };
    }
    if (latin1(head.subarray(0, 512)).includes('This is not a bootable disk')) {
      return { loader: 'none', description: 'NTFS, not bootable (mkntfs boot code)' };
    }
    return { loader: 'unknown', description: 'NTFS with boot code that names no known loader' };
  }
  const text = latin1(head.subarray(0, Math.min(head.length, 8192)));
  if (oem === 'EXFAT   ') {
    const utf16Bootmgr = 'B\0O\0O\0T\0M\0G\0R\0';
    return text.includes(utf16Bootmgr)
      ? { loader: 'bootmgr', description: 'exFAT boot code loading BOOTMGR' }
      : { loader: 'unknown', description: 'exFAT boot code' };
  }
  // FAT: decide by the loader's 8.3 name, not the messages (§4.2).
  const sector = latin1(head.subarray(0, 512));
  if (sector.includes('BOOTMGR    '))
    return { loader: 'bootmgr', description: 'FAT boot code loading BOOTMGR (NT6)' };
  if (sector.includes('NTLDR      '))
    return { loader: 'ntldr', description: 'FAT boot code loading NTLDR (NT5)' };
  if (sector.includes('IO      SYS') || sector.includes('MSDOS   SYS'))
    return { loader: 'msdos', description: 'MS-DOS / Windows 9x boot code' };
  if (sector.includes('KERNEL  SYS')) return { loader: 'freedos', description: 'FreeDOS boot code' };
  if (sector.includes('SYSLINUX')) return { loader: 'syslinux', description: 'SYSLINUX boot code' };
  if (sector.includes('This is not a bootable disk'))
    return { loader: 'none', description: 'not bootable (mkfs.fat boot code)' };
  if (head.subarray(0x5a, 0x1fe).every((x) => x === 0))
    return { loader: 'none', description: 'no boot code' };
  return { loader: 'unknown', description: 'boot code that names no known loader' };
}
