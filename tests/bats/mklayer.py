#!/usr/bin/env python3
"""Write a layer tar from a compact spec, for tests. One entry a line:
    f NAME [mode=0644] [uid=0] [gid=0] [data=TEXT] [size=N] [xattr=K:V]
    d NAME [mode=..] [uid=..] [gid=..]
    l NAME TARGET            (symlink)
    h NAME TARGET            (hard link)
    c NAME MAJOR MINOR       (char device)   b ... (block device)   p NAME (fifo)
    fake NAME SIZE           (a header claiming SIZE bytes, no data)
Usage: mklayer.py OUT.tar[.gz|.zst] < spec"""
import io, subprocess, sys, tarfile

out = sys.argv[1]
raw = io.BytesIO()
t = tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT)
fake = []
for line in sys.stdin.read().splitlines():
    w = line.split()
    if not w or w[0].startswith("#"):
        continue
    kind, name = w[0], w[1]
    opts = dict(x.split("=", 1) for x in w[2:] if "=" in x)
    ti = tarfile.TarInfo(name)
    ti.mtime = int(opts.get("mtime", 1700000000))
    ti.uid, ti.gid = int(opts.get("uid", 0)), int(opts.get("gid", 0))
    ti.mode = int(opts.get("mode", "0755" if kind == "d" else "0644"), 8)
    if "xattr" in opts:
        k, v = opts["xattr"].split(":", 1)
        ti.pax_headers = {"SCHILY.xattr." + k: v}
    data = b""
    if kind == "f":
        data = opts.get("data", "").encode().replace(b"\\n", b"\n")
        if "size" in opts:
            data = b"x" * int(opts["size"])
        ti.type, ti.size = tarfile.REGTYPE, len(data)
    elif kind == "d":
        ti.type = tarfile.DIRTYPE
    elif kind in ("l", "h"):
        ti.type = tarfile.SYMTYPE if kind == "l" else tarfile.LNKTYPE
        ti.linkname = w[2]
    elif kind in ("c", "b"):
        ti.type = tarfile.CHRTYPE if kind == "c" else tarfile.BLKTYPE
        ti.devmajor, ti.devminor = int(w[2]), int(w[3])
    elif kind == "p":
        ti.type = tarfile.FIFOTYPE
    elif kind == "fake":
        ti.type, ti.size = tarfile.REGTYPE, int(w[2])
        t.fileobj.write(ti.tobuf(tarfile.GNU_FORMAT))
        continue
    t.addfile(ti, io.BytesIO(data) if kind == "f" else None)
t.close()
body = raw.getvalue()
if out.endswith(".gz"):
    import gzip
    body = gzip.compress(body)
elif out.endswith(".zst"):
    body = subprocess.run(["zstd", "-q", "-c"], input=body, stdout=subprocess.PIPE, check=True).stdout
open(out, "wb").write(body)
