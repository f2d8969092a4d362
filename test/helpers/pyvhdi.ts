// libvhdi (python3-libvhdi) as an oracle: its reading of a VHD/VHDX chain, child first, each file linked to the next
// as its parent, hashed in 1 MiB pieces so a large disk never sits in memory.
import { execFileSync } from 'node:child_process';

export const PY = '/usr/bin/python3';

const SCRIPT = `
import hashlib, sys, pyvhdi
files = []
for p in sys.argv[1:]:
    f = pyvhdi.file(); f.open(p); files.append(f)
for child, parent in zip(files, files[1:]):
    child.set_parent(parent)
top = files[0]
size = top.get_media_size()
h = hashlib.sha256()
off = 0
while off < size:
    n = min(1 << 20, size - off)
    h.update(top.read_buffer_at_offset(n, off)); off += n
print(size, h.hexdigest(), top.get_disk_type())
`;

/** Virtual size, sha256 of the whole virtual disk and libvhdi's disk type of `chain` (child first). */
export function pyvhdiChain(chain: string[]): { size: number; sha: string; type: number } {
  const [size, sha, type] = execFileSync(PY, ['-c', SCRIPT, ...chain], { encoding: 'utf8' })
    .trim()
    .split(' ');
  return { size: Number(size), sha: sha!, type: Number(type) };
}
