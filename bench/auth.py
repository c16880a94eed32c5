#!/usr/bin/env python3
"""Auth benchmark: login latency (argon2id cost) and the idle RSS of `nolose`.

Builds nothing: pass the release binary (bench/run builds it). Starts it on a
free loopback port against a fresh database, waits until it is ready,
measures the idle RSS, registers one user, then times N sequential logins.
Stops the server and drops the database at the end. Loopback only."""

import json, os, socket, statistics, subprocess, sys, time, urllib.request, uuid

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def post(url, body, timeout=10):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def main():
    binary, n = sys.argv[1], int(os.environ.get("LOGINS", "50"))
    admin = os.environ.get("TEST_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres")
    db = f"nolose_bench_{uuid.uuid4().hex[:12]}"
    base_url = admin.rsplit("/", 1)[0]
    port = free_port()
    env = dict(os.environ, DATABASE_URL=f"{base_url}/{db}", PORT=str(port), RUST_LOG="warn",
               SECRET_KEY="bench-secret-key-bench-secret-key-0123")
    server = subprocess.Popen([binary], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/health/ready", timeout=2) as r:
                    if r.status == 200: break
            except Exception:
                if time.time() > deadline or server.poll() is not None:
                    sys.exit("nolose did not become ready")
                time.sleep(0.1)
        time.sleep(2)  # let start-up allocations settle before reading idle RSS
        idle = rss_kib(server.pid)
        status, _ = post(f"{base}/api/auth/register", {"email": "bench@example.com", "password": "correct horse battery", "name": "Bench"})
        assert status == 201, status
        times = []
        for _ in range(n):
            t = time.perf_counter()
            status, _ = post(f"{base}/api/auth/login", {"email": "bench@example.com", "password": "correct horse battery"})
            times.append((time.perf_counter() - t) * 1000)
            assert status == 200, status
        wrong = []
        for _ in range(5):
            t = time.perf_counter()
            post(f"{base}/api/auth/login", {"email": "nobody@example.com", "password": "correct horse battery"})
            wrong.append((time.perf_counter() - t) * 1000)
        after = rss_kib(server.pid)
        times.sort()
        print(json.dumps({
            "logins": n,
            "login_p50_ms": round(statistics.median(times), 1),
            "login_p95_ms": round(times[int(0.95 * (n - 1))], 1),
            "unknown_email_p50_ms": round(statistics.median(wrong), 1),
            "idle_rss_mib": round(idle / 1024, 1),
            "rss_after_logins_mib": round(after / 1024, 1),
        }, indent=2))
    finally:
        server.terminate(); server.wait(timeout=30)
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=False)

if __name__ == "__main__":
    main()
