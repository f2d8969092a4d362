import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyMbrCode, classifyVbr } from '../../../src/volume/boot-code.js';
import { FIXTURES } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';

describe('MBR boot code — boot-sectors.md §1.2', () => {
  it('all zero is no boot code', () => {
    expect(classifyMbrCode(new Uint8Array(512)).kind).toBe('none');
  });

  it('the Windows message table with "TCPA" is NT6, without it NT5', () => {
    const s = new Uint8Array(512);
    const texts = ['Invalid partition table', 'Error loading operating system', 'Missing operating system'];
    let at = 0x163;
    texts.forEach((t, i) => {
      s.set(
        [...t].map((c) => c.charCodeAt(0)),
        at,
      );
      s[0x1b5 + i] = at - 0x100;
      at += t.length + 1;
    });
    s[0] = 0x33;
    expect(classifyMbrCode(s).kind).toBe('windows-nt5');
    s.set(
      [...'TCPA'].map((c) => c.charCodeAt(0)),
      0x40,
    );
    expect(classifyMbrCode(s).kind).toBe('windows-nt6');
    s[0x1b6] = 0xff; // a pointer out of the table: no longer the Windows layout
    expect(classifyMbrCode(s).kind).toBe('unknown');
  });

  it('GRUB and SYSLINUX by their strings', () => {
    const grub = new Uint8Array(512);
    grub.set(
      [...'GRUB Geom Hard Disk Read Error'].map((c) => c.charCodeAt(0)),
      0x180,
    );
    expect(classifyMbrCode(grub).kind).toBe('grub');
    const sys = new Uint8Array(512);
    sys.set(
      [...'Multiple active partitions.'].map((c) => c.charCodeAt(0)),
      0x180,
    );
    expect(classifyMbrCode(sys).kind).toBe('syslinux');
  });
});

describe('volume boot records — boot-sectors.md §4', () => {
  it('NTFS: the loader named in $Boot at 0x200 decides (BOOTMGR → bootmgr), not "contains NTLDR"', () => {
    const v = new Uint8Array(8192);
    v.set(
      [...'NTFS    '].map((c) => c.charCodeAt(0)),
      3,
    );
    v[0x60] = 0xeb;
    const name = (n: string) => {
      v[0x200] = n.length;
      v[0x201] = 0;
      for (let i = 0; i < n.length; i++) v[0x202 + 2 * i] = n.charCodeAt(i);
    };
    name('BOOTMGR');
    expect(classifyVbr(v).loader).toBe('bootmgr');
    v.fill(0, 0x200, 0x220);
    name('NTLDR');
    expect(classifyVbr(v).loader).toBe('ntldr');
  });

  it('mkntfs and mkfs.fat volumes are not bootable', () => {
    expect(
      classifyVbr(gunzipFile(path.join(FIXTURES, 'fs', 'ntfs-512.img.gz')).subarray(0, 8192)),
    ).toMatchObject({ loader: 'none' });
    expect(
      classifyVbr(gunzipFile(path.join(FIXTURES, 'fs', 'fat16.img.gz')).subarray(0, 8192)),
    ).toMatchObject({ loader: 'none' });
  });

  it('FAT: BOOTMGR or NTLDR by the 8.3 loader name', () => {
    const v = gunzipFile(path.join(FIXTURES, 'fs', 'fat32.img.gz')).slice(0, 8192);
    v.set(
      [...'BOOTMGR    '].map((c) => c.charCodeAt(0)),
      0x180,
    );
    expect(classifyVbr(v).loader).toBe('bootmgr');
  });
});
