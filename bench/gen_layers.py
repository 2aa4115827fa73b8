#!/usr/bin/env python3
"""Deterministic synthetic tar layers for the bench scripts, written as a stream.

  gen_layers.py small OUT.tar         100,000 text-like files of 1-8 KiB in 420 directories
  gen_layers.py big OUT.tar BYTES     4 large files (20% of BYTES each) + 50 medium ones
                                      (the other 20%): text, binary records, sparse
                                      and random data, no two 64 KiB blocks equal

Same arguments, same bytes: fixed seeds, mtimes, owners. Memory stays at a few MiB
whatever BYTES is. The output is written to OUT.tar.tmp and renamed when complete.
"""
import itertools
import os
import random
import struct
import sys
import tarfile

MTIME = 1700000000
BLOCK = 512
RECORD = 10240


class TarWriter:
    def __init__(self, path):
        self.path = path
        self.f = open(path + ".tmp", "wb", buffering=1 << 20)
        self.pos = 0

    def _header(self, name, size, kind, mode):
        ti = tarfile.TarInfo(name)
        ti.size, ti.type, ti.mode, ti.mtime = size, kind, mode, MTIME
        ti.uname = ti.gname = "root"
        self._write(ti.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict"))

    def _write(self, data):
        self.f.write(data)
        self.pos += len(data)

    def _pad(self):
        if self.pos % BLOCK:
            self._write(bytes(BLOCK - self.pos % BLOCK))

    def directory(self, name):
        self._header(name.rstrip("/") + "/", 0, tarfile.DIRTYPE, 0o755)

    def file(self, name, size, pieces):
        """pieces: an iterable of bytes-like objects totalling exactly size."""
        self._header(name, size, tarfile.REGTYPE, 0o644)
        start = self.pos
        for piece in pieces:
            self._write(piece)
        assert self.pos - start == size, (name, size, self.pos - start)
        self._pad()

    def close(self):
        self._write(bytes(2 * BLOCK))
        if self.pos % RECORD:
            self._write(bytes(RECORD - self.pos % RECORD))
        self.f.close()
        os.rename(self.path + ".tmp", self.path)


def words_text(rng, nbytes):
    """English-looking text: words of a 4096-word made-up vocabulary, in lines."""
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    weights = [12, 9, 8, 8, 7, 7, 6, 6, 6, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
    vocab = ["".join(rng.choices(letters, weights, k=rng.randint(2, 10))) for _ in range(4096)]
    out, size = [], 0
    while size < nbytes:
        line = " ".join(rng.choices(vocab, k=rng.randint(4, 14))) + "\n"
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:nbytes]


def small(path):
    rng = random.Random(20241121)
    corpus = words_text(rng, 4 << 20)
    w = TarWriter(path)
    k = 0
    for d in range(20):
        w.directory(f"d{d:02d}")
        for s in range(20):
            sub = f"d{d:02d}/s{s:02d}"
            w.directory(sub)
            for _ in range(250):
                name = f"{sub}/f{k:06d}.txt"
                size = rng.randint(1024, 8192)
                head = f"# {name} {k}\n".encode()
                off = rng.randrange(len(corpus) - size)
                w.file(name, size, [head, corpus[off:off + size - len(head)]])
                k += 1
    w.close()


def mixed_corpus(rng, nbytes):
    """Interleaved 64 KiB segments: 1/2 text, 1/4 binary-like records, 1/8 sparse
    (mostly zero) data, 1/8 random bytes."""
    seg = 64 << 10
    text = words_text(rng, nbytes // 2)
    records = b"".join(struct.pack("<IIHH", i, (i * 2654435761 % (1 << 32)) >> 20, i & 0xFF, rng.getrandbits(4))
                       for i in range(nbytes // 4 // 12 + 1))[:nbytes // 4]
    sparse = bytearray(nbytes // 8)
    for i in range(0, len(sparse), 64):
        sparse[i] = rng.getrandbits(8)
    noise = rng.randbytes(nbytes // 8)
    sources = {"t": text, "r": records, "s": bytes(sparse), "n": noise}
    cursor = dict.fromkeys(sources, 0)
    out = bytearray()
    for key in itertools.cycle("trtstrtn"):
        if len(out) >= nbytes:
            break
        src, off = sources[key], cursor[key]
        out += src[off:off + seg]
        cursor[key] = off + seg if off + seg < len(src) else 0
    return bytes(out[:nbytes])


def big(path, total):
    rng = random.Random(5 << 30)
    corpus = memoryview(mixed_corpus(rng, 8 << 20))
    block = 64 << 10
    counter = [0]

    def stream(size):
        # Corpus blocks at scattered offsets, each stamped with a global counter so
        # no two blocks (and so no two chunks) are equal: dedup finds nothing.
        left = size
        while left:
            parts = []
            for _ in range(16):
                if not left:
                    break
                n = min(block, left)
                counter[0] += 1
                off = (counter[0] * 7919 * 512) % (len(corpus) - block)
                stamp = b"%016x" % counter[0]
                parts.append(stamp[:n])
                parts.append(corpus[off + len(stamp[:n]):off + n])
                left -= n
            yield b"".join(parts)

    large = total // 5
    medium_total = total - 4 * large
    sizes = [medium_total // 50 + (i % 7 - 3) * 4093 for i in range(49)]
    sizes.append(medium_total - sum(sizes))
    w = TarWriter(path)
    w.directory("data")
    for i in range(4):
        w.file(f"data/large-{i}.bin", large, stream(large))
    w.directory("data/medium")
    for i, size in enumerate(sizes):
        w.file(f"data/medium/part-{i:02d}.dat", size, stream(size))
    w.close()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "small":
        small(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "big":
        big(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
