// The Cockpit page (cockpit/) against the real binfmtd: served by Debian's cockpit-ws
// (--local-session) with a bridge that runs as an unprivileged user whom polkit allows,
// driven by Debian's chromium through puppeteer-core, in a private binfmt_misc instance
// and on a private system bus (run under private-binfmt). Each step checks the page and
// the kernel: a switch registers the entry and Debian's arm64 busybox runs, off removes
// it, binfmtctl's change appears, a foreign flush shows the repair, a daemon stop shows
// the state and a start recovers, "check a file" shows the verdict, and a user whom
// polkit refuses gets the switch back with binfmtd's sentence. Prints the page's ready
// and click-to-render times; keeps screenshots in $BINFMTD_SCREENSHOT_DIR.
"use strict";

const fs = require("fs");
const path = require("path");
const { Sandbox, run, sleep, waitFor } = require("./sandbox.js");

const ci = !!process.env.CI && process.env.CI !== "false";
const screenshots = process.env.BINFMTD_SCREENSHOT_DIR || "/tmp";
const foreign = process.env.BINFMTD_FOREIGN_BINARIES || "/var/cache/binfmtd-tests";
const modules = process.env.BINFMTD_NODE_MODULES || path.join(foreign, "node", "node_modules");
const busybox = path.join(foreign, "busybox-arm64");
const CHROMIUM = "/usr/bin/chromium";

// Allowed: nobody (the main session). Refused: daemon (uid 1), the refusal session.
const RULES = [`polkit.addRule(function(action, subject) {
    if (action.id != "org.binfmtd.manage") return polkit.Result.NOT_HANDLED;
    return subject.user == "nobody" ? polkit.Result.YES : polkit.Result.NO;
});`];
const ALLOWED_UID = 65534;
const REFUSED_UID = 1;

function missingPrerequisites() {
    const missing = [];
    for (const file of ["/usr/lib/cockpit/cockpit-ws", "/usr/bin/cockpit-bridge", CHROMIUM,
        "/usr/lib/polkit-1/polkitd", "/usr/bin/qemu-aarch64-static", "/usr/bin/qemu-arm-static", busybox]) {
        if (!fs.existsSync(file))
            missing.push(file);
    }
    if (!fs.existsSync(path.join(modules, "puppeteer-core")))
        missing.push(path.join(modules, "puppeteer-core"));
    return missing;
}

let passed = 0;
let failed = 0;
const figures = [];

async function step(name, fn) {
    const start = Date.now();
    try {
        await fn();
        passed++;
        console.log(`ok - ${name} (${Date.now() - start} ms)`);
    } catch (e) {
        failed++;
        console.log(`not ok - ${name}: ${e.stack || e}`);
        throw e;
    }
}

function expect(condition, message) {
    if (!condition)
        throw new Error(message);
}

const text = (page, selector) => page.$eval(selector, e => e.innerText).catch(() => "");

async function archRow(page, arch) {
    return page.$eval(`#archs tr[data-arch="${arch}"]`, row => ({
        text: row.innerText + "\n" + (row.nextElementSibling.hidden ? "" : row.nextElementSibling.innerText),
        checked: row.querySelector("input[role=switch]")?.checked,
        busy: row.querySelector("input[role=switch]")?.getAttribute("aria-busy") === "true",
    })).catch(() => null);
}

// The arch switch found by its accessible name, as a screen reader would.
const switchNamed = (page, name) => page.waitForSelector(`::-p-aria([name="${name}"][role="switch"])`, { timeout: 5000 });

async function waitForRow(page, arch, what, check, limitMs = 10000) {
    try {
        return await waitFor(what, async () => {
            const row = await archRow(page, arch);
            return row && check(row) ? row : null;
        }, limitMs);
    } catch (e) {
        const row = await archRow(page, arch);
        throw new Error(`${e.message}; the row says: ${JSON.stringify(row)}`);
    }
}

