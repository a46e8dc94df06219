#!/usr/bin/env python3
"""History checker: three real masters on loopback, clients submitting jobs with unique
Idempotency-Keys and retrying them, and a fault loop that SIGKILLs and SIGSTOPs members.

At the end every member is healed, the group must converge, and every member's store is read
(`GET /v1/jobs?stale=true`, all pages). Every acknowledged key must exist exactly once on every
member, under the job id it was acknowledged with; no key may name two jobs; the stores must be
identical. Prints one line:

    history: PASS|FAIL acknowledged=N faults=N lost=N duplicated=N longest-write-gap=MS ...

Python 3 standard library only. Loopback only. Every process it starts is killed on exit (and
dies with it: PR_SET_PDEATHSIG), its temporary directory removed.
"""

import argparse
import ctypes
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

LABEL = "history.key"
REQUEST_TIMEOUT_S = 1.5        # then the same key goes to the next master
KEY_DEADLINE_S = 30.0          # a key is retried this long, then counted as unknown
REDIRECT_HOPS_MAX = 4
BACKOFF_MAX_S = 0.4
SERVE_TIMEOUT_S = 30.0
LEADER_TIMEOUT_S = 20.0
CONVERGE_TIMEOUT_S = 60.0
CLIENT_JOIN_TIMEOUT_S = KEY_DEADLINE_S + 15.0
PAGES_MAX = 1000
SAMPLE_INTERVAL_S = 0.25
# The figures of a run: keys acknowledged, faults injected, acknowledged keys lost and keys on two
# jobs, the longest write gap, keys never acknowledged, keys acknowledged after a retry, and
# acknowledgements that were an Idempotency-Key replay of a job an earlier attempt had created, and
# the longest time from taking a leader away to another member leading.
RESULT_ZERO = {"acknowledged": 0, "faults": 0, "lost": 0, "duplicated": 0, "gap_ms": 0, "unknown": 0,
               "retried": 0, "replayed": 0, "election_ms": 0}

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: SIGKILL it when the checker dies, however it dies."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def log(message):
    print(f"[history {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_ports(count):
    """`count` distinct loopback ports that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def request(address, method, path, token, body=None, headers=None, timeout=REQUEST_TIMEOUT_S):
    """One HTTP request on a fresh connection: (status, headers by lower-case name, body bytes).
    Raises OSError or http.client.HTTPException when the master does not answer."""
    host, port = address.split(":")
    if host != "127.0.0.1":
        raise OSError(f"refusing to talk to {address}")
    h = {"Authorization": f"Bearer {token}"}
    if body is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, {name.lower(): value for name, value in r.getheaders()}, r.read()
    finally:
        conn.close()


class Master:
    """One `fuller-master serve` process; killed, paused and restarted by the fault loop."""

    def __init__(self, name, api_port, peer_port, directory, env):
        self.name = name
        self.api = f"127.0.0.1:{api_port}"
        self.peer_port = peer_port
        self.data_dir = os.path.join(directory, name)
        self.log_path = os.path.join(directory, name + ".log")
        self.env = env
        self.arguments = []
        self.process = None
        self.paused = False
        self.down_on_purpose = False

    def start(self):
        assert self.process is None or self.process.poll() is not None
        with open(self.log_path, "ab") as err:
            self.process = subprocess.Popen(self.arguments, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=err, env=self.env, preexec_fn=_die_with_parent)
        self.paused = False
        self.down_on_purpose = False

    def wait_serving(self, token, timeout=SERVE_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} while starting")
            try:
                if request(self.api, "GET", "/healthz", token, timeout=1)[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not serve on {self.api} in {timeout}s")

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """SIGKILL (after SIGCONT if paused) and reap. Safe to call twice."""
        if self.running:
            if self.paused:
                os.kill(self.process.pid, signal.SIGCONT)
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.paused = False

    def pause(self):
        os.kill(self.process.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False

    def crashed(self):
        """True when it exited although nothing here killed it."""
        return self.process is not None and self.process.poll() is not None and not self.down_on_purpose

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            return "\n".join(text.splitlines()[-lines:])
        except OSError:
            return ""


class Cluster:
    """Three masters with a token file, as deploy/local-cluster.sh runs them."""

    def __init__(self, bin_dir, directory, extra_arguments):
        self.directory = directory
        self.token = secrets.token_hex(32)
        peer_token = secrets.token_hex(32)
        token_file = os.path.join(directory, "tokens")
        with open(token_file, "w") as f:
            f.write(f"admin operator {self.token}\npeer masters {peer_token}\n")
        os.chmod(token_file, 0o600)
        ports = free_ports(6)
        env = dict(os.environ, FULLER_PEER_TOKEN=peer_token)
        self.members = [Master(f"m{i + 1}", ports[2 * i], ports[2 * i + 1], directory, env) for i in range(3)]
        peers = ",".join(f"{m.name}=127.0.0.1:{m.peer_port}" for m in self.members)
        for m in self.members:
            m.arguments = [os.path.join(bin_dir, "fuller-master"), "serve", "--id", m.name, "--data-dir", m.data_dir,
                           "--api", m.api, "--peer", f"127.0.0.1:{m.peer_port}", "--peers", peers,
                           "--token-file", token_file] + extra_arguments

    def start(self):
        for m in self.members:
            m.start()
        for m in self.members:
            m.wait_serving(self.token)

    def stop(self):
        for m in self.members:
            m.kill()

    def member(self, name):
        return next(m for m in self.members if m.name == name)

    def view(self, m):
        """`GET /v1/cluster` of one member as a dict, or None."""
        if not m.running or m.paused:
            return None
        try:
            status, _, body = request(m.api, "GET", "/v1/cluster", self.token, timeout=1)
            return json.loads(body) if status == 200 else None
        except (OSError, http.client.HTTPException, ValueError):
            return None

    def leader(self):
        """The name of the member that says it leads in the highest term, or None."""
        best = None
        for m in self.members:
            v = self.view(m)
            if v and v.get("leader") == v.get("self") and (best is None or v["term"] > best["term"]):
                best = v
        return best["self"] if best else None

    def wait_leader(self, timeout=LEADER_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            name = self.leader()
            if name:
                return name
            time.sleep(0.1)
        return None


class History:
    """What the clients saw: acknowledged keys with job ids and times, and what no retry explained."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged = {}
        self.ack_times = []
        self.conflicts = []
        self.rejected = []
        self.unknown = set()
        self.retried = 0
        self.replayed = 0

    def ack(self, key, job_id, attempts=1, replayed=False):
        with self.lock:
            self.ack_times.append(time.monotonic())
            self.retried += attempts > 1
            self.replayed += replayed
            previous = self.acknowledged.setdefault(key, job_id)
            if previous != job_id:
                self.conflicts.append(f"{key}: acknowledged as {previous} and {job_id}")

    def reject(self, key, status, body):
        with self.lock:
            self.rejected.append(f"{key}: {status} {body[:200]!r}")

    def give_up(self, key, last):
        with self.lock:
            self.unknown.add(key)

    def longest_gap(self, start, end):
        """(seconds, when it began) of the longest interval in [start, end] with no acknowledged write."""
        with self.lock:
            times = sorted(t for t in self.ack_times if start <= t <= end)
        edges = [start] + times + [end]
        return max((b - a, a) for a, b in zip(edges, edges[1:]))


def job_spec(key):
    return json.dumps({"name": "history", "owner": "faults", "type": "batch", "labels": {LABEL: key},
                       "container": {"image": "fuller-test/busybox:1", "resources": {"cpu": 0.1, "memoryMB": 16}},
                       "batch": {"size": 1}}).encode()


class Writer(threading.Thread):
    """Submits jobs one after another, each under a new key, retrying a key (same key, same body)
    on other masters until it is acknowledged or its deadline passes."""

    def __init__(self, index, prefix, cluster, history, stopping):
        super().__init__(name=f"writer-{index}", daemon=True)
        self.index = index
        self.prefix = prefix
        self.addresses = [m.api for m in cluster.members]
        self.token = cluster.token
        self.history = history
        self.stopping = stopping
        self.leader = None

    def run(self):
        n = 0
        while not self.stopping.is_set():
            self.submit(f"{self.prefix}-w{self.index}-{n}", n)
            n += 1
            time.sleep(0.01)

    def submit(self, key, n):
        body = job_spec(key)
        rotation = self.index + n
        target = self.leader or self.addresses[rotation % 3]
        deadline = time.monotonic() + KEY_DEADLINE_S
        delay, hops, last, attempts = 0.05, 0, "no attempt", 0
        while time.monotonic() < deadline:
            attempts += 1
            try:
                status, headers, answer = request(target, "POST", "/v1/jobs", self.token, body, {"Idempotency-Key": key})
                if status in (200, 201):
                    self.history.ack(key, json.loads(answer)["id"], attempts, headers.get("idempotent-replayed") == "true")
                    self.leader = target
                    return
                if status == 307 and hops < REDIRECT_HOPS_MAX and headers.get("location", "").startswith("http://127.0.0.1:"):
                    hops += 1
                    target = headers["location"][len("http://"):].split("/")[0]
                    continue
                if status not in (307, 429, 500, 502, 503, 504):
                    self.history.reject(key, status, answer)
                    return
                last = f"{target}: {status}"
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                last = f"{target}: {e!r}"
            self.leader, hops = None, 0
            rotation += 1
            target = self.addresses[rotation % 3]
            time.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)
        self.history.give_up(key, last)


