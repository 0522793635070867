#!/usr/bin/env python3
"""A stand-in for the firecracker binary, for testing the backend where
there is no KVM: it serves the API socket (--api-sock), records every
request (method, path, JSON body) as a line in $FAKE_FC_LOG, answers 204
(or 400 with a fault_message for a path the API does not have), and
behaves like a VM: after InstanceStart it prints what fb-init prints when
the workload ends ("exit with $FAKE_FC_EXIT", default 0) and exits; after
SendCtrlAltDel it prints a 143 exit, as a stopped workload would."""
import json, os, socket, socketserver, sys, threading, time
from http.server import BaseHTTPRequestHandler

args = sys.argv[1:]
sock = args[args.index("--api-sock") + 1]
# jailed, the environment is empty: the log goes next to the socket
log = os.environ.get("FAKE_FC_LOG") or os.path.join(os.path.dirname(sock), "requests.jsonl")
run_for = float(os.environ.get("FAKE_FC_RUN", "0.5" if "FAKE_FC_LOG" in os.environ else "0"))
known = ("/logger", "/metrics", "/machine-config", "/boot-source", "/drives/", "/network-interfaces/", "/actions",
         "/vsock", "/mmds", "/entropy", "/balloon")
done = threading.Event()
code = [int(os.environ.get("FAKE_FC_EXIT", "0"))]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def address_string(self):
        return "unix"

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        try:
            doc = json.loads(body) if body else None
        except ValueError:
            doc = {"unparsable": body.decode(errors="replace")}
        with open(log, "a") as f:
            f.write(json.dumps({"method": "PUT", "path": self.path, "body": doc,
                                "content_type": self.headers.get("Content-Type")}) + "\n")
        if not self.path.startswith(known):
            out = json.dumps({"fault_message": "no such path " + self.path}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        # recorded before the answer: the client's next request (InstanceStart)
        # may come on another connection, served by another thread
        if self.path in ("/vsock", "/boot-source") and doc:
            conf[self.path] = doc
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if self.path == "/actions" and doc:
            if doc.get("action_type") == "InstanceStart":
                threading.Thread(target=guest_io if "/vsock" in conf else vm, daemon=True).start()
            elif doc.get("action_type") == "SendCtrlAltDel":
                code[0] = 143
                done.set()


conf = {}


def guest_io():
    """With a vsock (fb-runtime's VMs): be fb-init on the fb.io stream
    (tools/fb-io.h): connect to uds_path_1024, say READY, and on START
    print what the VM was given (the initramfs's config), then EXIT 0."""
    import struct
    cfg = {}
    data = open(conf["/boot-source"]["initrd_path"], "rb").read()
    off = 0
    while off + 110 <= len(data):
        h = data[off:off + 110]
        size, nsize = int(h[54:62], 16), int(h[94:102], 16)
        name = data[off + 110:off + 110 + nsize - 1].decode()
        off = (off + 110 + nsize + 3) & ~3
        if name == "fb-oci.json":
            cfg = json.loads(data[off:off + size])
        off = (off + size + 3) & ~3
    port = cfg.get("io", {}).get("vsock_port")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("%s_%d" % (conf["/vsock"]["uds_path"], port))
    def frame(stream, kind, body=b""):
        s.sendall(struct.pack("<III", stream, kind, len(body)) + body)
    frame(0, 16)
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            os._exit(0)
        buf += chunk
        while len(buf) >= 12:
            stream, kind, n = struct.unpack("<III", buf[:12])
            if len(buf) < 12 + n:
                break
            buf = buf[12 + n:]
            if kind == 1:
                seen = {"root": cfg.get("root"), "io": cfg.get("io"), "args": cfg.get("process", {}).get("args")}
                frame(0, 17, struct.pack("<I", 1))
                frame(0, 18, (json.dumps(seen) + "\n").encode())
                frame(0, 20, struct.pack("<I", code[0]))
                time.sleep(0.1)
                os._exit(0)


def vm():
    print("fake firecracker: booting", flush=True)
    done.wait(run_for if run_for > 0 else None)
    print("fb-init: workload exited with %d; powering off" % code[0], flush=True)
    time.sleep(0.1)
    os._exit(0)


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(sock):
    os.unlink(sock)
Server(sock, Handler).serve_forever()
