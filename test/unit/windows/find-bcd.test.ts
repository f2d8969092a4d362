import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../../src/image/open-image.js';
import { FileDevice } from '../../../src/io/file-device.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { BIOS_STORE, findBcdStores, UEFI_STORE } from '../../../src/windows/find-bcd.js';
import { FIXTURES, REPO } from '../../helpers/env.js';
import { gunzipFile } from '../../helpers/gunzip.js';

describe('BCD store locations — bcd.md §1', () => {
  it('finds \\EFI\\Microsoft\\Boot\\BCD on a volume and says where it looked', async () => {
    const disk = new MemoryDevice(gunzipFile(path.join(FIXTURES, 'fs', 'fat32.img.gz')));
    const c = await findBcdStores(disk);
    expect(c.map((x) => [x.path, 'entry' in x.found])).toEqual([
      [BIOS_STORE, false],
      [UEFI_STORE, true],
    ]);
    expect(c[0]!.found).toEqual({ reason: `no ${BIOS_STORE}` });
  });

  it('on the sample template: \\Boot\\BCD on the active NTFS partition comes first', async () => {
    const p = path.join(REPO, 'samples/template.vhd');
    const img = await openImage(await FileDevice.open(p), { path: p });
    const c = await findBcdStores(img);
    expect(c[0]).toMatchObject({ role: 'active partition', path: BIOS_STORE });
    expect('entry' in c[0]!.found && c[0]!.found.entry.size).toBe(28672);
    expect(c[1]).toMatchObject({ path: UEFI_STORE, found: { reason: `no ${UEFI_STORE}` } });
    await img.close();
  });
});
