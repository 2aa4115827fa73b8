#!/usr/bin/env bash
# The quick start's main job: installs what rafs needs, builds build/rafs,
# builds a small two-layer OCI image with umoci (the second layer deletes and
# changes files), converts it with `rafs convert` (prefetch list on stdin),
# verifies every chunk with `rafs check -D`, shows `rafs dump`, and proves
# `rafs unpack` gives back exactly what `umoci unpack` extracts from the
# source image. Work files: build/demo/.
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

# The OCI image: layer 1 is that tree, layer 2 deletes a file (a whiteout)
# and changes another.
umoci init --layout "$demo/image"
umoci new --image "$demo/image:demo"
umoci unpack --image "$demo/image:demo" "$demo/bundle" >/dev/null
cp -a "$demo/src/." "$demo/bundle/rootfs/"
umoci repack --image "$demo/image:demo" "$demo/bundle"
rm -rf "$demo/bundle"
umoci unpack --image "$demo/image:demo" "$demo/bundle" >/dev/null
rm "$demo/bundle/rootfs/etc/empty"
printf 'rafs demo, second layer\n' > "$demo/bundle/rootfs/etc/issue"
umoci repack --image "$demo/image:demo" "$demo/bundle"
rm -rf "$demo/bundle"

echo "== rafs convert (prefetch list on stdin)"
printf '/etc\n/usr/share/common-licenses/GPL-3\n' |
  $rafs convert "$demo/image:demo" -o "$demo/nydus" -B "$demo/image.boot" -D "$demo/blobs" \
    --prefetch-policy fs -J "$demo/convert.json"
echo "== skopeo inspect oci:$demo/nydus (layers)"
skopeo inspect "oci:$demo/nydus" | sed -n '/"Layers"/,/]/p'
echo "== rafs check -D"
$rafs check "$demo/image.boot" -D "$demo/blobs"
echo "== rafs dump (first lines)"
$rafs dump "$demo/image.boot" | head -n 20
echo "== rafs unpack + GNU tar, compared with umoci unpack of the source image"
$rafs unpack "$demo/image.boot" -D "$demo/blobs" -o "$demo/image.tar"
tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$demo/image.tar" -C "$demo/out"
umoci unpack --image "$demo/image:demo" "$demo/reference" >/dev/null
diff -r --no-dereference "$demo/reference/rootfs" "$demo/out"
echo "demo ok: $(du -sb "$demo/image/blobs" | cut -f1) bytes of OCI image -> $(du -cb "$demo"/blobs/* | tail -1 | cut -f1) bytes of Nydus blobs, unpacked tree identical to umoci's"
