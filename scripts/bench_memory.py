"""The load half of `make bench-memory` (see scripts/bench-memory.sh): resident memory of the
server and the worker under the two loads a hostile or heavy user brings.

1. Twenty anonymous 120 MB requests at once to the hosted Sandbox (an upload endpoint).
2. One account uploads a 95 MB video and publishes it at once to 30 Sandbox connections.

Resident set sizes come from /proc/<pid>/status (VmRSS), sampled every 20 ms; each phase reports
the largest seen. Exits non-zero when a bound is passed. Standard library only.
"""

import http.client
import json
import os
import struct
import sys
import tempfile
import threading
import time
import urllib.parse

BASE = urllib.parse.urlsplit(sys.argv[1])
SERVER_PID, WORKER_PID = int(sys.argv[2]), int(sys.argv[3])
SERVER_BOUND_MB = float(os.environ.get("SERVER_BOUND_MB", "150"))
WORKER_BOUND_MB = float(os.environ.get("WORKER_BOUND_MB", "250"))
MB = 1024 * 1024


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def loopback_bytes():
    """Bytes carried by the loopback interface so far (/proc/net/dev): every call between the
    worker, the server and its Sandbox crosses it."""
    with open("/proc/net/dev") as dev:
        for line in dev:
            name, _, counters = line.partition(":")
            if name.strip() == "lo":
                return int(counters.split()[0])
    return 0


class Peak:
    """Samples both processes until stopped; keeps the largest resident size of each."""

    def __init__(self):
        self.server = self.worker = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        while not self.stop.is_set():
            self.server = max(self.server, rss_mb(SERVER_PID))
            self.worker = max(self.worker, rss_mb(WORKER_PID))
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def connection(timeout=600):
    return http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=timeout)


def chunks(total, size=MB):
    block = b"\0" * size
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield block[:n]
        sent += n


def anonymous_upload(statuses):
    conn = connection()
    try:
        conn.putrequest("POST", "/sandbox-network/sandbox/xrpc/com.atproto.repo.uploadBlob")
        conn.putheader("content-type", "video/mp4")
        conn.putheader("content-length", str(120 * MB))
        conn.endheaders()
        for block in chunks(120 * MB):
            conn.send(block)
        answer = conn.getresponse()
        answer.read()
        statuses.append(answer.status)
    except (BrokenPipeError, ConnectionResetError):
        # The server answered before the body was sent and closed the connection: read the
        # answer it left.
        try:
            answer = conn.getresponse()
            answer.read()
            statuses.append(answer.status)
        except (OSError, http.client.HTTPException):
            statuses.append("closed early")
    finally:
        conn.close()


