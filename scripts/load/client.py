"""A small HTTP load client for scripts/callgrind-serve.sh: sends exactly N POST requests of
one JSON body over C keep-alive connections (one thread each) and prints how many answered
200 and the elapsed time. wrk runs for a duration; callgrind needs a known request count.

Usage: python3 scripts/load/client.py URL BODY_FILE TOKEN N C
"""
import http.client
import sys
import threading
import time
import urllib.parse


def main():
    url, body_file, token, n, c = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    body = open(body_file, "rb").read()
    parts = urllib.parse.urlsplit(url)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    counts = [n // c + (1 if i < n % c else 0) for i in range(c)]
    ok, failed = [0], [0]
    lock = threading.Lock()

    def worker(count):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
        for _ in range(count):
            conn.request("POST", parts.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            with lock:
                if response.status == 200:
                    ok[0] += 1
                else:
                    failed[0] += 1
        conn.close()

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in counts if k]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"ok={ok[0]} failed={failed[0]} seconds={time.monotonic() - start:.1f}")


main()
