// Turns the DaemonSet of deploy/kubernetes/binfmtd.yaml into what podman can run, as the
// DaemonSet controller and the kubelet would for one node, generated from the manifest so
// that the test runs what the manifest says, never a copy made by hand:
//   node daemonset-to-pod.mjs binfmtd.yaml pod      a Pod (from the pod template) and its
//                                                   ConfigMaps, for `podman kube play`
//   node daemonset-to-pod.mjs binfmtd.yaml run DIR  the container as a `podman run` argument
//                                                   list (JSON), with each ConfigMap's data
//                                                   written under DIR/<name>/, and the
//                                                   readiness and liveness commands
// `run` exists because Debian's podman 4.3 has no DaemonSet and, in a sandbox without
// cgroups, cannot start a pod at all ("pod ... cgroup is not set"); for the same reason
// the resource limits are not applied here.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments, stringify } from "yaml";

const [file, mode, dir] = process.argv.slice(2);
const configMaps = {};
let daemonSet = null;
for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
  const o = doc.toJS();
  if (o?.kind === "ConfigMap") configMaps[o.metadata.name] = o;
  if (o?.kind === "DaemonSet") daemonSet = o;
}
if (daemonSet === null) {
  console.error(`${file}: no DaemonSet found`);
  process.exit(1);
}
const template = daemonSet.spec.template;

if (mode === "pod") {
  const out = Object.values(configMaps).map((c) => {
    delete c.metadata.namespace;
    return c;
  });
  out.push({ apiVersion: "v1", kind: "Pod",
             metadata: { name: daemonSet.metadata.name, labels: template.metadata.labels },
             spec: template.spec });
  process.stdout.write(out.map((o) => stringify(o)).join("---\n"));
  process.exit(0);
}

if (mode !== "run" || dir === undefined) {
  console.error("usage: daemonset-to-pod.mjs FILE pod | FILE run DIR");
  process.exit(2);
}
const spec = template.spec;
if (spec.containers.length !== 1) throw new Error("one container expected");
const c = spec.containers[0];
const sc = c.securityContext ?? {};
const argv = ["--name", c.name];
if (sc.privileged) argv.push("--privileged");
if (sc.runAsUser !== undefined) argv.push("--user", `${sc.runAsUser}:${sc.runAsGroup ?? 0}`);
if (sc.readOnlyRootFilesystem) argv.push("--read-only");
if (sc.allowPrivilegeEscalation === false) argv.push("--security-opt", "no-new-privileges");
for (const cap of sc.capabilities?.drop ?? []) argv.push(`--cap-drop=${cap.toLowerCase()}`);
for (const cap of sc.capabilities?.add ?? []) argv.push(`--cap-add=${cap.toLowerCase()}`);
const volumes = Object.fromEntries(spec.volumes.map((v) => [v.name, v]));
for (const m of c.volumeMounts ?? []) {
  const v = volumes[m.name];
  let source;
  if (v.hostPath) {
    source = v.hostPath.path;
    if (v.hostPath.type === "DirectoryOrCreate") mkdirSync(source, { recursive: true });
  } else if (v.configMap) {
    source = `${dir}/${v.configMap.name}`;
    mkdirSync(source, { recursive: true });
    for (const [key, text] of Object.entries(configMaps[v.configMap.name].data))
      writeFileSync(`${source}/${key}`, text);
  } else {
    throw new Error(`volume ${m.name}: only hostPath and configMap are known here`);
  }
  argv.push("-v", `${source}:${m.mountPath}${m.readOnly ? ":ro" : ""}`);
}
argv.push(c.image, ...(c.command ?? []), ...(c.args ?? []));
process.stdout.write(JSON.stringify({
  name: c.name,
  run: argv,
  readiness: c.readinessProbe.exec.command,
  liveness: c.livenessProbe.exec.command,
}) + "\n");