class Browser:
    def __init__(self):
        self.cookie = None

    def call(self, endpoint, form):
        conn = connection()
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "accept": "application/json",
        }
        if self.cookie:
            headers["cookie"] = self.cookie
        conn.request("POST", f"/api/{endpoint}", urllib.parse.urlencode(form), headers)
        answer = conn.getresponse()
        body = answer.read()
        cookie = answer.getheader("set-cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        if answer.status != 200:
            raise SystemExit(f"{endpoint}: {answer.status} {body[:300]!r}")
        return json.loads(body)

    def upload(self, workspace, path, name):
        size = os.path.getsize(path)
        boundary = "omniplugbenchboundary"
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: video/mp4\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        conn = connection()
        conn.putrequest("POST", f"/api/media/upload?workspace_id={workspace}")
        conn.putheader("content-type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("content-length", str(len(head) + size + len(tail)))
        conn.putheader("cookie", self.cookie)
        conn.endheaders()
        conn.send(head)
        with open(path, "rb") as file:
            while block := file.read(MB):
                conn.send(block)
        conn.send(tail)
        answer = conn.getresponse()
        body = answer.read()
        if answer.status != 201:
            raise SystemExit(f"upload: {answer.status} {body[:300]!r}")
        return json.loads(body)


def box(kind, payload):
    return struct.pack(">I", len(payload) + 8) + kind + payload


def write_video(path, size):
    """An MP4 of `size` bytes: file type, media data, and a movie header at the end (as many
    cameras write them), 10 s long, 1280x720."""
    mvhd = struct.pack(">I", 0) + struct.pack(">IIII", 0, 0, 1000, 10_000) + b"\0" * 80
    tkhd = struct.pack(">I", 0) + b"\0" * 72 + struct.pack(">II", 1280 << 16, 720 << 16)
    moov = box(b"moov", box(b"mvhd", mvhd) + box(b"trak", box(b"tkhd", tkhd)))
    ftyp = box(b"ftyp", b"isom\0\0\0\0isommp41")
    with open(path, "wb") as file:
        file.write(ftyp)
        media = size - len(ftyp) - len(moov) - 8
        file.write(struct.pack(">I", media + 8) + b"mdat")
        for block in chunks(media):
            file.write(block)
        file.write(moov)


def main():
    results = []
    with Peak() as peak:
        statuses = []
        threads = [threading.Thread(target=anonymous_upload, args=(statuses,)) for _ in range(20)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        took = time.perf_counter() - started
    print(
        f"20 anonymous 120 MB Sandbox uploads in {took:.1f} s, answers {sorted(map(str, set(statuses)))}: "
        f"server peak RSS {peak.server:.0f} MB"
    )
    results.append(("server, anonymous uploads", peak.server, SERVER_BOUND_MB))
    if any(s not in (401, "closed early") for s in statuses):
        raise SystemExit(f"an anonymous upload was not refused: {statuses}")

    ada = Browser()
    me = ada.call(
        "sign_up",
        {"email": "memory@bench.example", "password": "correct horse battery",
         "name": "Memory", "timezone": "UTC"},
    )
    workspace = me["workspace"]["id"]
    connections = [ada.call("connect_sandbox", {"workspace_id": workspace})["id"] for _ in range(30)]
    with tempfile.TemporaryDirectory() as scratch:
        video = os.path.join(scratch, "launch.mp4")
        write_video(video, 95_000_000)
        with Peak() as peak:
            item = ada.upload(workspace, video, "launch.mp4")
        print(f"upload of a 95 MB video: server peak RSS {peak.server:.0f} MB")
        results.append(("server, 95 MB upload", peak.server, SERVER_BOUND_MB))

    form = {"workspace_id": workspace, "post[text]": "Launch day",
            "post[media][0][id]": item["id"], "post[media][0][alt]": "The launch video"}
    for i, connection_id in enumerate(connections):
        form[f"post[connection_ids][{i}]"] = connection_id
    draft = ada.call("save_post", form)
    carried_before = loopback_bytes()
    with Peak() as peak:
        started = time.perf_counter()
        ada.call("publish_post_now",
                 {"workspace_id": workspace, "post_id": draft["id"], "version": str(draft["version"])})
        while True:
            post = ada.call("get_post", {"workspace_id": workspace, "post_id": draft["id"]})
            states = [t["state"] for t in post["targets"]]
            if all(s in ("PUBLISHED", "FAILED") for s in states):
                break
            if time.perf_counter() - started > 600:
                raise SystemExit(f"not published after 10 min: {states}")
            time.sleep(0.5)
        took = time.perf_counter() - started
    published = states.count("PUBLISHED")
    # The Sandbox (in the server) really received the video thirty times.
    received = loopback_bytes() - carried_before
    if received < 30 * 95_000_000:
        raise SystemExit(f"only {received} bytes crossed loopback while 30 copies were sent")
    print(
        f"95 MB video to 30 connections: {published} of 30 published in {took:.1f} s "
        f"({received / 1e9:.2f} GB crossed loopback); "
        f"server peak RSS {peak.server:.0f} MB, worker peak RSS {peak.worker:.0f} MB"
    )
    results.append(("server, publishing", peak.server, SERVER_BOUND_MB))
    results.append(("worker, publishing", peak.worker, WORKER_BOUND_MB))
    failed = [f"{what}: {mb:.0f} MB > {bound:.0f} MB" for what, mb, bound in results if mb > bound]
    if published != 30:
        failed.append(f"only {published} of 30 targets published")
    if failed:
        raise SystemExit("over a bound: " + "; ".join(failed))
    print(f"within bounds: server < {SERVER_BOUND_MB:.0f} MB, worker < {WORKER_BOUND_MB:.0f} MB")


main()
