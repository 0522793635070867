#!/usr/bin/env python3
"""bench/convert-large's image: four layer tars, generated (deterministic,
cheap, not all zeros: text-like words with random bytes mixed in, about
2.5:1 for gzip -1), written to stdout one layer at a time.

Usage: convert-large-image.py layer N DIFFID_FILE  > layerN.tar
       convert-large-image.py expect                > expect.json

  layer 1: many/d000..d099/s0..s9 with 100 small files each (100k,
           0-8 KiB), big-dir with 100k entries in one directory (every 10th a
           symlink), huge/h1 (1 GiB, replaced in layer 3), huge/h2
           (512 MiB, whited out in layer 4), huge/h5 (2 GiB)
  layer 2: medium/m00..m19 with 50 files each (32 KiB - 2 MiB), 20k more
           small files in many/d000..d049/s0..s3, 100 hard links
  layer 3: huge/h1 again (1.5 GiB, new bytes), huge/h3 (1 GiB)
  layer 4: whiteouts (huge/h2, the directory medium/m05, 1000 names of
           big-dir), many/d010 made opaque (its 10 directories gone) with
           10 new files, 1000 new small files, huge/h4 (1 GiB)

`expect` prints what the flattened image holds (regular file paths and
their bytes, hard links counted as paths; directories; symbolic links) and
the sha256 of huge/h1, without writing any layer."""
import hashlib, json, random, sys, tarfile, zlib

MTIME = 1700000000
GiB, MiB = 1 << 30, 1 << 20


def make_corpus():
    rng = random.Random(17)
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    words = ["".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(1000)]
    parts, n = [], 0
    while n < 8 * MiB:
        s = (" ".join(rng.choices(words, k=600)) + "\n").encode()
        parts.append(s)
        parts.append(rng.randbytes(64))
        n += len(s) + 64
    c = b"".join(parts)[: 8 * MiB]
    return c + c[: 4 * MiB]  # a slice may run past the end


CORPUS = None


def data_chunks(key, size):
    """The bytes of a file: the corpus from an offset its name picks."""
    global CORPUS
    if CORPUS is None:
        CORPUS = memoryview(make_corpus())
    off = zlib.crc32(key.encode()) % (8 * MiB)
    while size:
        take = min(size, 4 * MiB)
        yield CORPUS[off : off + take]
        size -= take
        off = (off + take * 7 + 4093) % (8 * MiB)


def small_size(rng, hi):
    return rng.randint(0, hi)


def entries(layer):
    """(kind, name, size-or-target, data-key) in the layer's order."""
    rng = random.Random(1000 + layer)
    E = []
    d = lambda name: E.append(("d", name, 0, None))
    f = lambda name, size, key=None: E.append(("f", name, size, key or "%d:%s" % (layer, name)))
    if layer == 1:
        d("many")
        for i in range(100):
            d("many/d%03d" % i)
            for k in range(10):
                d("many/d%03d/s%d" % (i, k))
                for j in range(100):
                    f("many/d%03d/s%d/f%03d" % (i, k, j), small_size(rng, 8192))
        d("big-dir")
        for j in range(100000):
            name = "big-dir/e%06d" % j
            if j % 10 == 9:
                E.append(("l", name, "e%06d" % (j - 1), None))
            else:
                f(name, small_size(rng, 2048))
        d("huge")
        f("huge/h1", 1 * GiB)
        f("huge/h2", 512 * MiB)
        f("huge/h5", 2 * GiB)
    elif layer == 2:
        d("medium")
        for i in range(20):
            d("medium/m%02d" % i)
            for j in range(50):
                f("medium/m%02d/g%03d" % (i, j), rng.randint(32 << 10, 2 * MiB))
        for i in range(50):
            for k in range(4):
                for j in range(100):
                    f("many/d%03d/s%d/n%03d" % (i, k, j), small_size(rng, 8192))
        d("links")
        for j in range(100):
            E.append(("h", "links/k%03d" % j, "medium/m%02d/g%03d" % (j % 20, j // 20), None))
    elif layer == 3:
        f("huge/h1", 3 * GiB // 2)
        f("huge/h3", 1 * GiB)
    elif layer == 4:
        f("huge/.wh.h2", 0)
        f("medium/.wh.m05", 0)
        for j in range(0, 10000, 10):
            f("big-dir/.wh.e%06d" % j, 0)
        d("many/d010")
        f("many/d010/.wh..wh..opq", 0)
        for j in range(10):
            f("many/d010/o%02d" % j, small_size(rng, 8192))
        d("etc")
        f("etc/bench", 9, "converted")
        d("new")
        for j in range(1000):
            f("new/s%04d" % j, small_size(rng, 8192))
        f("huge/h4", 1 * GiB)
    return E


def write_layer(layer, diffid_path):
    out = sys.stdout.buffer
    h = hashlib.sha256()

    def put(b):
        h.update(b)
        out.write(b)

    for kind, name, arg, key in entries(layer):
        ti = tarfile.TarInfo(name)
        ti.mtime, ti.uid, ti.gid = MTIME, 0, 0
        if kind == "d":
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        elif kind == "l":
            ti.type, ti.mode, ti.linkname = tarfile.SYMTYPE, 0o777, arg
        elif kind == "h":
            ti.type, ti.mode, ti.linkname = tarfile.LNKTYPE, 0o644, arg
        else:
            ti.mode, ti.size = 0o644, arg
        put(ti.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape"))
        if kind == "f" and arg:
            if key == "converted":
                put(b"converted")
            else:
                for c in data_chunks(key, arg):
                    put(c)
            if arg % 512:
                put(b"\0" * (512 - arg % 512))
    put(b"\0" * 1024)
    out.flush()
    with open(diffid_path, "w") as fh:
        fh.write("sha256:" + h.hexdigest() + "\n")


def expect():
    tree = {}  # path -> ("f", size, key) | ("d",) | ("l",)
    for layer in (1, 2, 3, 4):
        for kind, name, arg, key in entries(layer):
            parent, _, base = name.rpartition("/")
            if base == ".wh..wh..opq":
                for p in [p for p in tree if p.startswith(parent + "/")]:
                    del tree[p]
                continue
            if base.startswith(".wh."):
                gone = (parent + "/" if parent else "") + base[4:]
                if tree.get(gone, ("",))[0] == "d":
                    for p in [p for p in tree if p.startswith(gone + "/")]:
                        del tree[p]
                tree.pop(gone, None)
                continue
            if kind == "d":
                tree[name] = ("d",)
            elif kind == "l":
                tree[name] = ("l",)
            elif kind == "h":
                tree[name] = tree[arg]
            else:
                tree[name] = ("f", arg, key)
    files = [v for v in tree.values() if v[0] == "f"]
    h1 = hashlib.sha256()
    _, size, key = tree["huge/h1"]
    for c in data_chunks(key, size):
        h1.update(c)
    total_layers = sum(a for L in (1, 2, 3, 4) for k, _, a, _ in entries(L) if k == "f")
    json.dump({"files": len(files), "bytes": sum(v[1] for v in files),
               "dirs": sum(1 for v in tree.values() if v[0] == "d"),
               "symlinks": sum(1 for v in tree.values() if v[0] == "l"),
               "layer_file_bytes": total_layers,
               "entries": sum(len(entries(L)) for L in (1, 2, 3, 4)),
               "h1_sha256": h1.hexdigest()}, sys.stdout)
    print()


if __name__ == "__main__":
    if sys.argv[1] == "layer":
        write_layer(int(sys.argv[2]), sys.argv[3])
    else:
        expect()
