#!/usr/bin/env python3
"""The file tree and the config of an image in an OCI layout, as text a
test can diff: its layers applied in order (OCI whiteouts and opaque
directories), one line a path with type, mode, owner, size, content digest,
link target and hard-link group, sorted. For tests (buildah-diff.bats).
Usage: imgtree.py tree LAYOUT REF [--times]    (REF: a ref name or sha256:...)
       imgtree.py config LAYOUT REF           (the fields a Dockerfile sets)"""
import gzip, hashlib, io, json, os, sys, tarfile


def blob(layout, digest):
    return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])


def manifest(layout, ref):
    if not ref.startswith("sha256:"):
        idx = json.load(open(os.path.join(layout, "index.json")))
        ref = next(m["digest"] for m in idx["manifests"]
                   if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref)
    return json.load(open(blob(layout, ref)))


def layer_tar(layout, desc):
    data = open(blob(layout, desc["digest"]), "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:")


def norm(name):
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/" + "/".join(parts)


def tree(layout, ref, times):
    m = manifest(layout, ref)
    files = {}  # path -> dict
    for desc in m["layers"]:
        tf = layer_tar(layout, desc)
        members = tf.getmembers()
        # whiteouts apply to what the layers below made
        for ti in members:
            p = norm(ti.name)
            d, b = os.path.split(p)
            if b == ".wh..wh..opq":
                for k in [k for k in files if k.startswith(d.rstrip("/") + "/")]:
                    del files[k]
            elif b.startswith(".wh."):
                gone = os.path.join(d, b[4:])
                for k in [k for k in files if k == gone or k.startswith(gone + "/")]:
                    del files[k]
        for ti in members:
            p = norm(ti.name)
            if os.path.basename(p).startswith(".wh."):
                continue
            # the mtime exactly as the layer has it (a PAX header keeps nanoseconds)
            mtime = ti.pax_headers.get("mtime") or str(int(ti.mtime))
            e = {"mode": ti.mode & 0o7777, "uid": ti.uid, "gid": ti.gid, "mtime": mtime, "link": "", "group": None}
            if ti.isdir():
                e.update(type="d", size=0, sha="-")  # a directory again: its contents stay
            elif ti.islnk():
                t = files.get(norm(ti.linkname))
                if t is None:
                    raise SystemExit("%s: hard link to %s, which is not there" % (p, ti.linkname))
                e = t  # the same inode: one record under two names
                if e["group"] is None:
                    e["group"] = norm(ti.linkname)
                files[p] = e
                continue
            elif ti.issym():
                e.update(type="l", size=len(ti.linkname), sha="-", link=ti.linkname)
            elif ti.isfile():
                data = tf.extractfile(ti).read()
                e.update(type="f", size=len(data), sha=hashlib.sha256(data).hexdigest()[:16])
            elif ti.ischr() or ti.isblk():
                e.update(type="c" if ti.ischr() else "b", size=0, sha="%d,%d" % (ti.devmajor, ti.devminor))
            elif ti.isfifo():
                e.update(type="p", size=0, sha="-")
            else:
                continue
            if p in files and files[p] is not e and files[p]["type"] == "d" and e["type"] != "d":
                for k in [k for k in files if k.startswith(p + "/")]:
                    del files[k]
            files[p] = e
    # hard-link groups: named by their first path, only where two names remain
    names = {}
    for p, e in files.items():
        names.setdefault(id(e), []).append(p)
    out = []
    for p in sorted(files):
        e = files[p]
        ns = sorted(names[id(e)])
        hl = ns[0] if len(ns) > 1 else "-"
        line = "%s %s %04o %d:%d %d %s %s hl=%s" % (p, e["type"], e["mode"], e["uid"], e["gid"], e["size"], e["sha"],
                                                      e["link"] or "-", hl)
        if times:
            line += " t=%s" % e["mtime"]
        out.append(line)
    return out


def config(layout, ref):
    m = manifest(layout, ref)
    c = json.load(open(blob(layout, m["config"]["digest"])))
    cc = c.get("config") or {}
    keys = ["Env", "Entrypoint", "Cmd", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels", "StopSignal",
            "Shell", "Healthcheck", "OnBuild"]
    return json.dumps({k: cc.get(k) for k in keys if cc.get(k) not in (None, [], {}, "")}, sort_keys=True, indent=1)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "tree":
        print("\n".join(tree(sys.argv[2], sys.argv[3], "--times" in sys.argv[4:])))
    elif len(sys.argv) == 4 and sys.argv[1] == "config":
        print(config(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