// Waits until the text of `selector` matches (or, with present false, stops matching)
// `pattern`; on a timeout the error says what the page showed.
async function waitForText(page, selector, pattern, what, present = true, limitMs = 10000) {
    try {
        await waitFor(what, async () => pattern.test(await text(page, selector)) === present, limitMs);
    } catch (e) {
        throw new Error(`${e.message}; ${selector} says: ${JSON.stringify(await text(page, selector))}`);
    }
}

function kernelEntry(sb, name) {
    const file = path.join(sb.binfmtDir, name);
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
}

// Debian's qemu-arm and qemu-aarch64 binfmt.d rules, as the kernel reads them.
const ARM_MAGIC = "\\x7f\\x45\\x4c\\x46\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x28\\x00";
const AARCH64_MAGIC = "\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00";
const ELF_MASK = "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff";

// As another program would: one write(2) to `register` or an entry's file.
function register(sb, line) {
    fs.writeFileSync(path.join(sb.binfmtDir, "register"), line);
}

function writeKernel(sb, name, text) {
    fs.writeFileSync(path.join(sb.binfmtDir, name), text);
}

function runBusybox() {
    return run([busybox, "uname", "-m"]);
}

async function openPage(browser, url) {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    page.on("console", m => {
        if (m.type() === "error" || m.type() === "warning")
            console.log(`  [page ${m.type()}] ${m.text()}`);
    });
    page.on("pageerror", e => console.log(`  [page error] ${e.message}`));
    const start = Date.now();
    await page.goto(url);
    await page.waitForSelector("body[data-ready]", { timeout: 15000 });
    return { page, readyMs: Date.now() - start };
}

