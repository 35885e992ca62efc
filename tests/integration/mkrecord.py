#!/usr/bin/env python3
"""Write a hand-made container record (and optionally its json-file log) under
$CROWBAR_ROOT, shaped as the engine writes them, for the listing tests.

  mkrecord.py --name web --status running --pid PID [--created-ago 300] ...
Prints the container ID."""
import argparse, hashlib, json, os, sys, time

p = argparse.ArgumentParser()
p.add_argument("--root", default=os.environ.get("CROWBAR_ROOT"))
p.add_argument("--id")
p.add_argument("--name", required=True)
p.add_argument("--status", default="exited")
p.add_argument("--exit-code", type=int, default=0)
p.add_argument("--created-ago", type=float, default=3600)
p.add_argument("--started-ago", type=float)
p.add_argument("--finished-ago", type=float)
p.add_argument("--pid", type=int, default=0, help="a live process standing for PID 1 and the shim")
p.add_argument("--image-ref", default="busybox")
p.add_argument("--image-id", default="sha256:" + "ab" * 32)
p.add_argument("--path", default="sh")
p.add_argument("--arg", action="append", default=[])
p.add_argument("--label", action="append", default=[])
p.add_argument("--mount", action="append", default=[], help="SRC:DST")
p.add_argument("--log", action="append", default=[],
               help="STREAM:AGO:TEXT, a log line AGO seconds old (\\n is added unless TEXT ends in ~)")
p.add_argument("--log-raw", help="a file whose content becomes the log as is")
p.add_argument("--no-log", action="store_true")
a = p.parse_args()

now = time.time_ns()
cid = a.id or hashlib.sha256((a.name + str(now)).encode()).hexdigest()
cdir = os.path.join(a.root, "containers", cid)
os.makedirs(cdir, exist_ok=True)
os.makedirs(os.path.join(a.root, "names"), exist_ok=True)


def rfc(ns):
    if not ns:
        return "0001-01-01T00:00:00Z"
    s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9))
    frac = ("%09d" % (ns % 10**9)).rstrip("0")
    return s + ("." + frac if frac else "") + "Z"


def start_time(pid):
    if not pid:
        return 0
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


created = now - int(a.created_ago * 1e9)
started = now - int(a.started_ago * 1e9) if a.started_ago is not None else (
    0 if a.status == "created" else created + 10**9)
finished = now - int(a.finished_ago * 1e9) if a.finished_ago is not None else (
    started + 10**9 if a.status in ("exited", "dead") else 0)
running = a.status in ("running", "paused", "restarting")
with open("/proc/sys/kernel/random/boot_id") as f:
    boot = f.read().strip()
log_path = os.path.join(cdir, cid + "-json.log")
# Go marshals maps with sorted keys: the engine stores them so.
labels = dict(sorted(l.split("=", 1) for l in a.label))
mounts = []
for m in a.mount:
    src, dst = m.split(":", 1)
    mounts.append({"Type": "bind", "Source": src, "Destination": dst, "Mode": "",
                   "RW": True, "Propagation": "rprivate"})
rec = {
    "Id": cid,
    "Created": rfc(created),
    "Path": a.path,
    "Args": a.arg,
    "State": {
        "Status": a.status, "Running": running, "Paused": a.status == "paused",
        "Restarting": a.status == "restarting", "OOMKilled": False, "Dead": a.status == "dead",
        "Pid": a.pid if running else 0, "ExitCode": a.exit_code, "Error": "",
        "StartedAt": rfc(started), "FinishedAt": rfc(finished),
    },
    "Image": a.image_id,
    "ResolvConfPath": os.path.join(cdir, "resolv.conf"),
    "HostnamePath": os.path.join(cdir, "hostname"),
    "HostsPath": os.path.join(cdir, "hosts"),
    "LogPath": log_path,
    "Name": "/" + a.name,
    "RestartCount": 0,
    "Driver": "overlay2",
    "Platform": "linux",
    "HostConfig": {"NetworkMode": "none", "AutoRemove": False},
    "GraphDriver": {"Name": "overlay2", "Data": {
        "LowerDir": "/l", "MergedDir": "/m", "UpperDir": os.path.join(cdir, "upper"),
        "WorkDir": os.path.join(cdir, "work")}},
    "Mounts": mounts,
    "Config": {"Hostname": cid[:12], "User": "", "Env": ["PATH=/bin"], "Cmd": [a.path] + a.arg,
               "Image": a.image_ref, "WorkingDir": "", "Entrypoint": None,
               "Labels": labels},
    "Crowbar": {
        "CreatedNs": created, "ImageRef": a.image_ref,
        "PidStart": start_time(a.pid) if running else 0, "ShimPid": a.pid if running else 0,
        "ShimStart": start_time(a.pid) if running else 0, "BootId": boot,
        "StartedNs": started, "FinishedNs": finished,
    },
}
with open(os.path.join(cdir, "container.json"), "w") as f:
    json.dump(rec, f, separators=(",", ":"))
    f.write("\n")
link = os.path.join(a.root, "names", a.name)
if os.path.lexists(link):
    os.unlink(link)
os.symlink(cid, link)
if not a.no_log:
    with open(log_path, "w") as f:
        if a.log_raw:
            with open(a.log_raw) as r:
                f.write(r.read())
        for l in a.log:
            stream, ago, text = l.split(":", 2)
            text = text[:-1] if text.endswith("~") else text + "\n"
            f.write(json.dumps({"log": text, "stream": stream,
                                "time": rfc(now - int(float(ago) * 1e9))},
                               separators=(",", ":")) + "\n")
print(cid)
