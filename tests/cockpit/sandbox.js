// The world the Cockpit page test runs in, all inside private-binfmt's user + mount
// namespace: a private system-type bus with binfmtd's policy, polkitd on it with binfmtd's
// action and the test's rules, binfmtd on a temporary configuration tree and the private
// binfmt_misc instance, and cockpit-ws serving the page from a temporary XDG_DATA_HOME with
// a bridge that runs as an unprivileged user. Nothing here touches the machine: the polkit
// directories are bind mounts in this mount namespace only.
"use strict";

const child_process = require("child_process");
const fs = require("fs");
const net = require("net");
const path = require("path");

const env = name => {
    const value = process.env[name];
    if (!value)
        throw new Error(`${name} is not set (meson sets it; run the test through meson test)`);
    return value;
};

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/// Calls check() every 20 ms until it returns something true or limitMs passes.
async function waitFor(what, check, limitMs = 10000) {
    const deadline = Date.now() + limitMs;
    for (;;) {
        const value = await check();
        if (value)
            return value;
        if (Date.now() > deadline)
            throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
        await sleep(20);
    }
}

/// Runs a command to its end: { code, out, err }. Never throws for a non-zero status.
function run(argv, options = {}) {
    const r = child_process.spawnSync(argv[0], argv.slice(1), {
        encoding: "utf8", timeout: 30000, stdio: ["ignore", "pipe", "pipe"], ...options,
    });
    if (r.error && r.error.code !== "ENOENT" && r.error.code !== "EACCES")
        throw r.error;
    return { code: r.status, out: r.stdout || "", err: r.stderr || "", errno: r.error?.code };
}

function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.listen(0, "127.0.0.1", () => {
            const port = server.address().port;
            server.close(() => resolve(port));
        });
        server.on("error", reject);
    });
}

/// A long-running child with its output in a log file.
class Child {
    constructor(name, argv, logFile, options = {}) {
        this.name = name;
        this.logFile = logFile;
        const log = fs.openSync(logFile, "a");
        this.proc = child_process.spawn(argv[0], argv.slice(1), {
            stdio: ["ignore", options.stdout || log, log], ...options,
        });
        fs.closeSync(log);
        this.exited = new Promise(resolve => this.proc.on("exit", (code, signal) => resolve({ code, signal })));
        this.running = true;
        this.exited.then(() => { this.running = false });
    }

    async stop() {
        if (!this.running)
            return;
        this.proc.kill("SIGTERM");
        const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
        await this.exited;
        clearTimeout(timer);
    }

    log() {
        return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, "utf8") : "";
    }
}

class Sandbox {
    constructor() {
        this.binfmtDir = env("BINFMTD_TEST_BINFMT_DIR");
        this.dir = fs.mkdtempSync("/tmp/binfmtd-cockpit-");
        fs.chmodSync(this.dir, 0o755); // the bridge runs as another user
        this.root = path.join(this.dir, "root");
        for (const d of ["etc", "run", "usr"])
            fs.mkdirSync(path.join(this.root, d), { recursive: true });
        this.children = [];
        this.mounts = [];
    }

    bus() {
        const socket = path.join(this.dir, "system_bus_socket");
        const config = fs.readFileSync(env("BUS_CONFIG_TEMPLATE"), "utf8")
                .replace("@SOCKET@", socket).replace("@POLICY@", env("DBUS_POLICY"));
        fs.writeFileSync(path.join(this.dir, "bus.conf"), config);
        this.address = `unix:path=${socket}`;
        process.env.DBUS_SYSTEM_BUS_ADDRESS = this.address;
        const bus = new Child("dbus-daemon", ["dbus-daemon", `--config-file=${this.dir}/bus.conf`, "--nofork"],
                              path.join(this.dir, "dbus.log"));
        this.children.push(bus);
        return waitFor("the private bus", () => fs.existsSync(socket) && this.nameHasOwner("org.freedesktop.DBus"));
    }

    nameHasOwner(name) {
        const r = run(["busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
            "org.freedesktop.DBus", "NameHasOwner", "s", name]);
        return r.out.includes("true");
    }

    /// polkitd with binfmtd's action and `rules` (JavaScript files' text) as the only ones.
    async polkit(rules) {
        const actions = path.join(this.dir, "polkit-actions");
        const rulesDir = path.join(this.dir, "polkit-rules");
        fs.mkdirSync(actions, { mode: 0o755 });
        fs.mkdirSync(rulesDir, { mode: 0o755 });
        fs.copyFileSync(env("POLKIT_POLICY"), path.join(actions, "org.binfmtd.Binfmt1.policy"));
        fs.chmodSync(path.join(actions, "org.binfmtd.Binfmt1.policy"), 0o644);
        rules.forEach((text, i) => fs.writeFileSync(path.join(rulesDir, `50-test-${i}.rules`), text, { mode: 0o644 }));
        for (const [source, target] of [[actions, "/usr/share/polkit-1/actions"], [rulesDir, "/etc/polkit-1/rules.d"]]) {
            const r = run(["mount", "--bind", source, target]);
            if (r.code !== 0)
                throw new Error(`bind-mounting ${source} over ${target} failed: ${r.err}`);
            this.mounts.push(target);
        }
        this.polkitd = new Child("polkitd", ["/usr/lib/polkit-1/polkitd", "--no-debug"], path.join(this.dir, "polkitd.log"));
        this.children.push(this.polkitd);
        await waitFor("polkitd", () => this.nameHasOwner("org.freedesktop.PolicyKit1") || !this.polkitd.running);
        if (!this.polkitd.running)
            throw new Error("polkitd did not start:\n" + this.polkitd.log());
    }

