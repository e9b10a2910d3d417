/*
 * cockpit-binfmtd: binfmtd's state and switches in Cockpit, over binfmtd's D-Bus API
 * (org.binfmtd.Binfmt1 on the system bus; see org.binfmtd.Binfmt1(5)). Plain JavaScript
 * on cockpit.js, no build step.
 *
 * Everything shown comes from binfmtd, with binfmtd's own sentences: the handler objects
 * and the manager's properties through cockpit.dbus proxies (which follow
 * PropertiesChanged and the ObjectManager's InterfacesAdded/Removed), the Repaired
 * signal, and ListArchitectures, asked again when a signal says something changed. The
 * page never polls.
 *
 * Changes go through Enable and Disable as the logged-in user, or as root when the
 * session has administrative access (superuser "try"); binfmtd asks polkit for users
 * other than root, and the call allows interactive authorization (Cockpit's default), so
 * Cockpit's bridge can answer polkit's question. A refusal puts the switch back and
 * shows binfmtd's sentence on the row.
 */
"use strict";

(function () {
    const _ = cockpit.gettext;

    const BUS_NAME = "org.binfmtd.Binfmt1";
    const MANAGER_PATH = "/org/binfmtd/Binfmt1";
    const MANAGER_IFACE = "org.binfmtd.Binfmt1.Manager";
    const HANDLER_IFACE = "org.binfmtd.Binfmt1.Handler";
    const HEADER_BYTES = 256; // what the kernel reads to pick a handler
    const TOAST_MS = 8000;
    const MAX_TOASTS = 3;

    let client = null;
    let manager = null;
    let handlers = null;
    let archs = []; // ListArchitectures records, as objects
    let running = false;
    const pending = new Map(); // name -> the switch state asked for, while a call runs
    const refusals = new Map(); // name -> binfmtd's sentence for the last failed change
    const problemsSeen = []; // Repaired problems: each is sent once, so the page keeps them
    let troubled = false; // whether the state such a problem is about was seen
    const registrars = new Map(); // "name\ninterpreter" -> who registered a foreign entry

    const $ = id => document.getElementById(id);

    /* --- small DOM helpers: text only, never HTML from the bus ---------------------- */

    function el(tag, attrs, ...children) {
        const node = document.createElement(tag);
        for (const [key, value] of Object.entries(attrs || {})) {
            if (value === undefined || value === null || value === false)
                continue;
            if (key === "class")
                node.className = value;
            else if (key === "text")
                node.textContent = value;
            else
                node.setAttribute(key, value === true ? "" : value);
        }
        for (const child of children.flat(Infinity)) {
            if (child !== null && child !== undefined && child !== false)
                node.append(typeof child === "string" ? document.createTextNode(child) : child);
        }
        return node;
    }

    function replaceChildren(node, ...children) {
        node.replaceChildren(...children.flat(Infinity).filter(c => c !== null && c !== undefined && c !== false));
    }

    function alertBox(kind, title, ...body) {
        // No role="alert": alerts are drawn again on every update; what must be announced
        // goes to the toasts' live region once.
        return el("div", { class: `alert alert-${kind}` },
                  el("p", { class: "alert-title", text: title }), ...body);
    }

    function code(text) {
        return el("code", { text });
    }

    /* --- the daemon's data ---------------------------------------------------------- */

    // a{sv} from the bus: { key: { t, v } } -> { key: v }
    function unvariant(dict) {
        const out = {};
        for (const [key, value] of Object.entries(dict || {}))
            out[key] = value && typeof value === "object" && "v" in value ? value.v : value;
        return out;
    }

    function allHandlers() {
        if (!handlers)
            return [];
        return Object.keys(handlers).map(path => handlers[path]).filter(h => h && h.valid)
                .sort((a, b) => a.Name.localeCompare(b.Name));
    }

    function handlerNamed(name) {
        return allHandlers().find(h => h.Name === name) || null;
    }

    let archsRequest = null;
    let archsAgain = false;
    // ListArchitectures has no change signal of its own; it is asked again after every
    // change signal (a coalesced call at a time, never on a timer).
    function refreshArchitectures() {
        if (!running)
            return;
        if (archsRequest) {
            archsAgain = true;
            return;
        }
        archsRequest = client.call(MANAGER_PATH, MANAGER_IFACE, "ListArchitectures", [])
                .then(([records]) => {
                    archs = records.map(([name, aliases, interpreter, isStatic, native, extra]) => ({
                        name, aliases, interpreter, isStatic, native, ...unvariant(extra),
                    }));
                })
                .catch(ex => console.warn("ListArchitectures failed:", ex.message))
                .finally(() => {
                    archsRequest = null;
                    if (archsAgain) {
                        archsAgain = false;
                        refreshArchitectures();
                    } else {
                        render();
                    }
                });
    }

    /* --- rendering ------------------------------------------------------------------ */

    let renderQueued = false;
    function render() {
        if (renderQueued)
            return;
        renderQueued = true;
        window.requestAnimationFrame(() => {
            renderQueued = false;
            renderNow();
        });
    }

    function renderNow() {
        $("not-running").hidden = running;
        $("content").hidden = !running;
        if (!running) {
            $("summary").textContent = _("Not connected");
            $("page").setAttribute("aria-busy", "false");
            return;
        }
        if (!manager || !manager.valid || archs.length === 0)
            return; // the first data is on its way
        renderStatus();
        renderArchitectures();
        renderOthers();
        $("page").setAttribute("aria-busy", "false");
        document.body.dataset.ready = "true"; // for tests: the first complete render
    }

    function renderStatus() {
        const m = manager;
        const owned = allHandlers().filter(h => h.Ownership === "owned" && h.Enabled).length;
        const foreign = allHandlers().filter(h => h.Ownership === "foreign").length;
        $("summary").textContent = cockpit.format(_("binfmtd $0 — handlers enabled: $1, foreign: $2"),
                                                  m.Version, owned, foreign);
        const when = m.LastReconcileTime ? new Date(m.LastReconcileTime / 1000).toLocaleString() : _("never");
        const kernel = !m.Mounted
            ? _("not mounted")
            : (m.GlobalEnabled ? _("mounted, enabled") : _("mounted, disabled as a whole"));
        const facts = [
            [_("binfmt_misc"), `${m.BinfmtMiscPath} (${kernel})`],
            [_("Last reconcile"), cockpit.format(_("$0 at $1, $2 writes"), m.LastReconcileResult || _("none"), when,
                                                 m.LastReconcileWrites)],
            [_("Configuration"), m.ConfigFiles.length ? m.ConfigFiles.join("\n") : _("no files")],
        ];
        replaceChildren($("status"), facts.map(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));

        const alerts = [];
        if (!m.Mounted) {
            alerts.push(alertBox("danger", cockpit.format(_("binfmt_misc is not mounted at $0"), m.BinfmtMiscPath),
                                 el("p", { text: _("No foreign binary runs until it is: binfmtd mounts it when it can.") })));
        } else if (!m.GlobalEnabled) {
            alerts.push(alertBox("danger", _("binfmt_misc is disabled as a whole"),
                                 el("p", {}, _("The kernel runs no handler while its status is disabled. Enable it with "),
                                    code(`echo 1 > ${m.BinfmtMiscPath}/status`))));
        }
        for (const e of m.ConfigErrors)
            alerts.push(alertBox("warning", _("Configuration error"), el("p", { class: "sentence", text: e })));
        for (const e of m.LastReconcileErrors)
            alerts.push(alertBox("danger", _("The last reconcile failed"), el("p", { class: "sentence", text: e })));
        // Repaired's problems are sent once, so the page keeps them, until the state they
        // are about has come and gone: each is about binfmt_misc disabled or not mounted, or
        // an entry on back-off (state "conflict"). (The signal may come before the
        // properties change.)
        const nowTroubled = !m.Mounted || !m.GlobalEnabled || allHandlers().some(h => h.State === "conflict");
        if (troubled && !nowTroubled)
            problemsSeen.length = 0;
        troubled = nowTroubled;
        for (const p of problemsSeen)
            alerts.push(alertBox("warning", _("binfmtd found a problem it cannot repair"), el("p", { class: "sentence", text: p })));
        replaceChildren($("problems"), alerts);
    }

    function verificationView(h) {
        if (!h || !h.Verification)
            return null;
        const labels = {
            passed: _("Verified: runs"),
            failed: _("Verification failed"),
            unverified: _("Not verified yet"),
            "no-probe": _("No probe program"),
        };
        const kinds = { passed: "success", failed: "danger", unverified: "info", "no-probe": "info" };
        return el("div", { class: "verification" },
                  el("span", { class: `label label-${kinds[h.Verification] || "info"}`, text: labels[h.Verification] || h.Verification }),
                  h.VerificationDetail ? el("span", { class: "detail", text: " " + h.VerificationDetail }) : null);
    }

    // The problem line under a row, with binfmtd's sentence; null when all is well.
    function problemOf(name, h, arch) {
        if (refusals.has(name))
            return alertBox("danger", _("The change was not made"), el("p", { class: "sentence", text: refusals.get(name) }));
        if (h) {
            const titles = {
                shadowed: cockpit.format(_("Shadowed by $0"), h.ShadowedBy || _("another entry")),
                conflict: _("Conflict with another program"),
                error: _("Error"),
                missing: _("Not registered"),
                standby: _("Standing by"),
            };
            if (titles[h.State] && h.LastError) {
                return alertBox(h.State === "standby" ? "info" : (h.State === "missing" ? "warning" : "danger"),
                                titles[h.State], el("p", { class: "sentence", text: h.LastError }));
            }
            if (h.Ownership === "owned" && h.Verification === "failed")
                return alertBox("danger", _("Registered, but it does not run"), el("p", { class: "sentence", text: h.VerificationDetail }));
        }
        // A missing emulator is a problem once the architecture is wanted; before, the
        // row says so in "What runs".
        if (arch && arch.configured && !arch.native && !arch.interpreter && (!h || h.Ownership === "owned")) {
            return alertBox("warning", _("No emulator installed"),
                            el("p", {}, _("Install one: "), code("apt install qemu-user-static")));
        }
        return null;
    }

    function switchFor(name, checked, onChange) {
        const input = el("input", {
            type: "checkbox", role: "switch", class: "switch-input",
            "aria-label": name,
        });
        input.checked = checked;
        input.addEventListener("change", () => onChange(input));
        return el("label", { class: "switch" }, input, el("span", { class: "switch-toggle", "aria-hidden": "true" }));
    }

    // Rows are built once per name and updated in place, so that focus and a running
    // toggle survive updates.
    const rowCache = new Map();

    function rowFor(tbody, key, build) {
        let row = rowCache.get(key);
        if (!row) {
            row = build();
            rowCache.set(key, row);
            // Appended once: moving a row would take the focus from its switch.
            tbody.append(row.main, row.problem);
        }
        return row;
    }

    function setSwitch(row, name, wanted) {
        const input = row.input;
        if (!input)
            return;
        const asked = pending.get(name);
        input.checked = asked !== undefined ? asked : wanted;
        input.setAttribute("aria-busy", asked !== undefined ? "true" : "false");
    }

    function renderArchitectures() {
        const tbody = $("archs").querySelector("tbody");
        const rows = [];
        // The catalogue's order, the host's own architectures (nothing to switch) last.
        for (const arch of archs.filter(a => !a.native).concat(archs.filter(a => a.native))) {
            const h = handlerNamed(arch.handler);
            const row = rowFor(tbody, "arch:" + arch.name, () => {
                const main = el("tr", { "data-arch": arch.name });
                const cells = [0, 1, 2, 3].map(() => el("td"));
                main.append(...cells);
                const problem = el("tr", { class: "problem-row" }, el("td", { colspan: "4" }));
                let input = null;
                if (!arch.native) {
                    const sw = switchFor(arch.name, false, input => change(arch.name, input));
                    input = sw.querySelector("input");
                    cells[1].append(sw);
                } else {
                    cells[1].append(el("span", { class: "label label-info", text: _("Native") }));
                }
                return { main, problem, cells, input };
            });
            rows.push(row);
            const aliases = arch.aliases.filter(a => !a.includes("/"));
            replaceChildren(row.cells[0], el("strong", { text: arch.name }),
                            aliases.length ? el("div", { class: "muted small", text: aliases.join(", ") }) : null);
            setSwitch(row, arch.name, !!arch.configured);
            replaceChildren(row.cells[2], whatRuns(arch, h));
            replaceChildren(row.cells[3], el("span", { class: "source", text: h && h.SourceFile ? h.SourceFile : "—" }));
            const problem = problemOf(arch.name, h, arch);
            row.problem.hidden = !problem;
            replaceChildren(row.problem.firstChild, problem);
        }
    }

    function whatRuns(arch, h) {
        if (arch.native)
            return el("span", { class: "muted", text: _("Runs natively on this machine") });
        const parts = [];
        if (h && h.Ownership === "foreign") {
            parts.push(el("div", {}, el("span", { class: "label label-warning", text: _("Foreign entry") }),
                          " ", cockpit.format(_("$0 was registered by $1"), h.Name, registrarOf(h))));
        }
        const inKernel = h && ["registered", "disabled", "standby", "shadowed"].includes(h.State);
        if (inKernel) {
            if (!h.Enabled)
                parts.push(el("div", {}, el("span", { class: "label label-info", text: _("In the kernel, disabled") })));
            parts.push(verificationView(h));
            parts.push(el("div", { class: "small" }, _("Emulator: "),
                          el("span", { class: "emulator", text: h.EmulatorVersion || h.Interpreter })));
        } else if (arch.interpreter) {
            parts.push(el("div", { class: "muted" }, _("Not registered")));
            parts.push(el("div", { class: "muted small" }, _("Emulator installed: "), code(arch.interpreter),
                          arch.isStatic ? _(" (static)") : _(" (dynamic)")));
        } else {
            parts.push(el("div", { class: "muted", text: _("Not registered") }));
            parts.push(el("div", { class: "muted small" }, _("No emulator installed: "), code("apt install qemu-user-static")));
        }
        const platforms = h && h.Platforms && h.Platforms.length ? h.Platforms : arch["oci-platforms"] || [];
        if (platforms.length)
            parts.push(el("div", { class: "small" }, _("Containers: "), el("span", { class: "platforms", text: platforms.join(", ") })));
        return parts;
    }

    function renderOthers() {
        const tbody = $("others").querySelector("tbody");
        const list = allHandlers().filter(h => h.Ownership === "foreign" || !h.Architecture);
        const shown = new Set();
        for (const h of list) {
            const key = "other:" + h.Name;
            shown.add(key);
            const row = rowFor(tbody, key, () => {
                const main = el("tr", { "data-handler": h.Name });
                const cells = [0, 1, 2, 3, 4].map(() => el("td"));
                main.append(...cells);
                const problem = el("tr", { class: "problem-row" }, el("td", { colspan: "5" }));
                let input = null;
                if (h.Ownership === "owned") {
                    const sw = switchFor(h.Name, false, input => change(h.Name, input));
                    input = sw.querySelector("input");
                    cells[1].append(sw);
                }
                return { main, problem, cells, input };
            });
            replaceChildren(row.cells[0], el("strong", { text: h.Name }),
                            el("div", { class: "muted small" }, code(h.Interpreter)));
            if (h.Ownership === "owned")
                setSwitch(row, h.Name, h.State !== "inactive");
            else
                replaceChildren(row.cells[1], el("span", { class: "label label-info", text: h.Enabled ? _("Yes (read-only)") : _("No (read-only)") }));
            replaceChildren(row.cells[2], el("span", { class: "small", text: h.Type === "extension" ? "." + h.Extension : magicText(h) }),
                            h.Flags ? el("div", { class: "muted small", text: cockpit.format(_("flags $0"), h.Flags) }) : null);
            replaceChildren(row.cells[3], el("span", { text: h.State }));
            replaceChildren(row.cells[4], h.Ownership === "foreign"
                ? el("span", { class: "registrar", text: registrarOf(h) })
                : el("span", { class: "source", text: cockpit.format(_("binfmtd, from $0"), h.SourceFile || "—") }));
            const problem = problemOf(h.Name, h, null);
            row.problem.hidden = !problem;
            replaceChildren(row.problem.firstChild, problem);
        }
        for (const key of Array.from(rowCache.keys())) {
            if (key.startsWith("other:") && !shown.has(key)) {
                rowCache.get(key).main.remove();
                rowCache.get(key).problem.remove();
                rowCache.delete(key);
            }
        }
        $("others").hidden = list.length === 0;
        $("others-empty").hidden = list.length !== 0;
    }

    function magicText(h) {
        const bytes = cockpit.base64_decode(h.Magic || "");
        let hex = "";
        for (let i = 0; i < Math.min(bytes.length, 8); i++)
            hex += bytes[i].toString(16).padStart(2, "0");
        return cockpit.format(_("magic $0$1 at offset $2"), hex, bytes.length > 8 ? "…" : "", h.Offset);
    }

    /* --- who registered a foreign entry --------------------------------------------- */

    // binfmtd knows only that another program did. Where the entry's name or the files of
    // the usual tools say more, the page says who (read with the user's rights).
    const REGISTRAR_SCRIPT = [
        'n=$1; i=$2',
        // Only a record with the same name and interpreter counts.
        '[ -f "/var/lib/binfmts/$n" ] && grep -qxF -- "$i" "/var/lib/binfmts/$n" && echo "binfmt-support /var/lib/binfmts/$n"',
        'for d in /etc/binfmt.d /run/binfmt.d /usr/local/lib/binfmt.d /usr/lib/binfmt.d /lib/binfmt.d; do',
        '  for f in "$d"/*.conf; do',
        '    [ -f "$f" ] && grep -F -- ":$n:" "$f" | grep -qF -- ":$i" && { echo "binfmt.d $f"; exit 0; }',
        '  done',
        'done',
        '[ -e "$i" ] || echo "no-interpreter"',
        'exit 0',
    ].join("\n");

    function registrarOf(h) {
        if (/^WSLInterop/.test(h.Name))
            return _("WSL (its init, for Windows programs)");
        const key = h.Name + "\n" + h.Interpreter;
        if (registrars.has(key))
            return registrars.get(key);
        registrars.set(key, _("another program"));
        cockpit.script(REGISTRAR_SCRIPT, [h.Name, h.Interpreter], { err: "ignore" })
                .then(out => {
                    const facts = out.split("\n").filter(Boolean);
                    const binfmtD = facts.find(f => f.startsWith("binfmt.d "));
                    let who = _("another program");
                    if (facts.some(f => f.startsWith("binfmt-support ")))
                        who = _("binfmt-support (update-binfmts)");
                    else if (binfmtD)
                        who = cockpit.format(_("systemd-binfmt, from $0"), binfmtD.slice(9));
                    else if (facts.includes("no-interpreter") && h.Name.startsWith("qemu-") && h.Flags.includes("F"))
                        who = _("a container image (tonistiigi/binfmt, multiarch/qemu-user-static)");
                    if (who !== registrars.get(key)) {
                        registrars.set(key, who);
                        render();
                    }
                })
                .catch(() => {});
        return registrars.get(key);
    }

    /* --- changes -------------------------------------------------------------------- */

    function change(name, input) {
        const wanted = input.checked;
        pending.set(name, wanted);
        refusals.delete(name);
        render();
        const method = wanted ? "Enable" : "Disable";
        client.call(MANAGER_PATH, MANAGER_IFACE, method, [[name], {}], { type: "asa{sv}" })
                .then(([changes]) => {
                    if (changes.length)
                        toast("info", changes.join("\n"));
                })
                .catch(ex => {
                    // Put the switch back and say why, in binfmtd's words, on the row and
                    // once in the live region.
                    refusals.set(name, ex.message || cockpit.message(ex));
                    toast("danger", cockpit.format(_("$0: $1"), name, refusals.get(name)));
                })
                .finally(() => {
                    pending.delete(name);
                    refreshArchitectures();
                    render();
                });
    }

    function toast(kind, text) {
        const box = el("div", { class: `alert alert-${kind} toast` }, el("p", { class: "sentence", text }));
        const close = el("button", { type: "button", class: "btn-close", "aria-label": _("Dismiss"), text: "×" });
        close.addEventListener("click", () => box.remove());
        box.prepend(close);
        $("toasts").append(box);
        while ($("toasts").children.length > MAX_TOASTS)
            $("toasts").firstChild.remove();
        window.setTimeout(() => box.remove(), TOAST_MS);
    }

    function onRepaired(changes, problems) {
        if (changes.length) {
            toast("success", cockpit.format(_("binfmtd repaired the kernel table: $0"), changes.join("; ")));
            const list = $("repairs");
            const when = new Date().toLocaleTimeString();
            for (const c of changes)
                list.prepend(el("li", {}, el("span", { class: "muted", text: when + " " }), el("span", { class: "sentence", text: c })));
            while (list.children.length > 10)
                list.lastChild.remove();
            $("repairs-card").hidden = false;
        }
        for (const p of problems) {
            if (!problemsSeen.includes(p))
                problemsSeen.push(p);
        }
        refreshArchitectures();
        render();
    }

    /* --- check a file --------------------------------------------------------------- */

    // What `binfmtctl check` learns in the caller's own root and namespaces, read here
    // with the user's rights by a shell the bridge starts: the first bytes, the size,
    // the executable bit, the user namespace, the binfmt_misc at /proc/sys/fs/binfmt_misc
    // (its device and number of entries) and whether this root is not PID 1's.
    const FILE_FACTS_SCRIPT = [
        'f=$1',
        'header=$(od -An -v -tx1 -N ' + HEADER_BYTES + ' -- "$f") || exit 1',
        'echo "header=$(printf %s "$header" | tr -d " \\n")"',
        'if [ -f "$f" ]; then echo "size=$(stat -L -c %s -- "$f")"; else echo size=0; fi',
        'if [ -x "$f" ]; then echo executable=1; else echo executable=0; fi',
        'echo "userns=$(stat -L -c %i /proc/self/ns/user 2>/dev/null || echo 0)"',
        'dev=$(awk \'$5 == "/proc/sys/fs/binfmt_misc" { d = ""; for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "binfmt_misc") d = $3; break } } END { print d }\' /proc/self/mountinfo)',
        'echo "binfmt_dev=$dev"',
        'if [ -n "$dev" ]; then echo "binfmt_entries=$(ls /proc/sys/fs/binfmt_misc | grep -cv -e "^register$" -e "^status$")"; fi',
        'me=$(stat -L -c %d:%i /)',
        'other=0; pid=$$',
        'while [ "$pid" -gt 1 ] 2>/dev/null; do',
        '  pid=$(sed "s/.*) //" "/proc/$pid/stat" 2>/dev/null | cut -d " " -f 2)',
        '  [ -n "$pid" ] || break',
        '  r=$(stat -L -c %d:%i "/proc/$pid/root/" 2>/dev/null) && [ "$r" != "$me" ] && other=1',
        'done',
        'echo "other_root=$other"',
    ].join("\n");

    function makedev(majorMinor) {
        const [major, minor] = majorMinor.split(":").map(Number);
        // glibc's gnu_dev_makedev, in numbers JavaScript holds exactly (major < 2^21).
        return (minor & 0xff) + (major & 0xfff) * 0x100 + (minor & ~0xff) * 0x1000 +
            Math.floor(major / 0x1000) * 0x100000000000;
    }

    function hexToBase64(hex) {
        let binary = "";
        for (let i = 0; i + 1 < hex.length; i += 2)
            binary += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
        return window.btoa(binary);
    }

    function checkFile(file) {
        const out = $("check-result");
        replaceChildren(out, el("p", { class: "muted", text: _("Checking…") }));
        const facts = {};
        return cockpit.script(FILE_FACTS_SCRIPT, [file], { err: "message" })
                .then(text => {
                    for (const line of text.split("\n")) {
                        const eq = line.indexOf("=");
                        if (eq > 0)
                            facts[line.slice(0, eq)] = line.slice(eq + 1);
                    }
                    const options = {
                        size: cockpit.variant("t", Number(facts.size || 0)),
                        arguments: cockpit.variant("as", []),
                        "other-root": cockpit.variant("b", facts.other_root === "1"),
                        "user-namespace": cockpit.variant("t", Number(facts.userns || 0)),
                        "binfmt-misc-device": cockpit.variant("t", facts.binfmt_dev ? makedev(facts.binfmt_dev) : 0),
                        "binfmt-misc-entries": cockpit.variant("u", Number(facts.binfmt_entries || 0)),
                    };
                    return callCheck(file, hexToBase64(facts.header || ""), options);
                }, ex => {
                    throw new Error(cockpit.format(_("Cannot read $0: $1"), file, (ex.message || cockpit.message(ex)).trim()));
                })
                .then(result => showVerdict(file, result, facts.executable === "1"))
                .catch(ex => replaceChildren(out, alertBox("danger", _("The check failed"),
                                                           el("p", { class: "sentence", text: ex.message || cockpit.message(ex) }))));
    }

    function callCheck(file, header, options) {
        const call = opts => client.call(MANAGER_PATH, MANAGER_IFACE, "Check", [file, header, opts], { type: "saya{sv}" })
                .then(([result]) => unvariant(result));
        return call(options).then(r => {
            // An entry without F opens its interpreter in the caller's root when the program
            // starts: only the caller can see whether it is there, so it asks again with
            // what it found, as binfmtctl does.
            if (!r.command || !r.command.length || !r.interpreter || (r.flags || "").includes("F"))
                return r;
            return cockpit.spawn(["test", "-x", r.interpreter], { err: "ignore" })
                    .then(() => r, () => call({ ...options, "hidden-interpreter": cockpit.variant("s", r.interpreter) }));
        });
    }

    function showVerdict(file, r, executable) {
        const runs = r.verdict === "native" || r.verdict === "handled";
        const notes = (r.notes || []).slice();
        if (!executable)
            notes.push(cockpit.format(_("$0 is not executable: chmod +x $0"), file));
        let title;
        if (runs)
            title = _("Runs");
        else if (r.verdict === "unknown")
            title = _("Unknown");
        else
            title = r.error ? cockpit.format(_("Does not run (\"$0\")"), r.error) : _("Does not run");
        const parts = [
            el("p", { class: "check-format", text: `${file}: ${r.format}` }),
            el("p", { class: "sentence check-reason", text: r.reason }),
        ];
        if (r.command && r.command.length)
            parts.push(el("p", {}, _("Command: "), code(r.command.join(" "))));
        for (const n of notes)
            parts.push(el("p", { class: "small" }, _("Note: "), el("span", { class: "sentence", text: n })));
        if (r.fix) {
            parts.push(el("p", { class: "check-fix" }, _("Fix: "), code(r.fix)));
            const enable = /^binfmtctl enable (\S+)$/.exec(r.fix);
            if (enable) {
                const button = el("button", { type: "button", class: "btn btn-primary", text: cockpit.format(_("Enable $0"), enable[1]) });
                button.addEventListener("click", () => {
                    button.disabled = true;
                    client.call(MANAGER_PATH, MANAGER_IFACE, "Enable", [[enable[1]], {}], { type: "asa{sv}" })
                            .then(() => checkFile(file))
                            .catch(ex => {
                                button.disabled = false;
                                parts.push(alertBox("danger", _("The change was not made"), el("p", { class: "sentence", text: ex.message })));
                                replaceChildren($("check-result"), box(parts));
                            });
                });
                parts.push(button);
            }
        }
        const box = p => el("div", { class: `alert alert-${runs ? "success" : (r.verdict === "unknown" ? "info" : "danger")} verdict`,
                                     "data-verdict": r.verdict },
                            el("p", { class: "alert-title", text: title }), p);
        replaceChildren($("check-result"), box(parts));
    }

    /* --- the connection ------------------------------------------------------------- */

    function setRunning(now) {
        if (running === now)
            return;
        running = now;
        if (running)
            refreshArchitectures();
        else
            delete document.body.dataset.ready;
        render();
    }

    let generation = 0;
    let ownerLost = false;

    function connect() {
        const mine = ++generation;
        const current = () => mine === generation;
        // superuser "try": as root when the session has administrative access, else as
        // the user, whom binfmtd authorizes through polkit.
        client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });
        manager = client.proxy(MANAGER_IFACE, MANAGER_PATH);
        handlers = client.proxies(HANDLER_IFACE, MANAGER_PATH);

        client.addEventListener("owner", (event, owner) => {
            if (!current())
                return;
            $("not-running-text").textContent = cockpit.format(_("Nobody owns $0 on the system bus."), BUS_NAME);
            if (!owner) {
                ownerLost = true;
                setRunning(false);
            } else if (ownerLost) {
                // A new binfmtd announced its objects before it owned the name, so this
                // client's watch missed them: start again with a fresh one, which reads
                // them all (GetManagedObjects).
                ownerLost = false;
                const old = client;
                connect();
                old.close();
            } else {
                setRunning(true);
            }
        });
        client.addEventListener("close", (event, options) => {
            if (!current())
                return;
            running = false;
            $("not-running-title").textContent = _("Disconnected");
            $("not-running-text").textContent = cockpit.message(options);
            render();
        });
        manager.addEventListener("changed", () => {
            if (!current())
                return;
            if (manager.valid && !running && !ownerLost)
                setRunning(true);
            refreshArchitectures();
            render();
        });
        manager.addEventListener("Repaired", (event, changes, problems) => current() && onRepaired(changes, problems));
        for (const what of ["added", "removed"]) {
            handlers.addEventListener(what, () => {
                if (!current())
                    return;
                refreshArchitectures();
                render();
            });
        }
        handlers.addEventListener("changed", () => current() && render());
        manager.wait(() => {
            if (!current())
                return;
            $("not-running-text").textContent = cockpit.format(_("Nobody owns $0 on the system bus."), BUS_NAME);
            setRunning(manager.valid);
            render();
        });
    }

    function applyStyle(chosen) {
        // Cockpit's shell keeps the chosen style ("auto", "light", "dark") in localStorage
        // under "shell:style", and tells its frames with a "cockpit-style" event; "auto"
        // follows the browser.
        let style = chosen || "auto";
        try {
            style = chosen || window.localStorage.getItem("shell:style") || "auto";
        } catch (e) {
            // storage blocked: follow the browser
        }
        const dark = style === "dark" || (style === "auto" && window.matchMedia &&
                                          window.matchMedia("(prefers-color-scheme: dark)").matches);
        document.documentElement.classList.toggle("pf-theme-dark", dark);
    }

    function init() {
        cockpit.translate();
        applyStyle();
        window.addEventListener("storage", event => {
            if (event.key === "shell:style")
                applyStyle();
        });
        window.addEventListener("cockpit-style", event => applyStyle(event.detail && event.detail.style));
        if (window.matchMedia)
            window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyStyle());
        $("check-form").addEventListener("submit", event => {
            event.preventDefault();
            const file = $("check-path").value.trim();
            if (file)
                checkFile(file);
        });
        connect();
    }

    document.addEventListener("DOMContentLoaded", init);
}());
