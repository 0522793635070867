#!/usr/bin/env python3
"""Rewrite a docker-archive (what `docker save` or skopeo writes) for the
tests, the way a layer or config changed after the save would look.
    tamper-archive.py IN.tar OUT.tar MODE
MODE:
    layer-keep-name   the last layer's content changed, its <hex>.tar name kept
    layer-rename      the same change, renamed to the new bytes' <hex>.tar
                      (manifest.json follows): only the config's diff_ids tell
    legacy            layers as Docker before 25 names them, <id>/layer.tar
                      (the id is not a digest of the layer), unchanged
    legacy-tampered   legacy, the last layer's content changed
    legacy-gzip       legacy, every layer gzip-compressed (diff ids unchanged)
    drop-layer        manifest.json lists one layer fewer than the config
    config            the config changed, its <hex>.json name kept"""
import gzip, hashlib, io, json, sys, tarfile

src, dst, mode = sys.argv[1:4]
members = {}
with tarfile.open(src) as t:
    for m in t.getmembers():
        if m.isfile():
            members[m.name] = t.extractfile(m).read()
manifest = json.loads(members["manifest.json"])
entry = manifest[0]
layers = list(entry["Layers"])
config = entry["Config"]


def tampered(layer):
    """The same layer tar with the data of its first file changed."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(layer)) as t, tarfile.open(fileobj=out, mode="w") as w:
        done = False
        for m in t.getmembers():
            data = t.extractfile(m).read() if m.isfile() else None
            if m.isfile() and not done:
                data, done = b"tampered after the save", True
                m.size = len(data)
            w.addfile(m, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


blobs = {name: members[name] for name in layers}
if mode in ("layer-keep-name", "layer-rename", "legacy-tampered"):
    blobs[layers[-1]] = tampered(blobs[layers[-1]])
if mode == "layer-rename":
    new = hashlib.sha256(blobs[layers[-1]]).hexdigest() + ".tar"
    blobs[new] = blobs.pop(layers[-1])
    layers[-1] = new
if mode.startswith("legacy"):
    renamed = {}
    for i, name in enumerate(layers):
        ident = hashlib.sha256(b"v1 id %d" % i).hexdigest()
        data = blobs.pop(name)
        renamed[ident + "/layer.tar"] = gzip.compress(data) if mode == "legacy-gzip" else data
        layers[i] = ident + "/layer.tar"
    blobs = renamed
if mode == "drop-layer":
    blobs.pop(layers.pop())
cfg = members[config]
if mode == "config":
    c = json.loads(cfg)
    c.setdefault("config", {}).setdefault("Env", []).append("TAMPERED=1")
    cfg = json.dumps(c).encode()
entry["Layers"] = layers

with tarfile.open(dst, "w") as w:
    def add(name, data):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        w.addfile(ti, io.BytesIO(data))
    for name in layers:
        add(name, blobs[name])
    add(config, cfg)
    add("manifest.json", json.dumps(manifest).encode())