async function main() {
    const missing = missingPrerequisites();
    if (missing.length) {
        console.log(`missing: ${missing.join(", ")} (run scripts/setup.sh)`);
        return ci ? 1 : 77;
    }
    const puppeteer = require(path.join(modules, "puppeteer-core"));
    fs.mkdirSync(screenshots, { recursive: true });

    const sb = new Sandbox();
    let browser = null;
    let page = null;
    try {
        await sb.bus();
        await sb.polkit(RULES);
        // Emulators for aarch64 and arm only: the other architectures have none.
        sb.emulators(["qemu-aarch64-static", "qemu-arm-static"]);
        // Other programs' entries, registered before binfmtd starts; one takes arm's name.
        register(sb, ":someone-else:E::foreign::/bin/cat:");
        register(sb, ":WSLInterop:E::wsltest::/bin/true:");
        register(sb, `:qemu-arm:M::${ARM_MAGIC}:${ELF_MASK}:/bin/true:`);
        await sb.startDaemon();
        const session = await sb.cockpit(ALLOWED_UID);
        browser = await puppeteer.launch({
            executablePath: CHROMIUM, headless: true,
            args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        const opened = await openPage(browser, session.url);
        page = opened.page;
        figures.push(`page ready (navigation to first complete render): ${opened.readyMs} ms`);

        await step("one row per architecture, each switch named as binfmtctl archs names it", async () => {
            const archs = JSON.parse(sb.ctl("archs", "--json").out);
            const emulated = archs.filter(a => !a.native).map(a => a.name);
            const names = await page.$$eval("#archs input[role=switch]", inputs => inputs.map(i => i.getAttribute("aria-label")));
            expect(JSON.stringify(names) === JSON.stringify(emulated), `switches ${names} != binfmtctl archs ${emulated}`);
            const rows = await page.$$eval("#archs tbody tr[data-arch]", rows => rows.length);
            expect(rows === archs.length, `${rows} rows for ${archs.length} architectures`);
            const sw = await switchNamed(page, "aarch64");
            expect(!(await sw.evaluate(e => e.checked)), "aarch64 is on before anything was enabled");
            expect(runBusybox().errno === "ENOEXEC" || runBusybox().code !== 0, "arm64 busybox ran before aarch64 was enabled");
        });

        await step("foreign entries are read-only and say who registered them", async () => {
            const row = await page.$eval('#others tr[data-handler="someone-else"]', r => ({
                text: r.innerText, switches: r.querySelectorAll("input").length,
            }));
            expect(row.switches === 0, "a foreign entry has a switch");
            expect(/read-only/.test(row.text) && /another program/.test(row.text), `someone-else row: ${row.text}`);
            const wsl = await text(page, '#others tr[data-handler="WSLInterop"]');
            expect(/WSL/.test(wsl.split("\n").slice(-1)[0] || wsl), `WSLInterop row: ${wsl}`);
        });

        await step("switching aarch64 on registers the entry, and the arm64 busybox runs", async () => {
            const sw = await switchNamed(page, "aarch64");
            const start = Date.now();
            await sw.click();
            const row = await waitForRow(page, "aarch64", "the registered aarch64 row",
                                         r => r.checked && !r.busy && /Emulator: /.test(r.text));
            figures.push(`click to re-render (switch on, Enable answered, row shows the registered entry): ${Date.now() - start} ms`);
            const entry = kernelEntry(sb, "qemu-aarch64");
            expect(entry && entry.startsWith("enabled\n"), `kernel entry: ${entry}`);
            const r = runBusybox();
            expect(r.code === 0 && r.out === "aarch64\n", `busybox: ${JSON.stringify(r)}`);
            expect(/linux\/arm64/.test(row.text), `no OCI platform in ${row.text}`);
            expect(/50-binfmtctl\.json/.test(row.text), `no configuration file in ${row.text}`);
            const verified = await waitForRow(page, "aarch64", "the verification", r => /Verified: runs/.test(r.text));
            expect(/qemu-aarch64 version/.test(verified.text), `no emulator version in ${verified.text}`);
        });

        await step("check a file by path: the arm64 busybox runs", async () => {
            await page.click("#check-path", { clickCount: 3 });
            await page.type("#check-path", busybox);
            await page.keyboard.press("Enter");
            await page.waitForSelector('#check-result .verdict[data-verdict="handled"]', { timeout: 5000 });
            const verdict = await text(page, "#check-result");
            expect(/Runs/.test(verdict) && /qemu-aarch64/.test(verdict), `verdict: ${verdict}`);
        });

        await step("the keyboard switches it off (Space): the entry is removed", async () => {
            await (await switchNamed(page, "aarch64")).focus();
            await page.keyboard.press("Space");
            await waitForRow(page, "aarch64", "the unregistered aarch64 row", r => !r.checked && !r.busy && /Not registered/.test(r.text));
            const focused = await page.evaluate(() => document.activeElement?.getAttribute("aria-label"));
            expect(focused === "aarch64", `the focus moved to ${focused} when the row was updated`);
            await waitFor("qemu-aarch64 to leave the kernel", () => kernelEntry(sb, "qemu-aarch64") === null);
            expect(runBusybox().code !== 0, "arm64 busybox still runs");
        });

        await step("check a file by path: now it does not run, and the fix is an Enable button", async () => {
            await page.click("#check-button");
            await page.waitForSelector('#check-result .verdict:not([data-verdict="handled"])', { timeout: 5000 });
            const verdict = await text(page, "#check-result");
            expect(/Does not run/.test(verdict) && /Fix: /.test(verdict), `verdict: ${verdict}`);
            expect(await page.$("#check-result button.btn-primary"), "no Enable button for the fix");
        });

        await step("a change made with binfmtctl meanwhile appears", async () => {
            const r = sb.ctl("enable", "arm64");
            expect(r.code === 0, `binfmtctl enable: ${r.err}`);
            const row = await waitForRow(page, "aarch64", "binfmtctl's change", r => r.checked && /Verified: runs/.test(r.text));
            // Enabled too (PropertiesChanged of an entry that comes back into the kernel).
            expect(!/disabled/.test(row.text), `the row says disabled: ${row.text}`);
            const summary = await text(page, "#summary");
            expect(/handlers enabled: 1,/.test(summary), `summary: ${summary}`);
        });

        await step("a configuration error shows with file and line", async () => {
            const broken = path.join(sb.root, "etc", "conf.d", "60-broken.json");
            fs.writeFileSync(broken, '{\n  "architectures": ["riscv64",]\n}\n');
            await waitForText(page, "#problems", /60-broken\.json:2:/, "the configuration error");
            fs.rmSync(broken);
            await waitForText(page, "#problems", /60-broken/, "the end of the configuration error", false);
        });

        await step("an architecture without an emulator says so; its switch comes back with binfmtd's sentence", async () => {
            const before = await archRow(page, "riscv64");
            expect(/No emulator installed/.test(before.text) && /apt install qemu-user-static/.test(before.text),
                   `riscv64 row: ${before.text}`);
            await (await switchNamed(page, "riscv64")).click();
            const row = await waitForRow(page, "riscv64", "the failed Enable", r => !r.busy && /not made/.test(r.text));
            expect(!row.checked, "the riscv64 switch stayed on");
            expect(/No emulator for 'riscv64' is installed/.test(row.text), `riscv64 row: ${row.text}`);
        });

        await step("another program's entry under binfmtd's name shows in the row; a switch on takes it over", async () => {
            const before = await archRow(page, "arm");
            expect(/Foreign entry/.test(before.text) && /qemu-arm was registered by another program/.test(before.text),
                   `arm row: ${before.text}`);
            expect(/Emulator: \/bin\/true/.test(before.text), `arm row does not show what runs: ${before.text}`);
            await (await switchNamed(page, "arm")).click();
            const row = await waitForRow(page, "arm", "binfmtd's own qemu-arm", r => !r.busy && r.checked && /Verified: runs/.test(r.text));
            expect(!/Foreign entry/.test(row.text), `arm row: ${row.text}`);
            const toast = await text(page, "#toasts");
            expect(/qemu-arm: replaced \(taking over the entry another program registered\)/.test(toast), `toasts: ${toast}`);
            await (await switchNamed(page, "arm")).click();
            await waitForRow(page, "arm", "arm off", r => !r.busy && !r.checked && /Not registered/.test(r.text));
        });

        await step("binfmt_misc disabled as a whole shows on the page, and goes when enabled", async () => {
            writeKernel(sb, "status", "0");
            // The property and Repaired's sentence.
            await waitForText(page, "#problems", /binfmt_misc is disabled as a whole\n[^]*disabled as a whole \(someone wrote 0/,
                              "binfmt_misc disabled");
            writeKernel(sb, "status", "1");
            // binfmtd publishes GlobalEnabled = true only with its next reconcile (a heal
            // pass that finds binfmt_misc enabled again publishes nothing): ask for one.
            expect(sb.ctl("reload").code === 0, "binfmtctl reload failed");
            await waitForText(page, "#problems", /disabled as a whole/, "binfmt_misc enabled again", false);
        });

        await step("a newer entry of another program for the same binaries shows binfmtd's as shadowed", async () => {
            register(sb, `:zz-aarch64:M::${AARCH64_MAGIC}:${ELF_MASK}:/bin/true:`);
            // binfmtd publishes a new foreign entry, and what it shadows, with its next
            // reconcile (a heal pass that repairs nothing publishes nothing): ask for one.
            expect(sb.ctl("reload").code === 0, "binfmtctl reload failed");
            const row = await waitForRow(page, "aarch64", "the shadowing", r => /Shadowed by zz-aarch64/.test(r.text));
            expect(/shadowed by 'zz-aarch64' \(interpreter \/bin\/true\)/.test(row.text), `aarch64 row: ${row.text}`);
            await waitForText(page, '#others tr[data-handler="zz-aarch64"]', /another program/, "zz-aarch64 among the others");
            writeKernel(sb, "zz-aarch64", "-1");
            expect(sb.ctl("reload").code === 0, "binfmtctl reload failed");
            await waitForRow(page, "aarch64", "the end of the shadowing", r => !/zz-aarch64/.test(r.text) && /Verified: runs/.test(r.text));
        });

        await step("toasts can be dismissed; the light screenshot", async () => {
            for (const close of await page.$$("#toasts button.btn-close"))
                await close.click();
            expect((await page.$$("#toasts .toast")).length === 0, "a toast is left after its close button");
            await page.evaluate(() => window.scrollTo(0, 0));
            await page.screenshot({ path: path.join(screenshots, "cockpit.png") });
            await page.screenshot({ path: path.join(screenshots, "cockpit-full.png"), fullPage: true });
        });

        await step("a foreign flush shows binfmtd's repair", async () => {
            fs.writeFileSync(path.join(sb.binfmtDir, "status"), "-1");
            await waitForText(page, "#repairs", /qemu-aarch64: registered \(removed by another program\)/, "the repair");
            const toast = await text(page, "#toasts");
            expect(/repaired/.test(toast), `no repair toast: ${toast}`);
            expect(runBusybox().code === 0, "arm64 busybox does not run after the repair");
        });

        await step("daemon stop shows the state, and a start recovers", async () => {
            await sb.stopDaemon();
            await page.waitForSelector("#not-running:not([hidden])", { timeout: 5000 });
            const shown = await text(page, "#not-running");
            expect(/binfmtd is not running/.test(shown) && /systemctl start binfmtd/.test(shown), `not-running: ${shown}`);
            await page.screenshot({ path: path.join(screenshots, "cockpit-not-running.png") });
            await sb.startDaemon();
            await page.waitForSelector("body[data-ready]", { timeout: 10000 });
            await waitForRow(page, "aarch64", "the row after the restart", r => r.checked && /Emulator: /.test(r.text));
        });

        await step("dark style follows the browser", async () => {
            await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
            await page.waitForFunction(() => document.documentElement.classList.contains("pf-theme-dark"), { timeout: 2000 });
            await page.screenshot({ path: path.join(screenshots, "cockpit-dark.png") });
            await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
        });

        await step("a user whom polkit refuses gets the switch back and binfmtd's sentence", async () => {
            const refused = await sb.cockpit(REFUSED_UID);
            const other = (await openPage(browser, refused.url)).page;
            await waitForRow(other, "aarch64", "aarch64 on", r => r.checked);
            await (await switchNamed(other, "aarch64")).click();
            const row = await waitForRow(other, "aarch64", "the refusal", r => !r.busy && /not made/.test(r.text));
            expect(row.checked, "the switch stayed off after the refusal");
            expect(/Not authorized to change binfmt_misc handlers/.test(row.text), `row: ${row.text}`);
            expect(kernelEntry(sb, "qemu-aarch64") !== null, "the refused Disable removed the entry");
            await other.screenshot({ path: path.join(screenshots, "cockpit-refused.png") });
            await other.close();
        });
    } catch (e) {
        if (page)
            await page.screenshot({ path: path.join(screenshots, "cockpit-failure.png"), fullPage: true }).catch(() => {});
        console.log(sb.logs());
        if (!failed)
            console.log(`not ok - setup: ${e.stack || e}`);
        failed = failed || 1;
    } finally {
        if (browser)
            await browser.close();
        await sb.close();
    }
    for (const f of figures)
        console.log(`figure: ${f}`);
    console.log(`screenshots: ${screenshots}/cockpit*.png`);
    console.log(`${passed} passed, ${failed} failed`);
    return failed ? 1 : 0;
}

main().then(code => process.exit(code), e => {
    console.log(e.stack || e);
    process.exit(1);
});
