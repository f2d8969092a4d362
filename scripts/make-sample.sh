#!/usr/bin/env bash
# Builds samples/template.vhdx: the image README's quick start runs on. Made only with independent tools: sfdisk
# (MBR, one active NTFS partition at 1 MiB, disk signature 0xa9083c0a), mkntfs + ntfs-3g (a Windows-like tree),
# qemu-img (dynamic VHDX, 1 MiB blocks). Its \Boot\BCD is test/fixtures/bcd/known-answers-1.BCD (written by hivex
# from the facts of the bcdedit listing in known-answers.md §1, whose partition devices name this very disk).
# Needs root for the FUSE mount. Regenerate with: bash scripts/make-sample.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'mountpoint -q "$work/mnt" && umount "$work/mnt"; rm -rf "$work"' EXIT

raw=$work/disk.raw
part=$work/part.raw
truncate -s 12M "$raw"
printf 'label: dos\nlabel-id: 0xa9083c0a\nstart=2048, size=20480, type=7, bootable\n' | sfdisk -q "$raw"
truncate -s $((20480 * 512)) "$part"
mkntfs -q -F -Q -s 512 -c 4096 -L "System Reserved" -p 2048 -H 255 -S 63 "$part" >/dev/null
mkdir "$work/mnt"
ntfs-3g "$part" "$work/mnt"
mkdir -p "$work/mnt/Boot" "$work/mnt/Windows/System32/config" "$work/mnt/Windows/Setup/State"
cp test/fixtures/bcd/known-answers-1.BCD "$work/mnt/Boot/BCD"
printf '[State]\r\nImageState=IMAGE_STATE_COMPLETE\r\n' >"$work/mnt/Windows/Setup/State/State.ini"
printf 'bootprobe sample: not a real Windows installation\r\n' >"$work/mnt/README.txt"
head -c 70000 /dev/zero | tr '\0' 'B' >"$work/mnt/Windows/System32/big.dat"
umount "$work/mnt"
dd if="$part" of="$raw" bs=512 seek=2048 conv=notrunc status=none
mkdir -p samples
rm -f samples/template.vhdx
qemu-img convert -q -f raw -O vhdx -o subformat=dynamic,block_size=1M "$raw" samples/template.vhdx
ls -l samples/template.vhdx
