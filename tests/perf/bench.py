#!/usr/bin/python3
"""binfmtd measured against systemd-binfmt and update-binfmts, side by side.

Run it through tests/perf/run.sh, which installs what is needed, builds a release build
and enters a user + mount namespace. By hand, as root, after that:

    unshare --user --map-root-user --mount /usr/bin/python3 tests/perf/bench.py \\
        --build build-perf --update-binfmts /var/cache/binfmtd-perf/root/usr/sbin/update-binfmts

Everything the kernel sees happens in the namespace's own binfmt_misc instance, mounted
over /proc/sys/fs/binfmt_misc there (systemd-binfmt knows no other place); the bus is a
private system-type dbus-daemon with binfmtd's own policy. Every figure is the median of
repeated runs with min and max; every comparison runs its programs in turn (A B C A B C),
in the same run. Writes results.json and results.md to --out (docs/perf by default).
"""
import argparse
import glob
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROC = "/proc/sys/fs/binfmt_misc"
SYSTEMD_BINFMT = "/usr/lib/systemd/systemd-binfmt"
BUS_NAME = "org.binfmtd.Binfmt1"


def fail(message):
    sys.exit(f"bench.py: {message}")


def stats(values):
    """Median, min, max, p99 and count of a list of numbers."""
    ordered = sorted(values)
    # p99 by the nearest-rank method: with 200 samples, the second largest.
    rank = max(0, min(len(ordered) - 1, int(round(0.99 * len(ordered) + 0.5)) - 1))
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1],
            "p99": ordered[rank], "n": len(ordered)}


def wall_cpu(samples):
    """Stats of (wall, cpu) pairs: {"wall": ..., "cpu": ...}."""
    return {"wall": stats([w for w, _ in samples]), "cpu": stats([c for _, c in samples])}


def custom_handlers(count, prefix="s"):
    return {"handlers": [{"name": f"{prefix}{i:04d}", "extension": f"{prefix}{i:04d}",
                          "interpreter": "/bin/cat"} for i in range(count)]}


