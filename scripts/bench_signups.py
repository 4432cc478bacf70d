"""The load half of `make bench-signups` (see scripts/bench-signups.sh).

One thread asks GET /health every 20 ms and times each answer; first 3 s at rest, then while
N threads each sign up a new account (a form POST to /api/sign_up, as the browser sends it),
all released at once, each with an X-Forwarded-For address of its own. Standard library only.
"""

import http.client
import statistics
import sys
import threading
import time
import urllib.parse

BASE = urllib.parse.urlsplit(sys.argv[1])
COUNT = int(sys.argv[2]) if len(sys.argv) > 2 else 300


def connection():
    return http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=120)


def probe(stop, samples):
    conn = connection()
    while not stop.is_set():
        started = time.perf_counter()
        conn.request("GET", "/health")
        answer = conn.getresponse()
        answer.read()
        samples.append(((time.perf_counter() - started) * 1000, answer.status))
        time.sleep(0.02)


def sign_up(n, go, statuses):
    body = urllib.parse.urlencode(
        {
            "email": f"person{n}@bench.example",
            "password": "correct horse battery",
            "name": f"Person {n}",
            "timezone": "UTC",
        }
    )
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "accept": "application/json",
        # 10.x.y.z: a distinct client address per sign-up, as the trusted proxy would say.
        "x-forwarded-for": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
    }
    conn = connection()
    conn.connect()
    go.wait()
    conn.request("POST", "/api/sign_up", body, headers)
    answer = conn.getresponse()
    answer.read()
    statuses.append(answer.status)


def summary(name, samples):
    times = sorted(ms for ms, _ in samples)
    bad = sum(1 for _, status in samples if status != 200)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"/health {name}: {len(times)} answers, median {statistics.median(times):.1f} ms, "
        f"p99 {p99:.1f} ms, max {times[-1]:.1f} ms, not 200: {bad}"
    )


def main():
    stop = threading.Event()
    rest = []
    prober = threading.Thread(target=probe, args=(stop, rest))
    prober.start()
    time.sleep(3)
    stop.set()
    prober.join()

    go = threading.Event()
    statuses = []
    workers = [
        threading.Thread(target=sign_up, args=(n, go, statuses)) for n in range(COUNT)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.5)  # every connection open and waiting
    stop = threading.Event()
    during = []
    prober = threading.Thread(target=probe, args=(stop, during))
    prober.start()
    started = time.perf_counter()
    go.set()
    for worker in workers:
        worker.join()
    took = time.perf_counter() - started
    stop.set()
    prober.join()

    summary("at rest", rest)
    summary(f"during {COUNT} parallel sign-ups", during)
    created = statuses.count(200)
    print(
        f"sign-ups: {created} of {COUNT} created in {took:.1f} s "
        f"({created / took:.1f}/s); other answers: {sorted(set(statuses) - {200})}"
    )
    if created != COUNT:
        sys.exit(1)


main()
