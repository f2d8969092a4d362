#!/usr/bin/env bash
# Builds the benchmark images of issue 7 with real, independent tools, outside the repository:
#   bench-4g.vhdx    4 GiB MBR disk (disk signature 0xa9083c0a) as a dynamic VHDX (qemu-img convert from raw):
#                      p1  100 MiB NTFS "System Reserved", active: \Boot\BCD (test/fixtures/bcd/known-answers-1.BCD),
#                          \bootmgr, \Boot\memtest.exe, \Boot\en-US\*
#                      p2  the rest, NTFS "Windows": ~50,000 files, \Windows\System32 with 6,000 entries,
#                          \Windows\System32\config\SYSTEM (~36 MB) and SOFTWARE (~40 MB) written by hivexregedit
#                          --merge, \Windows\System32\ntoskrnl.exe and winload.exe (PE files: NSIS stubs),
#                          \pagefile.sys (1 GiB of data) and \Windows\LiveKernelReports\sparse.dmp (2 GiB, sparse)
#   bench-4g.raw     the same disk as raw (sparse): the peers (ntfscat/ntfsls over loop devices, 7-Zip, icat/fls)
#                    read this one
#   bench-127g.vhdx  127 GiB dynamic VHDX (Hyper-V's default size) with the same partitions but a small Windows tree
#                    (hives, kernel, loader, a few files): cheap, sparse
#   layout.json      partition offsets and the paths the benchmark reads
# mkntfs makes the volumes and an ntfs-3g FUSE mount fills them (needs root and /dev/fuse); sfdisk writes the MBR.
# Results are cached: a re-run with the same script and BCD returns at once. Usage:
#   bash bench/make-images.sh [WORKDIR]       (default $BOOTPROBE_BENCH_DIR or /tmp/bootprobe-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=${1:-${BOOTPROBE_BENCH_DIR:-/tmp/bootprobe-bench}}
bcd=$repo/test/fixtures/bcd/known-answers-1.BCD
hivebase=$repo/test/fixtures/hive/types-v15.hiv
stubs=/usr/share/nsis/Stubs

stamp=$( (cat "$0" "$bcd" "$hivebase") | sha256sum | cut -c1-16)
if [ -f "$work/stamp" ] && [ "$(cat "$work/stamp")" = "$stamp" ] &&
  [ -f "$work/bench-4g.vhdx" ] && [ -f "$work/bench-4g.raw" ] && [ -f "$work/bench-127g.vhdx" ]; then
  echo "bench images cached in $work (stamp $stamp)"
  exit 0
fi

for t in sfdisk mkntfs ntfs-3g ntfsfix qemu-img hivexregedit python3; do
  command -v "$t" >/dev/null || {
    echo "make-images: $t is missing (apt-get install ntfs-3g qemu-utils libhivex-bin fdisk python3)" >&2
    exit 2
  }
done
[ -e "$stubs/zlib-amd64-unicode" ] || {
  echo "make-images: NSIS stubs missing (apt-get install nsis): they are the PE files" >&2
  exit 2
}
[ "$(id -u)" = 0 ] || {
  echo "make-images: needs root for the ntfs-3g FUSE mount" >&2
  exit 2
}

mkdir -p "$work"
rm -f "$work/stamp"
tmp=$work/tmp
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do mountpoint -q "$m" && umount "$m"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
rm -rf "$tmp"
mkdir -p "$tmp"

SECTOR=512
P1_START=2048        # 1 MiB
P1_SECTORS=204800    # 100 MiB
P2_START=$((P1_START + P1_SECTORS))

log() { printf '[make-images %s] %s\n' "$(date +%T)" "$*"; }

mount_ntfs() { # image mountpoint
  mkdir -p "$2"
  ntfs-3g -o big_writes,noatime "$1" "$2"
  mounts+=("$2")
}

unmount_ntfs() { # mountpoint image
  sync
  umount "$1"
  ntfsfix -n "$2" >/dev/null
}

