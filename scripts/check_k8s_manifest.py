#!/usr/bin/env python3
"""Checks deploy/k8s/indexed-job.yaml as far as a machine without a cluster can: parses it
and asserts the fields deploy/README.md relies on. It does NOT run a cluster, pull an image
or ask an API server to validate the objects: a field Kubernetes rejects, an image that
does not start or an Unbound that cannot resolve would all pass here.

    scripts/check_k8s_manifest.py deploy/k8s/indexed-job.yaml
"""
import shlex
import sys

import yaml

path = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
problems = []


def check(ok, what):
    if not ok:
        problems.append(what)


def one(kind):
    found = [d for d in docs if d.get("kind") == kind]
    check(len(found) == 1, f"expected one {kind}, found {len(found)}")
    return found[0] if found else {}


job, cm, pvc = one("Job"), one("ConfigMap"), one("PersistentVolumeClaim")
spec = job.get("spec", {})
pod = spec.get("template", {}).get("spec", {})
check(job.get("apiVersion") == "batch/v1", "the Job is not batch/v1")
check(spec.get("completionMode") == "Indexed", "completionMode is not Indexed")
completions = spec.get("completions")
check(isinstance(completions, int) and completions >= 1, f"completions {completions!r}")
check(isinstance(spec.get("parallelism"), int), "no parallelism")
check("backoffLimitPerIndex" in spec or "backoffLimit" in spec,
      "neither backoffLimitPerIndex nor backoffLimit: a failed index is never retried")
check(pod.get("restartPolicy") == "Never",
      f"restartPolicy {pod.get('restartPolicy')!r}: backoffLimitPerIndex needs Never")

mains = {c["name"]: c for c in pod.get("containers", [])}
scanner = mains.get("ptraudit", {})
check(bool(scanner), "no container named ptraudit")
args = [str(a) for a in scanner.get("command", []) + scanner.get("args", [])]
check(args[:1] == ["scan"] or "scan" in args, "ptraudit does not run scan")
joined = " ".join(args)
check("--shard auto" in joined or "--shard=auto" in args, "no --shard auto")


def value(flag):
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


env = {e["name"]: e.get("value") for e in scanner.get("env", [])}
check(env.get("PTRAUDIT_SHARDS") == str(completions),
      f"PTRAUDIT_SHARDS {env.get('PTRAUDIT_SHARDS')!r} is not completions ({completions})")
check(value("--resolver") == "127.0.0.1:53", f"--resolver {value('--resolver')!r}, not the pod's Unbound")

mounts = {m["mountPath"]: m["name"] for m in scanner.get("volumeMounts", [])}
volumes = {v["name"]: v for v in pod.get("volumes", [])}


def on_volume(p, what):
    check(p is not None, f"no {what}")
    if p is None:
        return None
    check("{shard}" in p, f"{what} {p} has no {{shard}}: every pod would write the same file")
    owner = [m for m in mounts if p.startswith(m.rstrip("/") + "/")]
    check(bool(owner), f"{what} {p} is on no mounted volume: it would die with the pod")
    if owner:
        vol = volumes.get(mounts[owner[0]], {})
        claim = vol.get("persistentVolumeClaim", {}).get("claimName")
        check(claim == pvc.get("metadata", {}).get("name"),
              f"{what} {p} is on volume {mounts[owner[0]]}, not the PersistentVolumeClaim")
    return p


out = on_volume(value("-o") or value("--output"), "-o")
ck = on_volume(value("--checkpoint"), "--checkpoint")
check("ReadWriteMany" in pvc.get("spec", {}).get("accessModes", []),
      "the results claim is not ReadWriteMany: pods on other nodes cannot mount it")
targets = value("-i") or value("--input")
if targets:
    check(any(targets.startswith(m.rstrip("/") + "/") for m in mounts), f"-i {targets} is not mounted")

# The resolver: an Unbound in the pod listening on 127.0.0.1:53, started before ptraudit.
sidecars = {c["name"]: c for c in pod.get("initContainers", [])}
unbound = sidecars.get("unbound") or mains.get("unbound") or {}
check(bool(unbound), "no unbound container")
if "unbound" in sidecars:
    check(unbound.get("restartPolicy") == "Always",
          "unbound is an init container without restartPolicy Always: it would block the pod")
check(any("unbound" in str(a) for a in unbound.get("command", []) + unbound.get("args", [])),
      "the unbound container does not run unbound")
conf_mount = [m for m in unbound.get("volumeMounts", []) if m["mountPath"].endswith("unbound.conf")]
check(bool(conf_mount), "unbound.conf is not mounted in the unbound container")
conf = cm.get("data", {}).get("unbound.conf", "")
settings = {}
for line in conf.splitlines():
    if ":" in line and not line.strip().startswith("#"):
        k, v = line.split(":", 1)
        settings.setdefault(k.strip(), []).append(v.strip().strip('"'))
check(settings.get("interface") == ["127.0.0.1"], f"unbound interface {settings.get('interface')}")
check(settings.get("port", ["53"]) == ["53"], f"unbound port {settings.get('port')}")
check(settings.get("do-daemonize") == ["no"], "unbound would daemonize and the container exit")
check(bool(cm.get("data", {}).get("targets.txt", "").strip()), "targets.txt is empty")

if problems:
    sys.exit(f"check_k8s_manifest: {path}: " + "; ".join(problems))
print(f"check_k8s_manifest: {path} parsed: Indexed Job of {completions} completions = PTRAUDIT_SHARDS, "
      f"`ptraudit {shlex.join(args[:3])} …`, -o {out} and --checkpoint {ck} on the "
      f"ReadWriteMany claim, restartPolicy Never, an Unbound sidecar on 127.0.0.1:53. "
      f"Only parsed: no cluster, API server or image was involved.")