def write_file(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def kernel_write(name, text):
    fd = os.open(os.path.join(PROC, name), os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def kernel_entries():
    return sorted(n for n in os.listdir(PROC) if n not in ("register", "status"))


def flush():
    """Empties the PRIVATE instance (checked in Bench.__init__)."""
    kernel_write("status", "-1")


def smaps_rollup(pid):
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "kB":
                values[parts[0].rstrip(":")] = int(parts[1])
    return {"rss_kib": values.get("Rss", 0), "pss_kib": values.get("Pss", 0),
            "private_kib": values.get("Private_Clean", 0) + values.get("Private_Dirty", 0),
            "anonymous_kib": values.get("Anonymous", 0)}


def cpu_ns(pid):
    # The scheduler's own account in nanoseconds (utime and stime tick at 10 ms).
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


class Tree:
    """One binfmtd configuration: its own config, runtime and state directories."""

    def __init__(self, bench, name):
        self.bench = bench
        self.root = os.path.join(bench.tmp, name)
        for d in ("etc/conf.d", "run/conf.d", "usr", "state"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)

    def args(self, *extra):
        r = self.root
        return [self.bench.binfmtd, f"--binfmt-dir={PROC}", f"--config-dir={r}/etc",
                f"--runtime-config-dir={r}/run", f"--vendor-config-dir={r}/usr",
                f"--state-dir={r}/state", *extra]

    def configure(self, config, name="binfmtd.json"):
        write_file(os.path.join(self.root, "etc", name), json.dumps(config))

    def forget_ownership(self):
        """A boot: /run is empty, binfmtd has no record of what it registered."""
        for f in os.listdir(os.path.join(self.root, "state")):
            os.unlink(os.path.join(self.root, "state", f))


class Daemon:
    """binfmtd on the private bus, started and stopped around a block of measurements."""

    def __init__(self, bench, tree, log_name):
        self.bench = bench
        self.log_path = os.path.join(bench.tmp, log_name)
        notify = os.path.join(bench.tmp, f"notify-{log_name}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify)
        sock.settimeout(30)
        env = dict(os.environ, NOTIFY_SOCKET=notify)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(tree.args(), env=env, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=log)
        try:
            while b"READY=1" not in sock.recv(4096):
                pass
        except socket.timeout:
            self.stop()
            fail(f"binfmtd did not get ready; its log: {self.log_path}")
        finally:
            sock.close()
            os.unlink(notify)
        self.pid = self.process.pid

    def stop(self):
        self.process.terminate()
        self.process.wait()
        self.bench.tool("wait-name-gone")


class Bench:
    def __init__(self, a):
        self.a = a
        self.results = {"sections": {}}
        self.binfmtd = os.path.join(a.build, "daemon", "binfmtd")
        self.binfmtd_apply = os.path.join(a.build, "daemon", "binfmtd-apply")
        self.binfmtctl = os.path.join(a.build, "client", "binfmtctl")
        self.bench_tool = os.path.join(a.build, "tests", "perf", "binfmtd-bench")
        self.update_binfmts = a.update_binfmts
        for path in (self.binfmtd, self.binfmtd_apply, self.binfmtctl, self.bench_tool, self.update_binfmts,
                     SYSTEMD_BINFMT):
            if not os.access(path, os.X_OK):
                fail(f"{path} is missing: run tests/perf/run.sh, which builds and installs it")
        self.qemu_confs = sorted(glob.glob("/usr/lib/binfmt.d/qemu-*.conf"))
        self.qemu_formats = sorted(glob.glob("/usr/share/binfmts/qemu-*"))
        if len(self.qemu_confs) != 29 or len(self.qemu_formats) != 29:
            fail(f"expected Debian's 29 qemu-user-static binfmt.d files and formats, found "
                 f"{len(self.qemu_confs)} and {len(self.qemu_formats)}")
        self.qemu_names = [os.path.basename(c)[:-len(".conf")] for c in self.qemu_confs]

        # Never the machine's instance: only a user namespace of our own may go on.
        with open("/proc/self/uid_map") as f:
            if "4294967295" in f.read():
                fail("not in a user namespace of its own: run it through tests/perf/run.sh")
        self.tmp = tempfile.mkdtemp(prefix="binfmtd-perf-")
        # binfmtd records ownership under /run, a tmpfs on every systemd machine: an fsync
        # on a disk would be measured instead (about 10 ms on this machine's ext4).
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "binfmtd-perf", self.tmp],
                       check=True)
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", PROC], check=True)
        if kernel_entries():
            fail("the new binfmt_misc instance is not empty")

        # systemd-binfmt's boot mode reads /etc, /run, /usr/local/lib and /usr/lib binfmt.d:
        # in this mount namespace they hold exactly the 29 qemu files.
        only_qemu = os.path.join(self.tmp, "binfmt.d")
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(only_qemu)
        os.makedirs(empty)
        for c in self.qemu_confs:
            shutil.copy(c, only_qemu)
        for d in ("/etc/binfmt.d", "/run/binfmt.d", "/usr/local/lib/binfmt.d"):
            if os.path.isdir(d):
                subprocess.run(["mount", "--bind", empty, d], check=True)
        subprocess.run(["mount", "--bind", only_qemu, "/usr/lib/binfmt.d"], check=True)
        self.qemu_confs = sorted(glob.glob("/usr/lib/binfmt.d/*.conf"))

        # update-binfmts: a database holding the same 29 formats.
        self.binfmts_admin = os.path.join(self.tmp, "binfmts-admin")
        self.binfmts_import = os.path.join(self.tmp, "binfmts-import")
        os.makedirs(self.binfmts_admin)
        os.makedirs(self.binfmts_import)
        for f in self.qemu_formats:
            shutil.copy(f, self.binfmts_import)
        self.run(self.update_binfmts_args("--import"))
        if kernel_entries() != self.qemu_names:
            fail("update-binfmts --import did not register the 29 formats")
        flush()

        # binfmtd: the same files through binfmtctl import.
        self.qemu_tree = Tree(self, "qemu")
        self.run([self.binfmtctl, "import",
                  f"--output={self.qemu_tree.root}/etc/conf.d/40-imported.json",
                  *self.qemu_confs])

        self.start_bus()
        self.results["machine"] = self.machine()

    # -- helpers --

    def run(self, argv, **kwargs):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           **kwargs)
        if r.returncode != 0:
            fail(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return r.stdout

    def tool(self, *args):
        return json.loads(self.run([self.bench_tool, *args]) or "null")

    def update_binfmts_args(self, *action):
        return [self.update_binfmts, f"--admindir={self.binfmts_admin}",
                f"--importdir={self.binfmts_import}", f"--procdir={PROC}", *action]

    def exec_time(self, argv, log=None, ok=(0,)):
        """One run: whole-process wall time and CPU time (user + system), in ms."""
        extra = ["--log", log] if log else []
        r = self.tool("exec", *extra, "--", *argv)
        if r["status"] not in ok:
            fail(f"{' '.join(argv)} exited with {r['status']}" +
                 (f"; its log: {log}" if log else ""))
        return (r["us"] / 1000, r["cpu_us"] / 1000)

    def start_bus(self):
        conf = os.path.join(self.tmp, "bus.conf")
        with open(os.path.join(TOP, "tests", "data", "system-bus.conf.in")) as f:
            text = f.read()
        text = text.replace("@SOCKET@", os.path.join(self.tmp, "bus.sock"))
        text = text.replace("@POLICY@", os.path.join(TOP, "systemd", "org.binfmtd.Binfmt1.conf"))
        write_file(conf, text)
        self.bus = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork"],
                                    stderr=subprocess.DEVNULL)
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={self.tmp}/bus.sock"
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(self.tmp, "bus.sock")):
            if time.monotonic() > deadline:
                fail("the private bus did not start")
            time.sleep(0.01)

    def machine(self):
        def out(argv):
            try:
                return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True).stdout.strip()
            except OSError:
                return ""
        lscpu = out(["lscpu"])
        keep = ("Architecture", "Model name", "CPU(s)", "Thread(s) per core", "CPU max MHz",
                "L2 cache", "L3 cache", "Hypervisor vendor", "Virtualization type")
        cpu = {k.strip(): v.strip() for k, v in
               (line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
               if k.strip() in keep}
        with open("/proc/meminfo") as f:
            mem = f.readline().split()[1]
        return {
            "cpu": cpu,
            "memory_gib": round(int(mem) / 1024 / 1024, 1),
            "kernel": platform.release(),
            "os": out(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
            "binfmtd": out([self.binfmtd, "--version"]),
            "git": out(["git", "-C", TOP, "describe", "--always", "--dirty"]),
            "systemd": out([SYSTEMD_BINFMT, "--version"]).splitlines()[0],
            "binfmt_support": out(["dpkg-deb", "-f", self.a.binfmt_support_deb, "Version"])
            if self.a.binfmt_support_deb else "",
            "qemu_user_static": out(["dpkg-query", "-W", "-f=${Version}", "qemu-user-static"]),
            "dbus": out(["dbus-daemon", "--version"]).splitlines()[0],
            "compiler": out(["c++", "--version"]).splitlines()[0],
            "load_before": os.getloadavg(),
        }

    def section(self, key, data):
        self.results["sections"][key] = data
        print(f"  {key}: done", flush=True)

    def rounds(self, n):
        return max(3, n // 4) if self.a.quick else n

    # -- 1 and 2: one-shot apply --

    def apply_comparison(self):
        tree = self.qemu_tree
        log = os.path.join(self.tmp, "apply.log")
        tools = {
            "binfmtd --apply": tree.args("--apply"),
            "binfmtd-apply": [self.binfmtd_apply, *tree.args()[1:]],
            "systemd-binfmt": [SYSTEMD_BINFMT],
            "systemd-binfmt FILE...": [SYSTEMD_BINFMT, *self.qemu_confs],
            "update-binfmts --enable": self.update_binfmts_args("--enable"),
        }
        n = self.rounds(40)
        cold = {k: [] for k in tools}
        for i in range(n + 3):
            for name, argv in tools.items():
                flush()
                tree.forget_ownership()
                t = self.exec_time(argv, log=log)
                if kernel_entries() != self.qemu_names:
                    fail(f"{name} did not register the 29 entries")
                if i >= 3:  # warm-up rounds (page cache, dentries)
                    cold[name].append(t)

        # No-op: everything registered; binfmtd owns the entries (its first apply recorded
        # them), the others do what they always do.
        flush()
        tree.forget_ownership()
        self.exec_time(tree.args("--apply"))
        noop = {k: [] for k in tools}
        for i in range(n + 3):
            for name, argv in tools.items():
                if name.startswith("binfmtd"):
                    open(log, "w").close()
                t = self.exec_time(argv, log=log)
                if name.startswith("binfmtd"):
                    with open(log) as f:
                        text = f.read()
                    if "ok, 0 write(s)" not in text:
                        fail(f"binfmtd's no-op apply wrote to binfmt_misc:\n{text}")
                if kernel_entries() != self.qemu_names:
                    fail(f"{name} left the table changed")
                if i >= 3:
                    noop[name].append(t)
        self.section("apply_cold", {k: wall_cpu(v) for k, v in cold.items()})
        self.section("apply_noop", {k: wall_cpu(v) for k, v in noop.items()})

    # -- 3: start to READY=1 --

    def daemon_start(self):
        tree = self.qemu_tree
        log = os.path.join(self.tmp, "start.log")
        n = self.rounds(20)
        boot, restart = [], []
        for i in range(n + 2):
            flush()
            tree.forget_ownership()
            r = self.tool("ready", "--log", log, "--", *tree.args())
            if i >= 2:
                boot.append(r["us"] / 1000)
            # The entries and the ownership record stay: a restart of the service.
            r = self.tool("ready", "--log", log, "--", *tree.args())
            if i >= 2:
                restart.append(r["us"] / 1000)
        self.section("start_to_ready", {"empty instance (registers 29)": stats(boot),
                                        "29 already registered": stats(restart)})

    # -- 4, 5, 6, 7, 8: the resident daemon with the 29 qemu entries --

    def resident(self):
        tree = self.qemu_tree
        flush()
        tree.forget_ownership()
        d = Daemon(self, tree, "resident.log")
        try:
            time.sleep(0.5)
            self.config_change(tree)
            self.healing(d)
            self.status_comparison()
            self.dbus(d)
        finally:
            d.stop()

    def config_change(self, tree):
        n = self.rounds(200)
        r = self.tool("config-change", "--binfmt-dir", PROC,
                      "--dropin", os.path.join(tree.root, "etc", "conf.d", "60-bench.json"),
                      "--rounds", str(n), "--pause", "40")
        self.section("config_change", {"drop-in written -> entry in binfmt_misc":
                                       stats([us / 1000 for us in r["us"]])})

    def healing(self, d):
        n = self.rounds(20)
        delays = []
        for _ in range(n):
            r = self.tool("heal", "--binfmt-dir", PROC, *self.qemu_names)
            delays.append(r["us"] / 1000)
            # Flushes in a row look like a fight and start binfmtd's back-off; a reload
            # ends it, so every round measures a first repair.
            self.run([self.binfmtctl, "reload"])
            time.sleep(0.2)
        time.sleep(1)
        idle = self.a.idle_seconds
        memory_before = smaps_rollup(d.pid)
        before = cpu_ns(d.pid)
        time.sleep(idle)
        used_ms = (cpu_ns(d.pid) - before) / 1e6
        self.section("healing", {
            "delay": stats(delays),
            "idle_seconds": idle,
            "idle_cpu_ms": used_ms,
            "idle_cpu_percent": used_ms / idle / 10,
        })
        self.results["sections"]["memory"] = {"idle, 29 handlers": memory_before}

    def status_comparison(self):
        tools = {
            "binfmtctl status": [self.binfmtctl, "status"],
            "binfmtctl list": [self.binfmtctl, "list"],
            "update-binfmts --display": self.update_binfmts_args("--display"),
        }
        n = self.rounds(30)
        times = {k: [] for k in tools}
        for i in range(n + 3):
            for name, argv in tools.items():
                t = self.exec_time(argv)
                if i >= 3:
                    times[name].append(t)
        self.section("status", {k: wall_cpu(v) for k, v in times.items()})

    def dbus(self, d):
        n = self.rounds(2000)
        r = self.tool("dbus-latency", "--rounds", str(n))
        latency = {"Peer.Ping": stats([us / 1000 for us in r["ping"]]),
                   "ListHandlers": stats([us / 1000 for us in r["list"]]),
                   "Properties.GetAll (Manager)": stats([us / 1000 for us in r["getall"]])}
        seconds = "1" if self.a.quick else "2"
        throughput = {}
        for method in ("list", "ping"):
            for clients in (1, 8, 64):
                r = self.tool("dbus-load", "--clients", str(clients), "--seconds", seconds,
                              "--method", method)
                throughput[f"{method} x{clients}"] = r["per_second"]
        self.section("dbus", {"latency": latency, "throughput": throughput})

        # Memory after 100,000 more calls: it must not grow.
        before = smaps_rollup(d.pid)
        calls = 20000 if self.a.quick else 100000
        self.tool("dbus-load", "--clients", "8", "--calls", str(calls * 6 // 10), "--method", "list")
        self.tool("dbus-load", "--clients", "8", "--calls", str(calls * 4 // 10),
                  "--method", "getall")
        time.sleep(0.5)
        after = smaps_rollup(d.pid)
        mem = self.results["sections"]["memory"]
        mem["before the calls"] = before
        mem[f"after {calls:,} more D-Bus calls"] = after

    # -- 8 (1,000 handlers) and 9: scale --

    def instructions(self, argv):
        """User-space instructions of one run (valgrind's callgrind): exact and repeatable,
        unlike times, so the cost per handler can be compared at small sizes too."""
        if not shutil.which("valgrind"):
            return None
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                            *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in r.stderr.splitlines():
            if "Collected :" in line:
                return int(line.split(":")[-1])
        fail(f"callgrind gave no count for {' '.join(argv)}:\n{r.stderr[-2000:]}")

    def scale(self):
        # 0 handlers: what a run costs before it has anything to do (start, config, kernel).
        sizes = [0, 10, 100, 1000]
        trees = {}
        for count in sizes:
            t = Tree(self, f"scale-{count}")
            t.configure(custom_handlers(count))
            trees[count] = t
            lines = "".join(f":s{i:04d}:E::s{i:04d}::/bin/cat:\n" for i in range(count))
            write_file(os.path.join(self.tmp, f"scale-{count}.conf"), lines)
        result = {}
        log = os.path.join(self.tmp, "scale.log")
        for count in sizes:
            tree = trees[count]
            conf = os.path.join(self.tmp, f"scale-{count}.conf")
            n = self.rounds(20 if count < 1000 else 10)
            series = {"binfmtd --apply, empty": [], "binfmtd --apply, no-op": [],
                      "systemd-binfmt FILE, empty": [], "systemd-binfmt FILE, again": []}
            for i in range(n + 2):
                flush()
                tree.forget_ownership()
                a = self.exec_time(tree.args("--apply"), log=log)
                if len(kernel_entries()) != count:
                    fail(f"binfmtd --apply registered {len(kernel_entries())} of {count}")
                b = self.exec_time(tree.args("--apply"), log=log)
                flush()
                c = self.exec_time([SYSTEMD_BINFMT, conf], log=log)
                e = self.exec_time([SYSTEMD_BINFMT, conf], log=log)
                if i >= 2:
                    for key, v in zip(series, (a, b, c, e)):
                        series[key].append(v)
            result[str(count)] = {k: wall_cpu(v) for k, v in series.items()}
        flush()

        counts = {}
        for count in sizes:
            tree = trees[count]
            flush()
            tree.forget_ownership()
            empty = self.instructions(tree.args("--apply"))
            noop = self.instructions(tree.args("--apply"))
            if empty is not None:
                counts[str(count)] = {"binfmtd --apply, empty": empty,
                                      "binfmtd --apply, no-op": noop}
        flush()
        if counts:
            result["instructions"] = counts

        # The resident daemon with 1,000 handlers: start, memory, a list call.
        tree = trees[1000]
        tree.forget_ownership()
        r = self.tool("ready", "--log", os.path.join(self.tmp, "scale-daemon.log"), "--",
                      *tree.args())
        result["start_to_ready_1000_ms"] = r["us"] / 1000
        d = Daemon(self, tree, "daemon-1000.log")
        try:
            time.sleep(1)
            self.results["sections"].setdefault("memory", {})["idle, 1,000 handlers"] = \
                smaps_rollup(d.pid)
            r = self.tool("dbus-latency", "--rounds", str(self.rounds(200)))
            result["list_1000_ms"] = stats([us / 1000 for us in r["list"]])
            result["ping_1000_ms"] = stats([us / 1000 for us in r["ping"]])
        finally:
            d.stop()
        flush()
        self.section("scale", result)

    def close(self):
        self.bus.terminate()
        self.bus.wait()
        flush()
        subprocess.run(["umount", self.tmp], check=True)
        os.rmdir(self.tmp)
        self.results["machine"]["load_after"] = os.getloadavg()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(TOP, "build-perf"))
    parser.add_argument("--update-binfmts",
                        default="/var/cache/binfmtd-perf/root/usr/sbin/update-binfmts")
    parser.add_argument("--binfmt-support-deb", default="")
    parser.add_argument("--out", default=os.path.join(TOP, "docs", "perf"))
    parser.add_argument("--idle-seconds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke test")
    parser.add_argument("--only", default="", help="comma-separated: apply,start,resident,scale")
    a = parser.parse_args()
    if a.quick and a.idle_seconds == 30:
        a.idle_seconds = 5
    start = time.monotonic()
    b = Bench(a)
    only = set(a.only.split(",")) if a.only else {"apply", "start", "resident", "scale"}
    try:
        if "apply" in only:
            b.apply_comparison()
        if "start" in only:
            b.daemon_start()
        if "resident" in only:
            b.resident()
        if "scale" in only:
            b.scale()
    finally:
        b.close()
    b.results["machine"]["bench_seconds"] = round(time.monotonic() - start, 1)
    b.results["quick"] = a.quick
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(b.results, f, indent=2)
        f.write("\n")
    print(f"wrote {a.out}/results.json")


if __name__ == "__main__":
    main()