    /// binfmtd looks for emulators under a directory that holds only these (file names
    /// in /usr/bin), so that the other architectures have none.
    emulators(names) {
        this.emulatorRoot = path.join(this.dir, "emulators");
        const bin = path.join(this.emulatorRoot, "usr", "bin");
        fs.mkdirSync(bin, { recursive: true, mode: 0o755 });
        for (let d = bin; d !== this.dir; d = path.dirname(d))
            fs.chmodSync(d, 0o755);
        for (const name of names)
            fs.copyFileSync(path.join("/usr/bin", name), path.join(bin, name));
    }

    binfmtdArguments() {
        return [env("BINFMTD_BIN"), `--binfmt-dir=${this.binfmtDir}`,
            ...(this.emulatorRoot ? [`--emulator-root=${this.emulatorRoot}`] : []),
            `--config-dir=${this.root}/etc`, `--runtime-config-dir=${this.root}/run`,
            `--vendor-config-dir=${this.root}/usr`, `--state-dir=${this.root}/run`,
            `--probe-dir=${env("PROBE_DIR")}`];
    }

    /// binfmtd; ready when it owns its name (it asks for it after its first reconcile).
    async startDaemon() {
        this.daemon = new Child("binfmtd", this.binfmtdArguments(), path.join(this.dir, "binfmtd.log"));
        this.children.push(this.daemon);
        await waitFor("binfmtd on the bus", () => this.nameHasOwner("org.binfmtd.Binfmt1") || !this.daemon.running, 20000);
        if (!this.daemon.running)
            throw new Error("binfmtd exited:\n" + this.daemon.log());
    }

    async stopDaemon() {
        await this.daemon.stop();
        await waitFor("binfmtd to leave the bus", () => !this.nameHasOwner("org.binfmtd.Binfmt1"));
    }

    ctl(...args) {
        return run([env("BINFMTCTL_BIN"), ...args]);
    }

    /// cockpit-ws on a free port, serving only the binfmtd page; its one session's bridge
    /// runs as `uid` (with the gid of the same number) through setpriv.
    async cockpit(uid) {
        const name = `cockpit-${uid}`;
        const data = path.join(this.dir, name, "data");
        const page = path.join(data, "cockpit", "binfmtd");
        const home = path.join(this.dir, name, "home");
        fs.mkdirSync(page, { recursive: true });
        fs.mkdirSync(home, { recursive: true });
        for (const file of fs.readdirSync(env("COCKPIT_PAGE_DIR"))) {
            fs.copyFileSync(path.join(env("COCKPIT_PAGE_DIR"), file), path.join(page, file));
            fs.chmodSync(path.join(page, file), 0o644);
        }
        for (let d = page; d !== this.dir; d = path.dirname(d))
            fs.chmodSync(d, 0o755);
        fs.chownSync(home, uid, uid);
        // The bridge gets an unusable session bus address rather than starting a session
        // dbus-daemon of its own that would outlive the test.
        const bridge = path.join(this.dir, name, "bridge");
        fs.writeFileSync(bridge, [
            "#!/bin/sh",
            `export HOME=${home} XDG_DATA_HOME=${data} XDG_RUNTIME_DIR=${home}`,
            `export DBUS_SESSION_BUS_ADDRESS=unix:path=${home}/no-session-bus`,
            `exec setpriv --reuid=${uid} --regid=${uid} --clear-groups -- /usr/bin/cockpit-bridge "$@"`,
            ""].join("\n"), { mode: 0o755 });
        const port = await freePort();
        const ws = new Child(name, ["/usr/lib/cockpit/cockpit-ws", "--no-tls", `--local-session=${bridge}`,
            "-a", "127.0.0.1", "-p", String(port)], path.join(this.dir, `${name}.log`),
                             { env: { ...process.env, XDG_DATA_HOME: data } });
        this.children.push(ws);
        await waitFor("cockpit-ws", () => new Promise(resolve => {
            const s = net.connect(port, "127.0.0.1", () => { s.end(); resolve(true) });
            s.on("error", () => resolve(false));
        }));
        return { url: `http://127.0.0.1:${port}/cockpit/@localhost/binfmtd/index.html`, ws };
    }

    logs() {
        const files = new Map(this.children.map(c => [c.logFile, c])); // a restarted daemon appends
        return Array.from(files.values()).map(c => `----- ${c.name} (${c.logFile}) -----\n${c.log()}`).join("\n");
    }

    async close() {
        for (const c of this.children.slice().reverse())
            await c.stop();
        for (const m of this.mounts.reverse())
            run(["umount", "-l", m]);
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

module.exports = { Sandbox, run, sleep, waitFor };
