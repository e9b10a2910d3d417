#!/usr/bin/env python3
"""Figures for self-healing and scale, in a private binfmt_misc instance and bus.

Run as root from the source tree after building (build/ by default):

    unshare --user --map-root-user --mount python3 tests/perf/healing.py [--idle-seconds 60]

It prints, with medians (and min/max) of repeated runs:
  - the healing delay: from another program's `-1 > status` (the whole table flushed) until
    every one of binfmtd's 30 entries is back;
  - the CPU time an idle daemon with 30 handlers uses (user + system, over --idle-seconds);
  - `binfmtd --apply` of 1,000 custom handlers into an empty instance, and the no-op apply
    that follows.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def handlers(count, prefix):
    return {"handlers": [{"name": f"{prefix}{i:04d}", "extension": f"{prefix}{i:04d}",
                          "interpreter": "/bin/cat"} for i in range(count)]}


class Env:
    def __init__(self, build):
        self.tmp = tempfile.mkdtemp(prefix="binfmtd-perf-")
        os.chmod(self.tmp, 0o755)
        self.binfmt = os.path.join(self.tmp, "binfmt_misc")
        os.mkdir(self.binfmt)
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", self.binfmt], check=True)
        self.binfmtd = os.path.join(build, "daemon", "binfmtd")
        for d in ("etc", "run", "usr"):
            os.makedirs(os.path.join(self.tmp, d), exist_ok=True)

    def args(self):
        t = self.tmp
        return [self.binfmtd, f"--binfmt-dir={self.binfmt}", f"--config-dir={t}/etc",
                f"--runtime-config-dir={t}/run", f"--vendor-config-dir={t}/usr",
                f"--state-dir={t}/run"]

    def configure(self, config):
        with open(os.path.join(self.tmp, "etc", "binfmtd.json"), "w") as f:
            json.dump(config, f)

    def write(self, name, text):
        fd = os.open(os.path.join(self.binfmt, name), os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    def start_bus(self):
        conf = os.path.join(self.tmp, "bus.conf")
        with open(os.path.join(TOP, "tests", "data", "system-bus.conf.in")) as f:
            text = f.read()
        text = text.replace("@SOCKET@", os.path.join(self.tmp, "bus.sock"))
        text = text.replace("@POLICY@", os.path.join(TOP, "systemd", "org.binfmtd.Binfmt1.conf"))
        with open(conf, "w") as f:
            f.write(text)
        self.bus = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork"],
                                    stderr=subprocess.DEVNULL)
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={self.tmp}/bus.sock"
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(self.tmp, "bus.sock")):
            if time.monotonic() > deadline:
                sys.exit("the private bus did not start")
            time.sleep(0.01)


def cpu_ns(pid):
    # The scheduler's own account, in nanoseconds (utime and stime tick at 10 ms).
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def summary(values, unit):
    return (f"median {statistics.median(values):.2f} {unit} "
            f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})")


def measure_daemon(env, idle_seconds, rounds):
    env.configure(handlers(30, "h"))
    env.start_bus()
    log = open(os.path.join(env.tmp, "binfmtd.log"), "w")
    daemon = subprocess.Popen(env.args(), stderr=log)
    names = [f"h{i:04d}" for i in range(30)]
    deadline = time.monotonic() + 10
    while not all(os.path.exists(os.path.join(env.binfmt, n)) for n in names):
        if time.monotonic() > deadline or daemon.poll() is not None:
            sys.exit("binfmtd did not register the handlers; see " + log.name)
        time.sleep(0.01)
    time.sleep(1)

    delays = []
    binfmtctl = os.path.join(os.path.dirname(os.path.dirname(env.binfmtd)), "client", "binfmtctl")
    for _ in range(rounds):
        env.write("status", "-1")
        start = time.monotonic()
        while not all(os.path.exists(os.path.join(env.binfmt, n)) for n in names):
            time.sleep(0.0005)
        delays.append((time.monotonic() - start) * 1000)
        # Flushes in a row look like a fight and start binfmtd's back-off; a reload ends it.
        subprocess.run([binfmtctl, "reload"], check=True, stdout=subprocess.DEVNULL)
        time.sleep(0.2)
    print(f"healing delay, 30 entries after a flush: {summary(delays, 'ms')}")

    before = cpu_ns(daemon.pid)
    time.sleep(idle_seconds)
    used = (cpu_ns(daemon.pid) - before) / 1e6
    print(f"idle CPU, 30 handlers, {idle_seconds} s: {used:.1f} ms "
          f"({used / idle_seconds / 10:.4f} % of one core)")
    daemon.terminate()
    daemon.wait()
    env.bus.terminate()


def measure_scale(env, count, rounds):
    env.configure(handlers(count, "s"))
    apply = env.args() + ["--apply"]
    first, noop = [], []
    for _ in range(rounds):
        env.write("status", "-1")
        for d in (first, noop):
            start = time.monotonic()
            r = subprocess.run(apply, stderr=subprocess.PIPE, text=True)
            d.append((time.monotonic() - start) * 1000)
            if r.returncode != 0:
                sys.exit(r.stderr[-2000:])
    print(f"binfmtd --apply, {count} handlers, empty instance: {summary(first, 'ms')}")
    print(f"binfmtd --apply, {count} handlers, no-op: {summary(noop, 'ms')}")
    env.write("status", "-1")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(TOP, "build"))
    parser.add_argument("--idle-seconds", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=20)
    a = parser.parse_args()
    env = Env(a.build)
    measure_scale(env, 1000, 5)
    measure_daemon(env, a.idle_seconds, a.rounds)


if __name__ == "__main__":
    main()
