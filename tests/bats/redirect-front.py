#!/usr/bin/env python3
"""A registry front that answers blob GETs with 307 to a separate blob
server (as real registries send clients to their storage) and passes every
other request to the registry. Records what the blob server was sent.
Usage: redirect-front.py PORT REGISTRY(host:port) BLOBDIR LOG"""
import os, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, reg, blobdir, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

class Blobs(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        with open(log, "a") as f:
            f.write("%s auth=%s\n" % (self.path, "Authorization" in self.headers))
        p = os.path.join(blobdir, os.path.basename(self.path))
        if not os.path.exists(p):
            self.send_response(404)
            self.end_headers()
            return
        data = open(p, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

blob_srv = ThreadingHTTPServer(("127.0.0.1", 0), Blobs)
threading.Thread(target=blob_srv.serve_forever, daemon=True).start()

class Front(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if "/blobs/sha256:" in self.path:
            digest = self.path.rsplit("/", 1)[1].split(":", 1)[1]
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:%d/storage/%s" % (blob_srv.server_port, digest))
            self.end_headers()
            return
        req = urllib.request.Request("http://" + reg + self.path, headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        try:
            r = opener.open(req)
        except urllib.error.HTTPError as e:
            r = e
        body = r.read()
        self.send_response(r.status if hasattr(r, "status") else r.code)
        for k, v in r.headers.items():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

ThreadingHTTPServer(("127.0.0.1", port), Front).serve_forever()