# hive FILE MEGABYTES SEED PREFIX: a regf file grown by hivexregedit --merge from the hive fixture, with services-like
# keys holding binary values until it is about MEGABYTES long.
hive() {
  local file=$1 mb=$2 seed=$3 prefix=$4
  cp "$hivebase" "$file"
  python3 - "$tmp/hive.reg" "$mb" "$seed" "$prefix" <<'PY'
import random, sys
out, mb, seed, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = random.Random(seed)
P = 'HKEY_LOCAL_MACHINE\\' + prefix
with open(out, 'w', encoding='utf-8') as f:
    f.write('Windows Registry Editor Version 5.00\n\n')
    f.write('[%s\\ControlSet001]\n\n[%s\\ControlSet001\\Services]\n\n' % (P, P))
    # ~8.4 KB of value data per key, ~10.3 KB of hive each; keys in groups of 50 because hivex reallocates a parent's
    # subkey list on every insert and leaves the old one free (one parent of thousands of keys triples the file)
    for k in range(mb * 1024 * 1024 // 10300):
        if k % 50 == 0:
            f.write('[%s\\ControlSet001\\Services\\Group%03d]\n\n' % (P, k // 50))
        f.write('[%s\\ControlSet001\\Services\\Group%03d\\Svc%05d]\n' % (P, k // 50, k))
        f.write('"DisplayName"="Service %d"\n"Start"=dword:%08x\n"Type"=dword:%08x\n' % (k, k % 5, 1 << (k % 6)))
        f.write('"ImagePath"="\\\\SystemRoot\\\\System32\\\\drivers\\\\svc%05d.sys"\n' % k)
        for v in range(12):
            n = r.randrange(300, 1100)
            f.write('"Value%02d"=hex:%s\n' % (v, ','.join('%02x' % b for b in r.randbytes(n))))
        f.write('\n')
PY
  hivexregedit --merge --prefix "HKEY_LOCAL_MACHINE\\$prefix" "$file" "$tmp/hive.reg"
  rm -f "$tmp/hive.reg"
}

# The System Reserved volume (active partition): what bootmgr reads.
make_sysres() { # image
  local img=$1 m=$tmp/mnt-sysres
  truncate -s $((P1_SECTORS * SECTOR)) "$img"
  mkntfs -q -F -Q -s 512 -c 4096 -L "System Reserved" -p $P1_START -H 255 -S 63 "$img" >/dev/null 2>&1
  mount_ntfs "$img" "$m"
  mkdir -p "$m/Boot/en-US" "$m/Boot/Fonts"
  cp "$bcd" "$m/Boot/BCD"
  cp "$stubs/lzma-x86-unicode" "$m/bootmgr"
  cp "$stubs/zlib-x86-unicode" "$m/Boot/memtest.exe"
  for f in bootmgr.exe.mui memtest.exe.mui; do cp "$stubs/bzip2-x86-unicode" "$m/Boot/en-US/$f"; done
  for f in chs_boot.ttf cht_boot.ttf jpn_boot.ttf kor_boot.ttf wgl4_boot.ttf; do
    cp "$stubs/lzma_solid-x86-unicode" "$m/Boot/Fonts/$f"
  done
  head -c 8192 /dev/zero >"$m/BOOTSECT.BAK"
  unmount_ntfs "$m" "$img"
}

# tree MOUNT FILES S32: a Windows-like tree of about FILES files (deterministic names and sizes); \Windows\System32
# gets exactly S32 entries (6,000: the big directory); the rest is spread over WinSxS, SysWOW64, Program Files, Users...
tree() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, random, sys
root, total, s32_entries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(7)
blocks = [r.randbytes(65536) for _ in range(8)]
made = 0

def size():
    x = r.random()
    if x < 0.35: return r.randrange(0, 700)          # resident in the MFT record
    if x < 0.85: return r.randrange(700, 16384)
    if x < 0.98: return r.randrange(16384, 131072)
    return r.randrange(131072, 1048576)

def put(path, n=None):
    global made
    n = size() if n is None else n
    b = blocks[made % 8]
    with open(path, 'wb') as f:
        while n > 0:
            k = min(n, len(b))
            f.write(b[:k])
            n -= k
    made += 1

def md(*p):
    d = os.path.join(root, *p)
    os.makedirs(d, exist_ok=True)
    return d

words = ['kernel', 'user', 'shell', 'net', 'crypt', 'win', 'base', 'ole', 'rpc', 'dx', 'audio', 'print', 'sec',
         'wmi', 'core', 'mf', 'd3d', 'ntds', 'sys', 'cfg', 'msi', 'http', 'ui', 'input', 'power', 'storage']
exts = ['.dll', '.dll', '.dll', '.exe', '.sys', '.mui', '.cpl', '.tlb', '.xml', '.ini', '.dat']

def name(i):
    return '%s%s%d%s' % (r.choice(words), r.choice(words).capitalize(), i, r.choice(exts))

# \Windows\System32 gets exactly S32 entries (6,000 in the full tree): 200 directories (the caller made config and
# Boot) and files, names unique under case folding as NTFS requires for Win32 names.
s32 = md('Windows', 'System32')
have = {e.lower() for e in os.listdir(s32)}
dirs = [e for e in os.listdir(s32) if os.path.isdir(os.path.join(s32, e))]
want_dirs = min(200, s32_entries // 30)
for s in ['drivers', 'en-US', 'wbem', 'spool', 'catroot', 'DriverStore', 'WindowsPowerShell', 'migration'] + [
        'dir%03d' % k for k in range(200)]:
    if len(dirs) >= want_dirs: break
    if s.lower() in have: continue
    d = md('Windows', 'System32', s)
    have.add(s.lower()); dirs.append(s)
    for j in range(400 if s == 'drivers' else 5):
        put(os.path.join(d, name(j)))
i = 0
while len(have) < s32_entries:
    n = name(i); i += 1
    if n.lower() in have: continue
    put(os.path.join(s32, n)); have.add(n.lower())

def spread(top, dirs, per):
    for k in range(dirs):
        d = md(*top, 'pkg_%05d_%s' % (k, r.choice(words)))
        for j in range(per):
            put(os.path.join(d, name(j)))

share = max(total - made, 0)
for top, pct, per in ((('Windows', 'WinSxS'), 55, 16), (('Windows', 'SysWOW64'), 6, 100), (('Program Files',), 13, 40),
                      (('Program Files (x86)',), 6, 30), (('ProgramData', 'Microsoft'), 3, 25)):
    spread(top, max(share * pct // 100 // per, 1), per)
while made < total:
    d = md('Users', 'Default', 'AppData', 'Local', 'd%03d' % (made // 40))
    put(os.path.join(d, name(made)))
print('files written:', made)
PY
}

# The Windows volume. $1 image, $2 bytes, $3 "full" (50,000 files, 1 GiB file, sparse file) or "small".
make_windows() {
  local img=$1 bytes=$2 kind=$3 m=$tmp/mnt-win-$3
  truncate -s "$bytes" "$img"
  mkntfs -q -F -Q -s 512 -c 4096 -L "Windows" -p $P2_START -H 255 -S 63 "$img" >/dev/null 2>&1
  mount_ntfs "$img" "$m"
  local cfg=$m/Windows/System32/config
  mkdir -p "$cfg" "$m/Windows/Setup/State" "$m/Windows/System32/Boot" "$m/Windows/LiveKernelReports"
  cp "$tmp/SYSTEM" "$tmp/SOFTWARE" "$cfg/"
  for h in DEFAULT SAM SECURITY; do cp "$hivebase" "$cfg/$h"; done
  cp "$stubs/zlib-amd64-unicode" "$m/Windows/System32/ntoskrnl.exe"
  cp "$stubs/lzma-amd64-unicode" "$m/Windows/System32/winload.exe"
  cp "$stubs/bzip2-amd64-unicode" "$m/Windows/System32/winresume.exe"
  cp "$stubs/lzma-amd64-unicode" "$m/Windows/System32/Boot/winload.exe"
  printf '[State]\r\nImageState=IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE\r\n' >"$m/Windows/Setup/State/State.ini"
  if [ "$kind" = full ]; then
    log "1 GiB file and sparse file"
    dd if=/dev/urandom of="$m/pagefile.sys" bs=4M count=256 status=none
    python3 - "$m/Windows/LiveKernelReports/sparse.dmp" <<'PY'
import sys
f = open(sys.argv[1], 'wb')
for at in (0, 1 << 30, (2 << 30) - (1 << 20)):  # 1 MiB of data at 0, 1 GiB and the end of 2 GiB; holes between
    f.seek(at)
    f.write(bytes((i * 7) & 0xff for i in range(1 << 20)))
f.close()
PY
    log "tree of 50,000 files (a few minutes through FUSE)"
    tree "$m" 49990 6000
  else
    tree "$m" 300 60
  fi
  unmount_ntfs "$m" "$img"
}

# disk OUT.raw BYTES SYSRES WINDOWS: MBR (signature 0xa9083c0a, p1 active) and the two volumes copied in, sparse.
disk() {
  local out=$1 bytes=$2
  rm -f "$out"
  truncate -s "$bytes" "$out"
  printf 'label: dos\nlabel-id: 0xa9083c0a\nstart=%d, size=%d, type=7, bootable\nstart=%d, type=7\n' \
    $P1_START $P1_SECTORS $P2_START | sfdisk -q "$out"
  dd if="$3" of="$out" bs=1M seek=$((P1_START * SECTOR / 1048576)) conv=notrunc,sparse status=none
  dd if="$4" of="$out" bs=1M seek=$((P2_START * SECTOR / 1048576)) conv=notrunc,sparse status=none
}

GiB=$((1024 * 1024 * 1024))
log "hives"
hive "$tmp/SYSTEM" 36 1 SYSTEM
hive "$tmp/SOFTWARE" 40 2 SOFTWARE
log "SYSTEM $(stat -c %s "$tmp/SYSTEM") bytes, SOFTWARE $(stat -c %s "$tmp/SOFTWARE") bytes"
log "System Reserved volume"
make_sysres "$tmp/sysres.ntfs"

log "4 GiB disk"
make_windows "$tmp/win4.ntfs" $((4 * GiB - P2_START * SECTOR)) full
disk "$work/bench-4g.raw" $((4 * GiB)) "$tmp/sysres.ntfs" "$tmp/win4.ntfs"
rm -f "$tmp/win4.ntfs"
rm -f "$work/bench-4g.vhdx"
qemu-img convert -q -f raw -O vhdx -o subformat=dynamic "$work/bench-4g.raw" "$work/bench-4g.vhdx"

log "127 GiB disk"
make_windows "$tmp/win127.ntfs" $((127 * GiB - P2_START * SECTOR)) small
disk "$tmp/d127.raw" $((127 * GiB)) "$tmp/sysres.ntfs" "$tmp/win127.ntfs"
rm -f "$tmp/win127.ntfs" "$work/bench-127g.vhdx"
qemu-img convert -q -f raw -O vhdx -o subformat=dynamic "$tmp/d127.raw" "$work/bench-127g.vhdx"
rm -f "$tmp/d127.raw"

cat >"$work/layout.json" <<EOF
{
  "sectorSize": $SECTOR,
  "sysres": { "partition": 1, "startSector": $P1_START, "offset": $((P1_START * SECTOR)), "sectors": $P1_SECTORS },
  "windows": { "partition": 2, "startSector": $P2_START, "offset": $((P2_START * SECTOR)) },
  "bcd": "Boot/BCD",
  "hive": "Windows/System32/config/SYSTEM",
  "bigFile": "pagefile.sys",
  "sparseFile": "Windows/LiveKernelReports/sparse.dmp"
}
EOF
echo "$stamp" >"$work/stamp"
log "done:"
ls -ls "$work"/*.vhdx "$work"/*.raw