class Sampler(threading.Thread):
    """Every SAMPLE_INTERVAL_S, each member's `/v1/cluster` in one short line, so that the longest
    write gap can be shown as the group saw it (role, term, commit, applied; the leader adds each
    member's lag)."""

    def __init__(self, cluster, stopping):
        super().__init__(name="sampler", daemon=True)
        self.cluster = cluster
        self.stopping = stopping
        self.samples = []

    def run(self):
        while not self.stopping.wait(SAMPLE_INTERVAL_S):
            line = " ".join(self.describe(m) for m in self.cluster.members)
            self.samples.append((time.monotonic(), line))

    def describe(self, m):
        v = self.cluster.view(m)
        if v is None:
            return f"{m.name}=paused" if m.paused else f"{m.name}=down" if not m.running else f"{m.name}=silent"
        me = next((x for x in v.get("members", []) if x.get("id") == v.get("self")), {})
        lag = ",".join(f"{x['id']}:{x['lag']}" for x in v.get("members", []) if "lag" in x)
        return (f"{m.name}={me.get('role')}/t{v.get('term')}/c{v.get('commitIndex')}/a{v.get('appliedIndex')}"
                + (f"/lag[{lag}]" if lag else ""))

    def between(self, start, end, count_max=24):
        inside = [(t, line) for t, line in self.samples if start - SAMPLE_INTERVAL_S <= t <= end + SAMPLE_INTERVAL_S]
        step = max(1, len(inside) // count_max)
        return inside[::step]


class FaultLoop:
    """One fault at a time, each healed before the next, so a quorum is always one heal away."""

    # The default mix: a kind listed twice is chosen twice as often.
    KINDS = ["kill-leader", "stop-follower", "kill-leader", "stop-follower", "stop-leader", "kill-follower"]
    # kill-all (every member SIGKILLed, then all restarted from their data directories) is not in
    # the default mix: writes stop for the whole hold, which the write-gap figure would then measure.
    KINDS_KNOWN = {"kill-leader", "kill-follower", "stop-leader", "stop-follower", "kill-all"}

    def __init__(self, cluster, rng, hold_max_s, kinds):
        self.cluster = cluster
        self.rng = rng
        self.hold_max_s = hold_max_s
        self.kinds = kinds
        self.injected = 0
        self.events = []
        self.elections_ms = []   # for each leader taken away while held: how long until another led

    def run(self, until):
        while time.monotonic() < until:
            time.sleep(self.rng.uniform(1.0, 3.0))
            if time.monotonic() >= until:
                break
            leader = self.cluster.wait_leader()
            if leader is None:
                raise RuntimeError("no leader elected within %ss during the fault loop" % LEADER_TIMEOUT_S)
            self.inject(self.rng.choice(self.kinds), leader)

    def victims(self, kind, leader):
        c = self.cluster
        if kind == "kill-all":
            return list(c.members)
        if kind.endswith("leader"):
            return [c.member(leader)]
        return [self.rng.choice([m for m in c.members if m.name != leader])]

    def inject(self, kind, leader):
        victims = self.victims(kind, leader)
        names = ",".join(v.name for v in victims)
        hold = self.rng.uniform(1.0, self.hold_max_s)
        self.injected += 1
        self.events.append((time.monotonic(), f"{kind} {names} {hold:.1f}s"))
        log(f"fault {self.injected}: {kind} {names} for {hold:.1f}s")
        if kind.startswith("kill"):
            for v in victims:
                v.down_on_purpose = True
                v.kill()
            self.hold(hold, kind, victims)
            for v in victims:
                v.start()
            for v in victims:
                v.wait_serving(self.cluster.token)
        else:
            victims[0].pause()
            self.hold(hold, kind, victims)
            victims[0].resume()

    def hold(self, seconds, kind, victims):
        """Waits `seconds`; when the leader was taken away, meanwhile measures how long the others
        take to elect a new one (the group's own unavailability, apart from any client's timeouts)."""
        began = time.monotonic()
        until = began + seconds
        if kind.endswith("-leader"):
            old = {v.name for v in victims}
            while time.monotonic() < until:
                leader = self.cluster.leader()
                if leader is not None and leader not in old:
                    self.elections_ms.append(int((time.monotonic() - began) * 1000))
                    break
                time.sleep(0.05)
        time.sleep(max(0.0, until - time.monotonic()))


def list_jobs(cluster, m):
    """Every job on member `m`'s own store, all pages."""
    jobs, cursor = [], None
    for _ in range(PAGES_MAX):
        path = "/v1/jobs?stale=true&limit=1000" + (f"&cursor={cursor}" if cursor else "")
        status, _, body = request(m.api, "GET", path, cluster.token, timeout=10)
        if status != 200:
            raise RuntimeError(f"GET {path} on {m.name}: {status}")
        page = json.loads(body)
        jobs += page["items"]
        cursor = page.get("nextCursor")
        if not cursor:
            return jobs
    raise RuntimeError(f"more than {PAGES_MAX} pages on {m.name}")


def converge(cluster):
    """Waits until every member has applied what the leader committed and lists the same jobs
    (a listing counts only if the member's applied index did not move during it). Returns
    (lists, None) or (last lists or None, what differed)."""
    deadline = time.monotonic() + CONVERGE_TIMEOUT_S
    last, lists = "no answer", None
    while time.monotonic() < deadline:
        time.sleep(0.2)
        before = [cluster.view(m) for m in cluster.members]
        leaders = [v for v in before if v and v.get("leader") == v.get("self")]
        if None in before or len(leaders) != 1 or \
                any(v["leader"] != leaders[0]["self"] or v["appliedIndex"] != leaders[0]["commitIndex"] for v in before):
            last = "not caught up: " + str([(v["self"], v.get("leader"), v["appliedIndex"], v["commitIndex"]) if v else None
                                            for v in before])
            continue
        try:
            lists = [list_jobs(cluster, m) for m in cluster.members]
        except (OSError, http.client.HTTPException, RuntimeError, ValueError) as e:
            last = f"listing failed: {e!r}"
            continue
        after = [cluster.view(m) for m in cluster.members]
        if [v and v["appliedIndex"] for v in after] != [v["appliedIndex"] for v in before]:
            last = "applied index moved during the listing"
            continue
        difference = differ(lists, [m.name for m in cluster.members])
        if difference is None:
            return lists, None
        last = difference
    return lists, last


def differ(lists, names):
    """None when every list is the same; otherwise what differs first."""
    reference = {j["id"]: j for j in lists[0]}
    for name, jobs in zip(names[1:], lists[1:]):
        other = {j["id"]: j for j in jobs}
        if other == reference and len(jobs) == len(lists[0]):
            continue
        only = sorted(set(other) - set(reference))[:3]
        missing = sorted(set(reference) - set(other))[:3]
        changed = sorted(i for i in other if i in reference and other[i] != reference[i])[:3]
        return f"{name} differs from {names[0]} ({len(jobs)} vs {len(lists[0])} jobs): only on {name} {only}, missing {missing}, different {changed}"
    return None


def audit(history, lists, names):
    """(lost keys, duplicated keys, problems) of the acknowledged writes against every member's store."""
    lost, duplicated, problems = set(), set(), []
    for name, jobs in zip(names, lists):
        by_key = {}
        for j in jobs:
            key = ((j.get("spec") or {}).get("labels") or {}).get(LABEL)
            if key is None:
                continue
            by_key.setdefault(key, []).append(j["id"])
            if j.get("idempotencyKey", key) != key:
                problems.append(f"{name}: job {j['id']} labelled {key} has idempotencyKey {j.get('idempotencyKey')}")
        for key, ids in by_key.items():
            if len(ids) > 1:
                duplicated.add(key)
                problems.append(f"{name}: key {key} on {len(ids)} jobs {ids[:3]}")
        for key, job_id in history.acknowledged.items():
            if job_id not in by_key.get(key, []):
                lost.add(key)
                problems.append(f"{name}: acknowledged {key} -> {job_id}, store has {by_key.get(key)}")
    duplicated |= {c.split(":")[0] for c in history.conflicts}
    problems += history.conflicts + history.rejected
    return lost, duplicated, problems


def heal(cluster):
    """SIGCONT the paused, start the killed; a member that exited by itself is started too, and
    named in the result (a crash is a failure)."""
    crashed = [m.name for m in cluster.members if m.crashed()]
    for m in cluster.members:
        if m.paused:
            m.resume()
        if not m.running:
            m.start()
    for m in cluster.members:
        m.wait_serving(cluster.token)
    return crashed


def run_once(bin_dir, seconds, writers, seed, faults, extra_arguments):
    """One history: returns a dict of figures and problems."""
    directory = tempfile.mkdtemp(prefix="fuller-faults-history-")
    result = dict(RESULT_ZERO, problems=[])
    cluster, stopping = None, threading.Event()
    try:
        cluster = Cluster(bin_dir, directory, extra_arguments)
        cluster.start()
        if cluster.wait_leader() is None:
            raise RuntimeError("no first leader")
        history, loop = History(), FaultLoop(cluster, random.Random(seed), faults.hold_max, faults.kinds)
        threads = [Writer(i, f"s{seed}", cluster, history, stopping) for i in range(writers)]
        sampler = Sampler(cluster, stopping)
        threads.append(sampler)
        start = time.monotonic()
        for t in threads:
            t.start()
        try:
            loop.run(start + seconds)
        except (RuntimeError, OSError) as e:
            result["problems"].append(f"fault loop: {e!r}")
        finally:
            end = time.monotonic()
            stopping.set()
            result["faults"] = loop.injected
        crashed = heal(cluster)
        result["problems"] += [f"{name} exited by itself:\n{cluster.member(name).log_tail()}" for name in crashed]
        for t in threads:
            t.join(CLIENT_JOIN_TIMEOUT_S)
        result["problems"] += [f"{t.name} still running after the run" for t in threads if t.is_alive()]
        result.update(acknowledged=len(history.acknowledged), unknown=len(history.unknown),
                      retried=history.retried, replayed=history.replayed, election_ms=max(loop.elections_ms, default=0))
        check_liveness(cluster, history, loop, sampler, (start, end), faults.gap_max_ms, result)
        check_stores(cluster, history, result)
    except Exception as e:   # anything unexpected is a failed run, reported with the logs
        result["problems"].append(f"{e!r}")
    finally:
        if cluster:
            if result["problems"]:
                for m in cluster.members:
                    log(f"--- {m.name} log tail ---\n{m.log_tail()}")
            cluster.stop()
        if os.environ.get("FULLER_HISTORY_KEEP") == "1":
            log(f"kept {directory} (FULLER_HISTORY_KEEP=1): data directories and logs")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    return result


def check_liveness(cluster, history, loop, sampler, window, gap_max_ms, result):
    """The longest write gap of the fault window is within `gap_max_ms`, and the healed group
    acknowledges a new write: a group that elects but no longer commits fails here."""
    start, end = window
    gap, gap_at = history.longest_gap(start, end)
    result["gap_ms"] = int(gap * 1000)
    log("faults: " + "; ".join(f"+{t - start:.1f}s {e}" for t, e in loop.events))
    begun = [e for t, e in loop.events if t <= gap_at + gap]
    log(f"longest write gap {gap * 1000:.0f} ms from +{gap_at - start:.1f}s; last fault begun by its end: "
        f"{begun[-1] if begun else 'none'}")
    for t, line in sampler.between(gap_at, gap_at + gap):
        log(f"  +{t - start:6.2f}s {line}")
    if result["gap_ms"] > gap_max_ms:
        result["problems"].append(f"no write acknowledged for {result['gap_ms']} ms (limit {gap_max_ms} ms) "
                                  f"from +{gap_at - start:.1f}s")
    probe = Writer(0, "after-heal", cluster, history, threading.Event())
    key = f"after-heal-{time.monotonic_ns()}"
    probe.submit(key, 0)
    if key not in history.acknowledged:
        result["problems"].append(f"no write acknowledged within {KEY_DEADLINE_S}s after every member was healed")


def check_stores(cluster, history, result):
    lists, difference = converge(cluster)
    if difference:
        result["problems"].append(f"stores did not converge in {CONVERGE_TIMEOUT_S}s: {difference}")
    if lists is None:
        result["lost"] = len(history.acknowledged)
        return
    lost, duplicated, problems = audit(history, lists, [m.name for m in cluster.members])
    result.update(lost=len(lost), duplicated=len(duplicated))
    result["problems"] += problems


def figures(r):
    return (f"acknowledged={r['acknowledged']} faults={r['faults']} lost={r['lost']} duplicated={r['duplicated']} "
            f"longest-write-gap={r['gap_ms']}ms longest-election={r['election_ms']}ms unknown={r['unknown']} "
            f"retried={r['retried']} replayed={r['replayed']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", required=True, help="directory holding fuller-master")
    parser.add_argument("--seconds", type=float, default=75, help="length of each run's fault window")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--hold-max", type=float, default=4.0, help="longest a fault is held before it is healed, seconds")
    parser.add_argument("--gap-max-ms", type=int, default=20_000,
                        help="a longer interval with no acknowledged write fails the run (a hang)")
    parser.add_argument("--faults", default=",".join(FaultLoop.KINDS),
                        help="the kinds of fault to choose from, comma-separated (a kind listed twice is chosen twice as often): "
                             + ", ".join(sorted(FaultLoop.KINDS_KNOWN)))
    parser.add_argument("--seed", type=int, default=None, help="fault loop seed (default: random, printed)")
    parser.add_argument("--snapshot-every", type=int, default=500,
                        help="passed to the masters: small, so snapshots, compaction and snapshot installs happen")
    args = parser.parse_args()
    args.kinds = args.faults.split(",")
    if not set(args.kinds) <= FaultLoop.KINDS_KNOWN:
        parser.error(f"--faults: unknown kind {sorted(set(args.kinds) - FaultLoop.KINDS_KNOWN)}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    total = dict(RESULT_ZERO, problems=[])
    for i in range(args.runs):
        run_seed = seed + i
        r = run_once(args.bin_dir, args.seconds, args.writers, run_seed, args, ["--snapshot-every", str(args.snapshot_every)])
        print(f"history run {i + 1}/{args.runs} seed={run_seed}: {'PASS' if not r['problems'] else 'FAIL'} {figures(r)}", flush=True)
        for p in r["problems"][:10]:
            print(f"  {p}", flush=True)
        for k in ("acknowledged", "faults", "lost", "duplicated", "unknown", "retried", "replayed"):
            total[k] += r[k]
        total["gap_ms"] = max(total["gap_ms"], r["gap_ms"])
        total["election_ms"] = max(total["election_ms"], r["election_ms"])
        total["problems"] += r["problems"]
    ok = not total["problems"] and total["acknowledged"] > 0
    print(f"history: {'PASS' if ok else 'FAIL'} {figures(total)} runs={args.runs} seed={seed}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
