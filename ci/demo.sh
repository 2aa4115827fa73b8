#!/usr/bin/env bash
# The quick start's main job: installs what rafs needs, builds build/rafs,
# generates a small gzip'ed tar layer, converts it with `rafs create`,
# verifies every chunk with `rafs check -D`, shows `rafs dump`, and proves
# `rafs unpack` gives back exactly what went in. Work files: build/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target rafs >/dev/null
rafs=build/rafs
demo=build/demo
rm -rf "$demo"
mkdir -p "$demo/src/etc" "$demo/src/usr/share" "$demo/blobs" "$demo/out"

# A small layer: real text files, a symlink, a hard link, an empty file,
# a sparse file and an xattr.
cp -r /usr/share/common-licenses "$demo/src/usr/share/"
printf 'rafs demo\n' > "$demo/src/etc/motd"
ln -s ../usr/share/common-licenses/GPL-3 "$demo/src/etc/license"
ln "$demo/src/etc/motd" "$demo/src/etc/motd.link"
: > "$demo/src/etc/empty"
truncate -s 64M "$demo/src/sparse.img" && printf 'end' >> "$demo/src/sparse.img"
setfattr -n user.demo -v yes "$demo/src/etc/motd" 2>/dev/null || true
tar --xattrs --sparse --numeric-owner -C "$demo/src" -czf "$demo/layer.tar.gz" .

echo "== rafs create"
$rafs create "$demo/layer.tar.gz" -B "$demo/image.boot" -D "$demo/blobs" -J "$demo/create.json"
echo "== rafs check -D"
$rafs check "$demo/image.boot" -D "$demo/blobs"
echo "== rafs dump (first lines)"
$rafs dump "$demo/image.boot" | head -n 20
echo "== rafs unpack, then GNU tar extraction compared with the source"
$rafs unpack "$demo/image.boot" -D "$demo/blobs" -o "$demo/image.tar"
tar --xattrs --numeric-owner -xpf "$demo/image.tar" -C "$demo/out"
diff -r --no-dereference "$demo/src" "$demo/out"
echo "demo ok: layer $(stat -c %s "$demo/layer.tar.gz") bytes -> blob $(du -b "$demo"/blobs/* | awk '{print $1}') bytes, unpacked tree identical"
