#!/usr/bin/env python3
"""Append a layer file (tar, tar.gz or tar.zst) to an image in an OCI
layout, updating config (diff_ids) and manifest. For tests.
Usage: oci-add-layer.py LAYOUT TAG LAYERFILE [--platform OS/ARCH[/VARIANT]]"""
import gzip, hashlib, json, os, subprocess, sys

layout, tag, layer = sys.argv[1], sys.argv[2], sys.argv[3]
platform = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--platform" else None

def blob(d):
    return os.path.join(layout, "blobs", "sha256", d.split(":")[1])

def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    open(blob(d), "wb").write(data)
    return d

idx = json.load(open(os.path.join(layout, "index.json")))
desc = next(m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
man = json.load(open(blob(desc["digest"])))
cfg = json.load(open(blob(man["config"]["digest"])))
data = open(layer, "rb").read()
if data[:2] == b"\x1f\x8b":
    raw, mt = gzip.decompress(data), "application/vnd.oci.image.layer.v1.tar+gzip"
elif data[:4] == b"\x28\xb5\x2f\xfd":
    raw = subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE, check=True).stdout
    mt = "application/vnd.oci.image.layer.v1.tar+zstd"
else:
    raw, mt = data, "application/vnd.oci.image.layer.v1.tar"
ld = put(data)
man["layers"].append({"mediaType": mt, "digest": ld, "size": len(data)})
cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append("sha256:" + hashlib.sha256(raw).hexdigest())
if platform:
    p = platform.split("/")
    cfg["os"], cfg["architecture"] = p[0], p[1]
    if len(p) > 2:
        cfg["variant"] = p[2]
cb = json.dumps(cfg).encode()
man["config"] = {"mediaType": man["config"]["mediaType"], "digest": put(cb), "size": len(cb)}
mb = json.dumps(man).encode()
desc["digest"], desc["size"] = put(mb), len(mb)
json.dump(idx, open(os.path.join(layout, "index.json"), "w"))
