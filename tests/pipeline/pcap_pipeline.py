#!/usr/bin/python3
"""pcap-in/pcap-out pipeline tests of lbdp.

Each case builds an input capture with scapy, runs the real dataplane binary on it
through DPDK's pcap PMD (one TX pcap per worker), then checks every packet that came
out and the statistics lbdp prints at exit.

    pcap_pipeline.py PATH/TO/lbdp PATH/TO/lbgen PATH/TO/lbbench

Needs root (EAL). Without root it exits 77 (meson's "skipped"), unless CI=true is set,
in which case not being able to run is a failure. Prints one line per case and, last,
"N passed, M failed"; exits non-zero on any failure.

Every input packet carries a unique IPv4 identification, which no forwarding mode
changes, so each output packet is traced back to the input packet it came from and
compared field by field and then byte for byte with the expected rewrite.
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

try:
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_Router_Alert
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    SCAPY_ERROR = None
except ImportError as e:  # reported by main(): skip, or fail under CI=true
    SCAPY_ERROR = e

SKIP = 77

VIP = "198.18.0.100"
VIP_PORT = 80
PORT_ADDR = "198.18.1.1"
LOCAL_ADDR = "198.18.1.2"  # fullnat source address
BACKENDS = ["198.18.1.11", "198.18.1.12", "198.18.1.13"]
BACKEND_MACS = {"198.18.1.11": "02:be:00:00:00:11", "198.18.1.12": "02:be:00:00:00:12",
                "198.18.1.13": "02:be:00:00:00:13"}
LB_MAC_IN = "02:00:00:00:aa:01"  # dst MAC of input frames (lbdp does not check it)
IDLE_EXIT_MS = 400
BURST = 128  # dataplane.burst's default (dataplane/config.hpp)
RECLAIM_BATCH = 16  # flows a full table evicts at once (FlowTable::kReclaimBatch)
LBGEN = None  # the workload generator (tests/bench/lbgen), from the command line
LBBENCH = None  # lbdp with a generator lcore (tests/bench/lbbench), from the command line
RUN_TIMEOUT_S = 60
MAX_ERRORS_SHOWN = 15


# --------------------------------------------------------------------------- environment

def is_ci():
    return os.environ.get("CI", "").strip().lower() == "true"


def cannot_run(message):
    """Skip (77), or fail under CI=true."""
    if is_ci():
        print(f"FAIL: {message} (CI=true: the pipeline tests must run)")
        print("0 passed, 1 failed")
        sys.exit(1)
    print(f"SKIP: {message}")
    sys.exit(SKIP)


def eal_memory_args():
    """--in-memory with hugepages when enough are free, else plain memory."""
    free = size_kb = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("HugePages_Free:"):
                    free = int(line.split()[1])
                elif line.startswith("Hugepagesize:"):
                    size_kb = int(line.split()[1])
    except OSError:
        pass
    if free * size_kb >= 128 * 1024:
        return ["--in-memory"]
    # --in-memory is not allowed with --no-huge; --no-shconf keeps the run file-less.
    return ["--no-huge", "-m", "512", "--no-shconf"]


def lcores_arg(workers):
    """Main lcore on the first usable CPU, workers on the others (shared if too few)."""
    cpus = sorted(os.sched_getaffinity(0))
    rest = cpus[1:] or cpus[:1]
    parts = [f"0@{cpus[0]}"] + [f"{w + 1}@{rest[w % len(rest)]}" for w in range(workers)]
    return ",".join(parts)


# --------------------------------------------------------------------------- pcap files

def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, i, len(frame), len(frame)))
            f.write(frame)


def read_pcap(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a pcap file (magic {magic:#x})")
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frames.append(data[off:off + caplen])
        off += caplen
    return frames


# --------------------------------------------------------------------------- lbdp runs

def config_text(mode, scheduler, backend_port, local=False, backends=BACKENDS, mbufs=8191, more_vip_ports=()):
    """One VIP (VIP:VIP_PORT), plus one alike on each of more_vip_ports of the same address."""
    lines = [
        "[dataplane]", "flows_per_worker = 4096", f"mbufs = {mbufs}", "",
        "[[port]]", 'name = "p0"', 'device = "net_pcap0"', 'role = "both"', f'address = "{PORT_ADDR}/24"', "",
    ]
    for b in BACKENDS:
        lines += ["[[neighbour]]", f'address = "{b}"', f'mac = "{BACKEND_MACS[b]}"', ""]
    for port in (VIP_PORT,) + tuple(more_vip_ports):
        lines += ["[[vip]]", f'address = "{VIP}"', f"port = {port}", f'mode = "{mode}"', f'scheduler = "{scheduler}"']
        if local:
            lines.append(f'local_addresses = ["{LOCAL_ADDR}"]')
        lines.append("")
        for b in backends:
            lines += ["[[vip.backend]]", f'address = "{b}"', f"port = {backend_port}", ""]
    return "\n".join(lines)


class RunError(Exception):
    pass


class Stats:
    """The exit statistics (formats in dataplane/stats.hpp)."""

    def __init__(self, text):
        self.events, self.drops, self.backends, self.lcores, self.ports = {}, {}, {}, {}, {}
        self.drops_total = None
        for line in text.splitlines():
            words = line.split()
            if len(words) == 3 and words[0] == "event":
                self.events[words[1]] = int(words[2])
            elif len(words) == 3 and words[:2] == ["drops", "total"]:
                self.drops_total = int(words[2])
            elif len(words) == 3 and words[0] == "drop":
                self.drops[words[1]] = int(words[2])
            elif words and words[0] == "backend" and len(words) >= 4:
                self.backends[words[1]] = kv(words[4:])
            elif words and words[0] == "lcore" and len(words) >= 2:
                self.lcores[int(words[1])] = kv(words[2:])
            elif words and words[0] == "port" and len(words) >= 2:
                self.ports[words[1]] = kv(words[2:])
        if self.drops_total is None or "rx" not in self.events:
            raise RunError("no statistics in lbdp's output")

    def event(self, name):
        return self.events.get(name, 0)

    def drop_summary(self):
        return ", ".join(f"{k} {v}" for k, v in sorted(self.drops.items())) or "none"


def kv(words):
    out = {}
    for w in words:
        if "=" in w:
            k, v = w.split("=", 1)
            out[k] = int(v)
    return out


class Run:
    def __init__(self, stats, outputs, stdout):
        self.stats = stats
        self.outputs = outputs          # [worker] -> list of frames (TX queue w -> file w)
        self.stdout = stdout

    def all_outputs(self):
        return [(w, f) for w, frames in enumerate(self.outputs) for f in frames]


class Lbdp:
    def __init__(self, binary, tmp):
        self.binary, self.tmp, self.count = binary, tmp, 0

    def run(self, name, conf, frames, workers=1, in_path=None, replay_s=None):
        """frames, or an existing capture at in_path. replay_s=(warmup, duration): replay
        the capture endlessly (infinite_rx, output discarded) instead of once."""
        self.count += 1
        base = os.path.join(self.tmp, f"{self.count:02d}-{name}")
        conf_path = base + ".toml"
        out_paths = [] if replay_s else [f"{base}-out{w}.pcap" for w in range(workers)]
        with open(conf_path, "w") as f:
            f.write(conf)
        if in_path is None:
            in_path = base + "-in.pcap"
            write_pcap(in_path, frames)
        vdev = f"net_pcap0,rx_pcap={in_path}" + "".join(f",tx_pcap={p}" for p in out_paths)
        ending = ["--idle-exit", str(IDLE_EXIT_MS)]
        if replay_s:
            vdev += ",infinite_rx=1"
            ending = ["--warmup", str(replay_s[0]), "--duration", str(replay_s[1])]
        prefix = f"lbpp{os.getpid()}x{self.count}"  # own EAL runtime dir: no clash with other DPDK processes
        cmd = [self.binary, "--lcores", lcores_arg(workers), "--no-pci", "--no-telemetry",
               "--log-level=lib.eal:error", f"--file-prefix={prefix}"]
        cmd += eal_memory_args() + ["--vdev", vdev, "--", "-c", conf_path, "--socket", ""] + ending
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            raise RunError(f"lbdp did not exit within {RUN_TIMEOUT_S} s: {' '.join(cmd)}") from e
        finally:
            try:
                os.rmdir(os.path.join("/var/run/dpdk", prefix))  # EAL leaves it behind, empty
            except OSError:
                pass
        with open(base + ".log", "w") as f:
            f.write(" ".join(cmd) + "\n--- stdout\n" + p.stdout + "--- stderr\n" + p.stderr)
        if p.returncode != 0:
            tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-12:])
            raise RunError(f"lbdp exited with status {p.returncode}:\n{tail}")
        return Run(Stats(p.stdout), [read_pcap(path) for path in out_paths], p.stdout)


# --------------------------------------------------------------------------- packets

class Capture:
    """Input frames and, by IPv4 identification, what each one is."""

    def __init__(self):
        self.frames, self.meta, self.next_id = [], {}, 0x100

    def add(self, build, **meta):
        ipid = self.next_id
        self.next_id += 1
        frame = build(ipid)
        meta["frame"] = frame
        meta["id"] = ipid
        self.frames.append(frame)
        self.meta[ipid] = meta
        return meta


def tcp_frame(smac, sip, sport, dip, dport, flags, ipid, ttl=64, seq=0, ack=0, payload=b"", options=None):
    p = (Ether(src=smac, dst=LB_MAC_IN) / IP(src=sip, dst=dip, ttl=ttl, id=ipid, flags="DF") /
         TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=29200, options=options or []))
    if payload:
        p = p / Raw(payload)
    return bytes(p)


def payload(n, seed):
    return bytes((seed * 31 + i * 7) & 0xFF for i in range(n))


class Flow:
    def __init__(self, index, client_addr, client_port, client_mac):
        self.index, self.addr, self.port, self.mac = index, client_addr, client_port, client_mac
        self.fwd_ids = []                # client -> VIP packets, in input order
        self.reply_ids = {}              # backend addr -> ids of its replies
        self.syn_id = None


def make_flows(n, first=0):
    flows = []
    for k in range(first, first + n):
        addr = f"198.18.0.{10 + k // 2}"   # two flows per client address
        port = 20000 + 97 * k
        mac = "02:c1:%02x:%02x:%02x:01" % ((k >> 8) & 0xFF, k & 0xFF, (k * 7) & 0xFF)
        flows.append(Flow(k, addr, port, mac))
    return flows


def add_client(cap, flow, flags, phase, ttl=64, data=b"", options=None):
    seq = 1000 * (flow.index + 1) + (0 if "S" in flags else 1) + (len(data) if phase == "fin" else 0)
    m = cap.add(lambda ipid: tcp_frame(flow.mac, flow.addr, flow.port, VIP, VIP_PORT, flags, ipid, ttl=ttl,
                                       seq=seq, ack=0 if flags == "S" else 5000, payload=data, options=options),
                kind="fwd", flow=flow, phase=phase)
    flow.fwd_ids.append(m["id"])
    if phase == "syn":
        flow.syn_id = m["id"]
    return m


def add_reply(cap, flow, backend, backend_port, flags, phase, data=b""):
    bmac = BACKEND_MACS[backend]
    m = cap.add(lambda ipid: tcp_frame(bmac, backend, backend_port, flow.addr, flow.port, flags, ipid, ttl=61,
                                       seq=5000, ack=1000 * (flow.index + 1) + 1, payload=data),
                kind="reply", flow=flow, backend=backend, phase=phase)
    flow.reply_ids.setdefault(backend, []).append(m["id"])
    return m


def build_connections(cap, flows, backend_port, replies=True, syn=True, fin=True):
    """Interleaved connections, phase by phase: SYN of every flow, then a SYN-ACK from every
    backend for every flow, ACKs, data, data replies from every backend, FINs."""
    mss = [("MSS", 1460), ("NOP", None), ("WScale", 7)]
    if syn:
        for f in flows:
            add_client(cap, f, "S", "syn", options=mss)
    if replies:
        for f in flows:
            for b in BACKENDS:
                add_reply(cap, f, b, backend_port, "SA", "synack")
    for f in flows:
        add_client(cap, f, "A", "ack")
    for f in flows:
        add_client(cap, f, "PA", "data", data=payload(1 + (f.index * 37) % 300, f.index))
    if replies:
        for f in flows:
            for i, b in enumerate(BACKENDS):
                add_reply(cap, f, b, backend_port, "PA", "datareply", data=payload(2 + (f.index * 13 + i) % 200, i))
    if fin:
        for f in flows:
            add_client(cap, f, "FA", "fin")


# --------------------------------------------------------------------------- checks

class Check:
    def __init__(self):
        self.errors = []

    def fail(self, msg):
        self.errors.append(msg)

    def expect(self, cond, msg):
        if not cond:
            self.fail(msg)
        return cond

    def equal(self, what, got, want):
        return self.expect(got == want, f"{what}: got {got}, expected {want}")


def checksum_problems(frame):
    """Recompute the IPv4 and TCP/ICMP checksums with scapy (delete and rebuild)."""
    e = Ether(frame)
    if IP not in e:
        return ["not an IPv4 frame"]
    rebuilt = Ether(frame)
    del rebuilt[IP].chksum
    l4 = TCP if TCP in e else ICMP if ICMP in e else None
    if l4 is not None:
        del rebuilt[l4].chksum
    rebuilt = Ether(bytes(rebuilt))
    problems = []
    if rebuilt[IP].chksum != e[IP].chksum:
        problems.append(f"IPv4 header checksum {e[IP].chksum:#06x}, correct is {rebuilt[IP].chksum:#06x}")
    if l4 is not None and rebuilt[l4].chksum != e[l4].chksum:
        problems.append(f"{l4.__name__} checksum {e[l4].chksum:#06x}, correct is {rebuilt[l4].chksum:#06x}")
    return problems


def rewrite(frame, dmac, smac, src=None, dst=None, sport=None, dport=None, ttl_delta=-1):
    """The input frame as the dataplane should emit it (checksums recomputed)."""
    e = Ether(frame)
    e.dst, e.src = dmac, smac
    ip = e[IP]
    if src:
        ip.src = src
    if dst:
        ip.dst = dst
    ip.ttl += ttl_delta
    if sport is not None:
        e[TCP].sport = sport
    if dport is not None:
        e[TCP].dport = dport
    del ip.chksum
    del e[TCP].chksum
    return bytes(e)


def first_difference(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return f"byte {i}: {a[i]:#04x} != expected {b[i]:#04x}"
    return f"length {len(a)} != expected {len(b)}"


class Traced:
    """One output frame, parsed and traced back to its input packet."""

    def __init__(self, check, cap, worker, frame, seen):
        self.worker, self.frame, self.meta, self.e = worker, frame, None, None
        try:
            e = Ether(frame)
        except Exception as ex:  # noqa: BLE001 - anything unparsable is a failure
            check.fail(f"output frame unparsable ({ex}): {frame.hex()}")
            return
        if IP not in e:
            check.fail(f"output frame is not IPv4: {e.summary()}")
            return
        self.e = e
        ipid = e[IP].id
        meta = cap.meta.get(ipid)
        if meta is None:
            check.fail(f"output packet matching no input packet (IP id {ipid:#x}): {e.summary()}")
            return
        if ipid in seen:
            check.fail(f"input packet IP id {ipid:#x} came out {seen[ipid] + 1} times: {e.summary()}")
            seen[ipid] += 1
            return
        seen[ipid] = 1
        self.meta = meta
        for p in checksum_problems(frame):
            check.fail(f"{describe(meta)}: {p}")


def describe(meta):
    f = meta.get("flow")
    where = f" of flow {f.index} ({f.addr}:{f.port})" if f else ""
    origin = f" from {meta['backend']}" if "backend" in meta else ""
    return f"{meta.get('phase', meta['kind'])}{origin}{where} [id {meta['id']:#x}]"


def check_port_mac(check, traced):
    macs = {t.e.src for t in traced if t.e is not None}
    check.expect(len(macs) <= 1, f"output frames have different source MACs {sorted(macs)}")
    return next(iter(macs), None)


def check_ttl(check, t, delta=-1):
    want = Ether(t.meta["frame"])[IP].ttl + delta
    check.equal(f"{describe(t.meta)}: TTL", t.e[IP].ttl, want)


def check_stats_balance(check, stats, n_in, n_out, workers, outputs):
    """input = output + drops, and the counters agree with the captures."""
    check.equal("stats: event rx (packets received)", stats.event("rx"), n_in)
    check.equal("stats: event tx (packets sent)", stats.event("tx"), n_out)
    check.equal("stats: drops total = received - sent", stats.drops_total, n_in - n_out)
    check.equal("stats: sum of drop reasons = drops total", sum(stats.drops.values()), stats.drops_total)
    port = stats.ports.get("p0", {})
    check.equal("stats: port p0 rx", port.get("rx"), n_in)
    check.equal("stats: port p0 tx", port.get("tx"), n_out)
    for w in range(workers):
        check.equal(f"stats: lcore {w} tx = frames in its TX pcap", stats.lcores.get(w, {}).get("tx"), len(outputs[w]))
    check.equal("stats: handoff_out = handoff_in", stats.event("handoff_out"), stats.event("handoff_in"))


def check_drops(check, stats, expected):
    """Exactly these drop reasons, with these counts."""
    for reason in sorted(set(expected) | set(stats.drops)):
        check.equal(f"stats: drop {reason}", stats.drops.get(reason, 0), expected.get(reason, 0))


def rr_rotation_ok(backend_sequence):
    """Consecutive new flows (as one worker scheduled them) take backends in turn."""
    if not backend_sequence:
        return True
    start = BACKENDS.index(backend_sequence[0])
    return all(b == BACKENDS[(start + i) % len(BACKENDS)] for i, b in enumerate(backend_sequence))


def verify_nat(check, cap, run, flows, backend_port, workers, scheduler="rr"):
    """nat: every forwarded packet goes to its flow's backend with dst ip:port and MAC
    rewritten; only the chosen backend's replies come back, with the VIP restored."""
    seen = {}
    traced = [Traced(check, cap, w, f, seen) for w, f in run.all_outputs()]
    port_mac = check_port_mac(check, traced)
    flow_backend, flow_worker = {}, {}
    syn_order = {w: [] for w in range(workers)}
    per_backend_packets = {b: 0 for b in BACKENDS}
    per_backend_bytes = {b: 0 for b in BACKENDS}
    for t in traced:
        if t.meta is None:
            continue
        m, e = t.meta, t.e
        f = m["flow"]
        if TCP not in e:
            check.fail(f"{describe(m)}: came out without a TCP header")
            continue
        if flow_worker.setdefault(f.index, t.worker) != t.worker:
            check.fail(f"flow {f.index}: packets in the TX pcaps of workers {flow_worker[f.index]} and {t.worker}")
        check_ttl(check, t)
        if m["kind"] == "fwd":
            b = e[IP].dst
            if not check.expect(b in BACKENDS, f"{describe(m)}: forwarded to {b}, not a backend"):
                continue
            if flow_backend.setdefault(f.index, b) != b:
                check.fail(f"{describe(m)}: went to {b} but the flow's other packets to {flow_backend[f.index]}")
            check.equal(f"{describe(m)}: dst port", e[TCP].dport, backend_port)
            check.equal(f"{describe(m)}: dst MAC", e.dst, BACKEND_MACS[b])
            check.equal(f"{describe(m)}: src", (e[IP].src, e[TCP].sport), (f.addr, f.port))
            want = rewrite(m["frame"], BACKEND_MACS[b], port_mac, dst=b, dport=backend_port)
            check.expect(t.frame == want, f"{describe(m)}: differs from the expected rewrite, "
                                          f"{first_difference(t.frame, want)}")
            per_backend_packets[b] += 1
            per_backend_bytes[b] += len(t.frame)
            if m["id"] == f.fwd_ids[0]:  # the packet that created the flow
                syn_order[t.worker].append(b)
        else:
            check.equal(f"{describe(m)}: src (VIP restored)", (e[IP].src, e[TCP].sport), (VIP, VIP_PORT))
            check.equal(f"{describe(m)}: dst (the client)", (e[IP].dst, e[TCP].dport), (f.addr, f.port))
            check.equal(f"{describe(m)}: dst MAC (the client's)", e.dst, f.mac)
            want = rewrite(m["frame"], f.mac, port_mac, src=VIP, sport=VIP_PORT)
            check.expect(t.frame == want, f"{describe(m)}: differs from the expected rewrite, "
                                          f"{first_difference(t.frame, want)}")
    # Per flow: every forward packet out once; exactly the chosen backend's replies out.
    expected_out = 0
    for f in flows:
        b = flow_backend.get(f.index)
        if not check.expect(b is not None, f"flow {f.index} ({f.addr}:{f.port}): no packet forwarded"):
            continue
        missing = [i for i in f.fwd_ids if i not in seen]
        check.expect(not missing, f"flow {f.index}: {len(missing)} of its {len(f.fwd_ids)} packets not forwarded")
        for rb, ids in f.reply_ids.items():
            out = [i for i in ids if i in seen]
            if rb == b:
                check.expect(len(out) == len(ids), f"flow {f.index}: {len(ids) - len(out)} replies of its backend "
                                                   f"{b} not forwarded")
            else:
                check.expect(not out, f"flow {f.index} (backend {b}): {len(out)} replies from the other backend "
                                      f"{rb} were forwarded")
        expected_out += len(f.fwd_ids) + len(f.reply_ids.get(b, []))
    check.equal("output packets (forward + matched replies)", len(traced), expected_out)
    counts = {b: sum(1 for v in flow_backend.values() if v == b) for b in BACKENDS}
    if scheduler == "rr":
        n = len(flows)
        if workers == 1:
            check.expect(all(c == n // 3 for c in counts.values()), f"rr spread flows unevenly: {counts}")
        else:
            check.expect(max(counts.values()) - min(counts.values()) <= workers, f"rr spread flows unevenly: {counts}")
        for w, seq in syn_order.items():
            check.expect(rr_rotation_ok(seq), f"worker {w}: rr did not rotate through the backends in turn: "
                                              f"{[BACKENDS.index(b) for b in seq]}")
    # The per-backend stats agree with what came out.
    stats = run.stats
    for b in BACKENDS:
        line = stats.backends.get(f"{b}:{backend_port}")
        if not check.expect(line is not None, f"stats: no line for backend {b}:{backend_port}"):
            continue
        check.equal(f"stats: backend {b} flows", line.get("flows"), counts[b])
        check.equal(f"stats: backend {b} packets", line.get("packets"), per_backend_packets[b])
        check.equal(f"stats: backend {b} bytes", line.get("bytes"), per_backend_bytes[b])
    check.equal("stats: event flows_created", stats.event("flows_created"), len(flow_backend))
    return flow_backend, flow_worker, counts


# --------------------------------------------------------------------------- cases

def case_nat(lbdp, workers):
    check = Check()
    cap, flows = Capture(), make_flows(60)
    build_connections(cap, flows, backend_port=8080)
    run = lbdp.run(f"nat-{workers}w", config_text("nat", "rr", 8080), cap.frames, workers)
    _, flow_worker, counts = verify_nat(check, cap, run, flows, 8080, workers)
    n_out = sum(len(o) for o in run.outputs)
    check_stats_balance(check, run.stats, len(cap.frames), n_out, workers, run.outputs)
    wrong_backend_replies = len(flows) * 2 * (len(BACKENDS) - 1)
    check_drops(check, run.stats, {"not_for_us": wrong_backend_replies})
    for b in BACKENDS:
        line = run.stats.backends.get(f"{b}:8080", {})
        check.equal(f"stats: backend {b} open flows after FIN", line.get("open"), 0)
    extra = ""
    if workers > 1:
        used = sorted(set(flow_worker.values()))
        check.equal("workers that handled flows", used, list(range(workers)))
        check.expect(run.stats.event("handoff_out") > 0, "no packet was handed off between workers")
        extra = (f", flows per worker {[list(flow_worker.values()).count(w) for w in range(workers)]}"
                 f", handoffs {run.stats.event('handoff_out')}")
    summary = (f"{len(cap.frames)} in, {n_out} out, drops: {run.stats.drop_summary()}; "
               f"flows per backend {list(counts.values())}{extra}")
    return check, summary


def case_fullnat(lbdp):
    check = Check()
    cap, flows = Capture(), make_flows(60)
    build_connections(cap, flows, backend_port=8080, replies=False)
    # Backend packets to the local address on a port no flow uses (< 1024, never allocated).
    for b in BACKENDS:
        cap.add(lambda ipid, b=b: tcp_frame(BACKEND_MACS[b], b, 8080, LOCAL_ADDR, 999, "SA", ipid, seq=1, ack=1),
                kind="stray", phase="stray reply to the local address", backend=b)
    run = lbdp.run("fullnat", config_text("fullnat", "rr", 8080, local=True), cap.frames)
    seen = {}
    traced = [Traced(check, cap, w, f, seen) for w, f in run.all_outputs()]
    port_mac = check_port_mac(check, traced)
    flow_backend, flow_sport = {}, {}
    for t in traced:
        if t.meta is None:
            continue
        m, e = t.meta, t.e
        if not check.expect(m["kind"] == "fwd" and TCP in e, f"{describe(m)}: should not have been forwarded"):
            continue
        f = m["flow"]
        check_ttl(check, t)
        b, sport = e[IP].dst, e[TCP].sport
        if not check.expect(b in BACKENDS, f"{describe(m)}: forwarded to {b}, not a backend"):
            continue
        check.equal(f"{describe(m)}: src address", e[IP].src, LOCAL_ADDR)
        check.expect(sport >= 1024, f"{describe(m)}: source port {sport} < 1024")
        check.equal(f"{describe(m)}: dst port", e[TCP].dport, 8080)
        check.equal(f"{describe(m)}: dst MAC", e.dst, BACKEND_MACS[b])
        if flow_backend.setdefault(f.index, b) != b:
            check.fail(f"{describe(m)}: went to {b} but the flow's other packets to {flow_backend[f.index]}")
        if flow_sport.setdefault(f.index, sport) != sport:
            check.fail(f"{describe(m)}: source port {sport} but the flow's other packets {flow_sport[f.index]}")
        want = rewrite(m["frame"], BACKEND_MACS[b], port_mac, src=LOCAL_ADDR, dst=b, sport=sport, dport=8080)
        check.expect(t.frame == want, f"{describe(m)}: differs from the expected rewrite, "
                                      f"{first_difference(t.frame, want)}")
    for f in flows:
        missing = [i for i in f.fwd_ids if i not in seen]
        check.expect(not missing, f"flow {f.index}: {len(missing)} of its {len(f.fwd_ids)} packets not forwarded")
    pairs = [(flow_backend[k], flow_sport[k]) for k in flow_backend if k in flow_sport]
    check.equal("distinct (backend, local port) pairs", len(set(pairs)), len(pairs))
    expected_out = sum(len(f.fwd_ids) for f in flows)
    check.equal("output packets", len(traced), expected_out)
    counts = {b: sum(1 for v in flow_backend.values() if v == b) for b in BACKENDS}
    check.expect(all(c == len(flows) // 3 for c in counts.values()), f"rr spread flows unevenly: {counts}")
    check_stats_balance(check, run.stats, len(cap.frames), len(traced), 1, run.outputs)
    check_drops(check, run.stats, {"no_flow": len(BACKENDS)})
    check.equal("stats: event flows_created", run.stats.event("flows_created"), len(flows))
    ports = sorted(flow_sport.values())
    summary = (f"{len(cap.frames)} in, {len(traced)} out, drops: {run.stats.drop_summary()}; "
               f"flows per backend {list(counts.values())}, local ports {ports[0] if ports else '-'}.."
               f"{ports[-1] if ports else '-'}")
    return check, summary


def case_dsr(lbdp):
    check = Check()
    cap, flows = Capture(), make_flows(60)
    build_connections(cap, flows, backend_port=VIP_PORT, replies=False)
    run = lbdp.run("dsr", config_text("dsr", "rr", VIP_PORT), cap.frames)
    seen = {}
    traced = [Traced(check, cap, w, f, seen) for w, f in run.all_outputs()]
    port_mac = check_port_mac(check, traced)
    mac_to_backend = {mac: b for b, mac in BACKEND_MACS.items()}
    flow_backend = {}
    for t in traced:
        if t.meta is None:
            continue
        m, e = t.meta, t.e
        f = m["flow"]
        b = mac_to_backend.get(e.dst)
        if not check.expect(b is not None, f"{describe(m)}: dst MAC {e.dst} is no backend's"):
            continue
        if flow_backend.setdefault(f.index, b) != b:
            check.fail(f"{describe(m)}: went to {b} but the flow's other packets to {flow_backend[f.index]}")
        check.equal(f"{describe(m)}: src MAC", e.src, port_mac)
        check.expect(t.frame[12:] == m["frame"][12:],
                     f"{describe(m)}: bytes after the MACs changed ({first_difference(t.frame[12:], m['frame'][12:])}"
                     f" counting from the EtherType)")
    for f in flows:
        missing = [i for i in f.fwd_ids if i not in seen]
        check.expect(not missing, f"flow {f.index}: {len(missing)} of its {len(f.fwd_ids)} packets not forwarded")
    check.equal("output packets", len(traced), sum(len(f.fwd_ids) for f in flows))
    counts = {b: sum(1 for v in flow_backend.values() if v == b) for b in BACKENDS}
    check.expect(all(c == len(flows) // 3 for c in counts.values()), f"rr spread flows unevenly: {counts}")
    check_stats_balance(check, run.stats, len(cap.frames), len(traced), 1, run.outputs)
    check_drops(check, run.stats, {})
    summary = (f"{len(cap.frames)} in, {len(traced)} out, drops: {run.stats.drop_summary()}; "
               f"flows per backend {list(counts.values())}, port MAC {port_mac}")
    return check, summary


def case_malformed(lbdp):
    """Each bad packet is dropped for its reason; ICMP echo to a local address is answered."""
    check = Check()
    cap = Capture()
    cmac, cip = "02:c2:00:00:00:01", "198.18.0.7"

    def syn(ipid, **ip_fields):
        return (Ether(src=cmac, dst=LB_MAC_IN) / IP(src=cip, dst=VIP, id=ipid, **ip_fields) /
                TCP(sport=40000 + ipid, dport=VIP_PORT, flags="S"))

    def bad_checksum(ipid):
        raw = bytearray(bytes(syn(ipid)))
        raw[24] ^= 0x5A  # IPv4 header checksum, high byte
        return bytes(raw)

    def ipv6(ipid):
        return bytes(Ether(src=cmac, dst=LB_MAC_IN) / IPv6(src="2001:db8::7", dst="2001:db8::100") /
                     TCP(sport=40000 + (ipid & 0xFF), dport=VIP_PORT, flags="S"))

    def echo(dst):
        return lambda ipid: bytes(Ether(src=cmac, dst=LB_MAC_IN) / IP(src=cip, dst=dst, id=ipid, ttl=60) /
                                  ICMP(type=8, code=0, id=0x4242, seq=ipid) / Raw(payload(37, ipid)))

    # (what, builder, expected drop reason or None when it must come out)
    bad = [
        ("truncated frame (10 bytes)", lambda ipid: bytes(syn(ipid))[:10], "truncated_l2"),
        ("IPv4 with a bad header checksum", bad_checksum, "bad_ip_checksum"),
        ("IPv4 with options (router alert)", lambda ipid: bytes(syn(ipid, options=[IPOption_Router_Alert()])),
         "ip_options"),
        ("first fragment (MF)", lambda ipid: bytes(syn(ipid, flags="MF")), "ip_fragment"),
        ("later fragment (offset 185)", lambda ipid: bytes(Ether(src=cmac, dst=LB_MAC_IN) /
                                                            IP(src=cip, dst=VIP, id=ipid, proto=6, frag=185) /
                                                            Raw(payload(40, 1))), "ip_fragment"),
        ("TCP data offset 3", lambda ipid: bytes(Ether(src=cmac, dst=LB_MAC_IN) / IP(src=cip, dst=VIP, id=ipid) /
                                                 TCP(sport=41000, dport=VIP_PORT, flags="S", dataofs=3)),
         "bad_tcp_header"),
        ("IPv6 frame", ipv6, "unsupported_l2"),
        ("non-SYN to the VIP with no flow", lambda ipid: tcp_frame(cmac, cip, 42000, VIP, VIP_PORT, "A", ipid,
                                                                   seq=7, ack=7), "no_flow"),
        ("IPv4 total length beyond the frame", lambda ipid: bytes(syn(ipid, len=400)), "truncated_l3"),
        ("IPv4 header length 4", lambda ipid: bytes(syn(ipid, ihl=4)), "bad_ip_header"),
        ("TCP header cut short", lambda ipid: bytes(Ether(src=cmac, dst=LB_MAC_IN) /
                                                    IP(src=cip, dst=VIP, id=ipid, proto=6) / Raw(b"\0" * 10)),
         "truncated_l4"),
        ("TCP to the VIP address on another port", lambda ipid: tcp_frame(cmac, cip, 42001, VIP, 443, "S", ipid),
         "vip_port_closed"),
        ("UDP to the VIP", lambda ipid: bytes(Ether(src=cmac, dst=LB_MAC_IN) / IP(src=cip, dst=VIP, id=ipid) /
                                              UDP(sport=5353, dport=VIP_PORT) / Raw(b"x" * 12)), "not_for_us"),
        ("TCP to the port's own address", lambda ipid: tcp_frame(cmac, cip, 42002, PORT_ADDR, 22, "S", ipid),
         "not_for_us"),
        ("ICMP timestamp request to the VIP", lambda ipid: bytes(Ether(src=cmac, dst=LB_MAC_IN) /
                                                                 IP(src=cip, dst=VIP, id=ipid) /
                                                                 ICMP(type=13, code=0) / Raw(b"\0" * 12)),
         "icmp_ignored"),
        ("SYN with TTL 1", lambda ipid: tcp_frame(cmac, cip, 42003, VIP, VIP_PORT, "S", ipid, ttl=1), "ttl_exceeded"),
        # Positive controls, mixed in with the bad ones.
        ("ICMP echo request to the VIP", echo(VIP), None),
        ("ICMP echo request to the port address", echo(PORT_ADDR), None),
        ("valid SYN padded to 60 bytes", lambda ipid: tcp_frame(cmac, cip, 42004, VIP, VIP_PORT, "S", ipid) +
         b"\0" * 6, None),
    ]
    for what, build, reason in bad:
        cap.add(build, kind="probe", phase=what, reason=reason)
    run = lbdp.run("malformed", config_text("nat", "rr", 8080), cap.frames)
    seen = {}
    traced = [Traced(check, cap, w, f, seen) for w, f in run.all_outputs()]
    port_mac = check_port_mac(check, traced)
    for t in traced:
        if t.meta is None:
            continue
        m, e = t.meta, t.e
        if not check.expect(m["reason"] is None, f"'{m['phase']}' was forwarded: {e.summary()} "
                                                 f"(expected drop {m['reason']})"):
            continue
        if m["phase"].startswith("ICMP echo"):
            orig = Ether(m["frame"])
            if not check.expect(ICMP in e, f"'{m['phase']}': answer is not ICMP: {e.summary()}"):
                continue
            check.equal(f"'{m['phase']}': ICMP type/code", (e[ICMP].type, e[ICMP].code), (0, 0))
            check.equal(f"'{m['phase']}': src", e[IP].src, orig[IP].dst)
            check.equal(f"'{m['phase']}': dst", e[IP].dst, cip)
            check.equal(f"'{m['phase']}': dst MAC (the sender's)", e.dst, cmac)
            check.equal(f"'{m['phase']}': src MAC (the port's)", e.src, port_mac)
            check.equal(f"'{m['phase']}': id/seq", (e[ICMP].id, e[ICMP].seq), (orig[ICMP].id, orig[ICMP].seq))
            check.equal(f"'{m['phase']}': echo data", bytes(e[ICMP].payload), bytes(orig[ICMP].payload))
        else:  # the padded SYN
            check.expect(e[IP].dst in BACKENDS and e[TCP].dport == 8080,
                         f"'{m['phase']}': sent to {e[IP].dst}:{e[TCP].dport}, not a backend:8080")
            check_ttl(check, t)
            b = e[IP].dst
            if b in BACKENDS:
                want = rewrite(m["frame"], BACKEND_MACS[b], port_mac, dst=b, dport=8080)
                check.expect(t.frame == want, f"'{m['phase']}': differs from the expected rewrite (padding kept), "
                                              f"{first_difference(t.frame, want)}")
    for m in cap.meta.values():
        if m["reason"] is None:
            check.expect(m["id"] in seen, f"'{m['phase']}': nothing came out")
    expected = {}
    for m in cap.meta.values():
        if m["reason"]:
            expected[m["reason"]] = expected.get(m["reason"], 0) + 1
    n_out = len(traced)
    check.equal("output packets (2 echo replies + 1 SYN)", n_out, 3)
    check_stats_balance(check, run.stats, len(cap.frames), n_out, 1, run.outputs)
    check_drops(check, run.stats, expected)
    check.equal("stats: event icmp_echo_replies", run.stats.event("icmp_echo_replies"), 2)
    summary = f"{len(cap.frames)} in, {n_out} out, drops: {run.stats.drop_summary()}"
    return check, summary


HEARTBEAT_PORT = 7946


def case_heartbeats(lbdp):
    """With [controlplane] set, heartbeats from configured backends to the port's own
    address and the heartbeat port leave the dataplane for lbcp's ring (not forwarded, not
    dropped); malformed ones and any from elsewhere are dropped for their reason."""
    check = Check()
    cap = Capture()
    bmac = "02:be:00:00:00:11"

    def beat(src, dport=HEARTBEAT_PORT, body=None, dst=PORT_ADDR):
        good = b"LBHB" + bytes([1]) + b"\0" * 83  # the size, magic and version lbdp checks; lbcp checks the rest
        data = good if body is None else body
        return lambda ipid: bytes(Ether(src=bmac, dst=LB_MAC_IN) / IP(src=src, dst=dst, id=ipid) /
                                  UDP(sport=40000, dport=dport) / Raw(data))

    cases = [
        ("heartbeat from backend .11", beat(BACKENDS[0]), "lbcp"),
        ("heartbeat from backend .13", beat(BACKENDS[2]), "lbcp"),
        ("heartbeat from a non-backend", beat("198.18.1.99"), "not_for_us"),
        ("heartbeat to the VIP address", beat(BACKENDS[0], dst=VIP), "not_for_us"),
        ("heartbeat to another UDP port", beat(BACKENDS[0], dport=HEARTBEAT_PORT + 1), "not_for_us"),
        ("heartbeat 87 bytes", beat(BACKENDS[1], body=b"LBHB" + bytes([1]) + b"\0" * 82), "heartbeat_malformed"),
        ("heartbeat with a bad magic", beat(BACKENDS[1], body=b"LBHX" + bytes([1]) + b"\0" * 83),
         "heartbeat_malformed"),
        ("heartbeat of version 2", beat(BACKENDS[1], body=b"LBHB" + bytes([2]) + b"\0" * 83), "heartbeat_malformed"),
        ("UDP length beyond the IP payload", lambda ipid: bytes(
            Ether(src=bmac, dst=LB_MAC_IN) / IP(src=BACKENDS[1], dst=PORT_ADDR, id=ipid) /
            UDP(sport=40000, dport=HEARTBEAT_PORT, len=200) / Raw(b"LBHB" + bytes([1]) + b"\0" * 83)),
         "heartbeat_malformed"),
    ]
    for what, build, verdict in cases:
        cap.add(build, kind="beat", phase=what, reason=verdict)
    conf = config_text("nat", "rr", 8080) + (
        f'\n[controlplane]\nshm = "/lbpp-{os.getpid()}"\nheartbeat_port = {HEARTBEAT_PORT}\n')
    run = lbdp.run("heartbeats", conf, cap.frames)
    n_out = sum(len(o) for o in run.outputs)
    check.equal("output packets (none: heartbeats are not forwarded)", n_out, 0)
    to_lbcp = sum(1 for m in cap.meta.values() if m["reason"] == "lbcp")
    expected = {}
    for m in cap.meta.values():
        if m["reason"] != "lbcp":
            expected[m["reason"]] = expected.get(m["reason"], 0) + 1
    check.equal("stats: event heartbeats (queued for lbcp)", run.stats.event("heartbeats"), to_lbcp)
    check.equal("stats: event rx", run.stats.event("rx"), len(cap.frames))
    check.equal("stats: drops total = received - queued for lbcp", run.stats.drops_total,
                len(cap.frames) - to_lbcp)
    check_drops(check, run.stats, expected)
    check.expect(not os.path.exists(f"/dev/shm/lbpp-{os.getpid()}"), "lbdp removed its shared-memory segment")
    summary = f"{len(cap.frames)} in, {to_lbcp} to lbcp, drops: {run.stats.drop_summary()}"
    return check, summary


def case_maglev(lbdp):
    """Same input twice -> same choices; non-SYN packets of unknown flows are recovered
    onto the backend their SYN picks (in both directions: SYN first, then recovered in a
    fresh process, and recovered first, then SYN in a fresh process)."""
    check = Check()
    conf = config_text("nat", "maglev", 8080)

    def capture(syn_flows, orphan_flows):
        cap = Capture()
        for f in syn_flows + orphan_flows:
            f.fwd_ids, f.reply_ids, f.syn_id = [], {}, None
        mss = [("MSS", 1460)]
        for f in syn_flows:
            add_client(cap, f, "S", "syn", options=mss)
        for f in syn_flows + orphan_flows:
            add_client(cap, f, "A", "ack")
        for f in orphan_flows + syn_flows:
            add_client(cap, f, "PA", "data", data=payload(1 + f.index % 90, f.index))
        return cap

    group_a, group_b = make_flows(60), make_flows(20, first=100)
    choices = []
    for label, syn_flows, orphans in (("run 1", group_a, group_b), ("run 2", group_a, group_b),
                                      ("run 3", group_b, group_a)):
        cap = capture(syn_flows, orphans)
        run = lbdp.run("maglev-" + label.replace(" ", ""), conf, cap.frames)
        sub = Check()
        flow_backend, _, counts = verify_nat(sub, cap, run, syn_flows + orphans, 8080, 1, scheduler="maglev")
        n_out = sum(len(o) for o in run.outputs)
        check_stats_balance(sub, run.stats, len(cap.frames), n_out, 1, run.outputs)
        check_drops(sub, run.stats, {})
        sub.equal("stats: event flows_recovered", run.stats.event("flows_recovered"), len(orphans))
        sub.expect(all(c > 0 for c in counts.values()), f"maglev left a backend without flows: {counts}")
        check.errors += [f"{label}: {e}" for e in sub.errors]
        choices.append(flow_backend)
    first, second, third = choices
    differ = [k for k in first if first.get(k) != second.get(k)]
    check.expect(not differ, f"runs 1 and 2 (same input) chose different backends for {len(differ)} flows, "
                             f"e.g. flow {differ[:1]}")
    for k in sorted(set(first) | set(third)):
        how = "SYN in run 1, recovered in run 3" if k < 100 else "recovered in run 1, SYN in run 3"
        check.expect(first.get(k) == third.get(k), f"flow {k} ({how}): backend {first.get(k)} vs {third.get(k)}")
    counts = [sum(1 for v in first.values() if v == b) for b in BACKENDS]
    summary = f"3 runs of {len(group_a) + len(group_b)} flows (20/60 recovered), flows per backend {counts}"
    return check, summary


def lbgen(tmp, name, spec):
    """A workload capture made by the benchmark's generator; returns (path, frames)."""
    path = os.path.join(tmp, f"lbgen-{name}.pcap")
    p = subprocess.run([LBGEN, "-w", spec, "-o", path], capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if p.returncode != 0:
        raise RunError(f"lbgen -w {spec} failed: {(p.stdout + p.stderr).strip()}")
    return path, read_pcap(path)


def check_fullnat_local_ports(check, outputs):
    """lbgen's fullnat replies (local=) went where lbgen meant them to: each forward
    packet left from the local port lbgen predicts for its flow (1024 + flow, the flow
    read from the IPv4 id lbgen writes, which lbdp leaves alone), and each reply reached
    that flow's client (workload.hpp's flow_tuple). A reply aimed at another flow's port
    would be forwarded to that flow's client, not dropped."""
    wrong_port = wrong_client = forward = replies = 0
    for _, f in outputs:
        ip_id, = struct.unpack("!H", f[18:20])
        src, dst = f[26:30], f[30:34]
        sport, dport = struct.unpack("!HH", f[34:38])
        if src == socket.inet_aton(LOCAL_ADDR):
            forward += 1
            wrong_port += sport != 1024 + ip_id
        else:
            replies += 1
            client = socket.inet_aton("198.19.0.0")[:2] + struct.pack("!H", ip_id >> 12)
            wrong_client += dst != client or dport != 1024 + (ip_id & 4095)
    check.expect(forward > 0 and replies > 0, f"{forward} forward packets and {replies} replies out")
    check.equal("forward packets not from the predicted local port", wrong_port, 0)
    check.equal("replies not to their flow's client", wrong_client, 0)


def case_replay_smoke(lbdp):
    """The replay benchmark's workloads, once through lbdp: every packet is forwarded or
    counted in a drop reason, and the output capture holds what lbdp says it sent. Not
    a speed test."""
    check = Check()
    runs = [
        # name, workload, config, drops expected
        ("full", "flows=2000,mix=full,ppf=5,size=imix", config_text("nat", "rr", 8080), {}),
        ("replies", "flows=1000,mix=established,ppf=3,replies=198.18.1.11",
         config_text("nat", "rr", 80, backends=BACKENDS[:1]), {}),
        # fullnat replies to the local ports the generator predicts (workload.hpp): a
        # wrong prediction would be dropped as no_flow
        ("replies-fullnat", f"flows=1000,mix=established,ppf=3,replies={BACKENDS[0]},local={LOCAL_ADDR}",
         config_text("fullnat", "rr", 80, local=True, backends=BACKENDS[:1]), {}),
        # 6000 new flows into a 4096-entry table: the SYNs beyond it evict, none is lost.
        ("syn-storm", "flows=6000,mix=syn", config_text("nat", "wlc", 8080), {}),
    ]
    summary = []
    for name, spec, conf, drops in runs:
        path, frames = lbgen(lbdp.tmp, name, spec)
        run = lbdp.run("replay-" + name, conf, None, in_path=path)
        sub = Check()
        n_out = sum(len(o) for o in run.outputs)
        check_stats_balance(sub, run.stats, len(frames), n_out, 1, run.outputs)
        check_drops(sub, run.stats, drops)
        if name == "replies-fullnat":
            check_fullnat_local_ports(sub, run.all_outputs())
        sample = run.all_outputs()[::7]  # scapy is slow; lbdp's checksum code is tested in full above
        problems = [p for _, f in sample for p in checksum_problems(f)]
        sub.expect(not problems, f"{len(problems)} output checksum problems, e.g. {problems[:1]}")
        check.errors += [f"{name} [{spec}]: {e}" for e in sub.errors]
        summary.append(f"{name} {len(frames)} in / {n_out} out")
    return check, ", ".join(summary)


def lbbench_config(mode, scheduler):
    """config_text's VIP and backends behind the two ports lbbench needs: its generator's
    net_ring port for the clients, net_null for the backends (as in the benchmark)."""
    one_port = "\n".join(['name = "p0"', 'device = "net_pcap0"', 'role = "both"', f'address = "{PORT_ADDR}/24"'])
    two_ports = "\n".join(['name = "client"', 'device = "net_ring_gen"', 'role = "client"',
                           'address = "198.19.255.254/16"', "", "[[port]]", 'name = "server"',
                           'device = "net_null0"', 'role = "server"', f'address = "{PORT_ADDR}/24"'])
    conf = config_text(mode, scheduler, 8080)
    assert one_port in conf
    return conf.replace(one_port, two_ports)


def case_generator_smoke(lbdp):
    """The benchmark's generator path (lbbench), briefly: its generator lcore builds each
    workload into lbdp's net_ring port for a second; once the generator has stopped and
    lbdp has drained the rings, every packet it sent was received, and transmitted or
    counted in a drop reason. Once with mbufs of another layout (a private area), which
    takes the receive path's other way of prefetching packet data. Not a speed test."""
    check = Check()
    # A full table evicts RECLAIM_BATCH flows at a time and the SYNs that follow take
    # the entries so freed, so after a SYN storm up to RECLAIM_BATCH - 1 may be free.
    runs = [
        # name, workload, fewest and most flows in the table at the end (config_text:
        # 4096 entries per worker), lbbench options
        ("established", "flows=1000,mix=established,ppf=20", 1000, 1000, []),
        # more flows than entries: SYNs evict
        ("syn-storm", "flows=6000,mix=syn", 4096 - (RECLAIM_BATCH - 1), 4096, []),
        # mbufs with a private area: their data is not where lbdp's receive guesses it,
        # so the worker prefetches it at the burst's own mbuf-to-data offset instead
        ("private-area", "flows=1000,mix=established,ppf=20", 1000, 1000, ["--mbuf-priv", "64"]),
    ]
    # lcores: main, one lbdp worker, and the generator (lbbench takes the last), which
    # shares the main lcore's CPU (the main lcore sleeps between ticks), not the worker's.
    lcores = f"{lcores_arg(1)},2@{sorted(os.sched_getaffinity(0))[0]}"
    summary = []
    for name, spec, fewest, most, options in runs:
        conf = os.path.join(lbdp.tmp, f"lbbench-{name}.toml")
        with open(conf, "w") as f:
            f.write(lbbench_config("nat", "rr"))
        cmd = [LBBENCH, "--lcores", lcores, "--no-pci", "--no-telemetry", "--log-level=lib.eal:error"]
        cmd += eal_memory_args() + ["--vdev", "net_null0,no-rx=1", "--", "-c", conf, "-w", spec,
                                    "--duration", "1", "--warmup", "0"] + options
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            raise RunError(f"lbbench did not exit within {RUN_TIMEOUT_S} s: {' '.join(cmd)}") from e
        with open(os.path.join(lbdp.tmp, f"lbbench-{name}.log"), "w") as f:
            f.write(p.stdout + p.stderr)
        totals = next((kv(line.split()[2:]) for line in p.stdout.splitlines()
                       if line.startswith("lbbench totals ")), None)
        sub = Check()
        sub.equal("lbbench exit status", p.returncode, 0)
        if totals is None:
            sub.fail("lbbench printed no totals line:\n" + (p.stdout + p.stderr)[-2000:])
        else:
            sent, rx, tx, drops = (totals.get(k, -1) for k in ("sent", "rx", "tx", "drops"))
            sub.expect(sent > 0, f"the generator sent {sent} packets")
            sub.equal("received = sent by the generator", rx, sent)
            sub.equal("transmitted + dropped = received", tx + drops, rx)
            sub.equal("drops", drops, 0)
            flows = totals.get("flows", -1)
            sub.expect(fewest <= flows <= most, f"flows in the table: {flows}, not within [{fewest}, {most}]")
            summary.append(f"{name} {sent} sent / {tx} out")
        check.errors += [f"{name} [{spec}]: {e}" for e in sub.errors]
    return check, ", ".join(summary)


def case_replay_warmup(lbdp):
    """--warmup: an endless replay of mid-connection data (maglev recovers the flows in
    the first pass); after the warm-up the statistics start from zero, so what follows
    is the steady state: no flow created, every packet received forwarded."""
    check = Check()
    path, frames = lbgen(lbdp.tmp, "data", "flows=2000,mix=data,ppf=4")
    flows = len({(f[26:30], f[34:36]) for f in frames})  # client address and port
    conf = config_text("nat", "maglev", 8080, mbufs=len(frames) + 8192)
    run = lbdp.run("replay-warmup", conf, None, in_path=path, replay_s=(1, 1))
    st, lc = run.stats, run.stats.lcores.get(0, {})
    check.expect(st.event("rx") > 10 * len(frames), f"only {st.event('rx')} packets in a second of replay "
                                                    f"of {len(frames)}")
    check.equal("stats: flows in the table (a level, not reset)", lc.get("flows"), flows)
    check.equal("stats: flows created after the warm-up", lc.get("created"), 0)
    check.equal("stats: flows recovered after the warm-up", st.event("flows_recovered"), 0)
    check.equal("stats: drops after the warm-up", st.drops_total, 0)
    # The statistics are cleared between a worker's receive and its transmit at most once,
    # so the two may differ by up to one burst (the default, BURST: config_text sets none).
    gap = st.event("tx") - st.event("rx")
    check.expect(0 <= gap <= BURST, f"tx {st.event('tx')} - rx {st.event('rx')} = {gap}, not within one burst")
    # The receive's share of the busy loop (the benchmark's "of which receive"): counted,
    # and only a part, since every pass also classifies, forwards and transmits.
    rx_cycles, busy = st.event("rx_cycles"), st.event("busy_cycles")
    check.expect(0 < rx_cycles < busy, f"rx_cycles {rx_cycles} not within (0, busy_cycles {busy})")
    return check, f"{st.event('rx')} packets in 1 s after 1 s of warm-up, {flows} flows"


def case_reply_tuple(lbdp):
    """nat: two VIPs (ports 80 and 81 of one address) with the same single backend. A
    client address and port that has a flow through the first VIP cannot open one
    through the second: the backend's replies of both would carry the same tuple. That
    SYN is dropped as reply_tuple_taken; the same client from another port, and the
    first flow's own packets, still go through."""
    check = Check()
    backend = BACKENDS[0]
    conf = config_text("nat", "rr", 8080, backends=[backend], more_vip_ports=(81,))
    mac, client = "02:c1:00:00:00:01", "198.18.0.10"
    frames = [
        tcp_frame(mac, client, 40000, VIP, 80, "S", 1, seq=100),         # flow 1: forwarded
        tcp_frame(mac, client, 40000, VIP, 81, "S", 2, seq=200),         # same reply tuple: dropped
        tcp_frame(mac, client, 40001, VIP, 81, "S", 3, seq=300),         # another port: forwarded
        tcp_frame(mac, client, 40000, VIP, 80, "A", 4, seq=101, ack=1),  # flow 1 goes on
    ]
    run = lbdp.run("reply-tuple", conf, frames)
    out = run.outputs[0]
    check_drops(check, run.stats, {"reply_tuple_taken": 1})
    check.equal("packets out", len(out), 3)
    got = [(Ether(e)[IP].dst, Ether(e)[TCP].sport, Ether(e)[TCP].dport) for e in out]
    want = [(backend, 40000, 8080), (backend, 40001, 8080), (backend, 40000, 8080)]
    check.equal("forwarded (backend, client port, backend port)", got, want)
    check.equal("stats: flows created", run.stats.event("flows_created"), 2)
    return check, f"{len(frames)} in, {len(out)} out, reply_tuple_taken {run.stats.drops.get('reply_tuple_taken', 0)}"


def case_same_burst_handshakes(lbdp):
    """Handshakes whose packets share a receive burst: SYN, ACK and data of one client
    after another. The worker looks up a whole burst's keys before it forwards any
    packet (dataplane/worker.cpp), so the ACK and data find no flow then; a flow
    created by a SYN must still serve the packets after it in the same burst (the
    lookup is made again once the table has changed). Every packet comes out, to its
    flow's backend."""
    check = Check()
    conf = config_text("nat", "rr", 8080)
    clients = 80  # 240 frames: one full burst (BURST) and a part-full one
    frames = []
    for c in range(clients):
        mac, ip, port = "02:c2:00:00:%02x:%02x" % (c >> 8, c & 0xFF), "198.18.0.%d" % (10 + c), 41000 + c
        frames += [tcp_frame(mac, ip, port, VIP, VIP_PORT, "S", 3 * c, seq=100),
                   tcp_frame(mac, ip, port, VIP, VIP_PORT, "A", 3 * c + 1, seq=101, ack=1),
                   tcp_frame(mac, ip, port, VIP, VIP_PORT, "PA", 3 * c + 2, seq=101, ack=1, payload=payload(20, c))]
    run = lbdp.run("same-burst", conf, frames)
    out = run.outputs[0]
    check_drops(check, run.stats, {})
    check.equal("packets out", len(out), len(frames))
    check.equal("stats: flows created", run.stats.event("flows_created"), clients)
    backend_of = {}
    for e in out:
        pkt = Ether(e)
        backend_of.setdefault(pkt[TCP].sport, set()).add(pkt[IP].dst)
    split = sorted(port for port, dsts in backend_of.items() if len(dsts) != 1)
    check.equal("client ports whose packets went to more than one backend", split, [])
    check.equal("client ports seen", len(backend_of), clients)
    return check, f"{len(frames)} in ({clients} handshakes), {len(out)} out"


# --------------------------------------------------------------------------- main

CASES = [
    ("1 nat rr, 1 worker", lambda l: case_nat(l, 1)),
    ("2 fullnat rr, 1 worker", case_fullnat),
    ("3 dsr rr, 1 worker", case_dsr),
    ("4 nat rr, 2 workers", lambda l: case_nat(l, 2)),
    ("5 malformed input", case_malformed),
    ("6 maglev consistency and recovery", case_maglev),
    ("7 heartbeat steering", case_heartbeats),
    ("8 replay smoke (lbgen workloads)", case_replay_smoke),
    ("9 replay warm-up", case_replay_warmup),
    ("10 nat reply tuple held by another VIP's flow", case_reply_tuple),
    ("11 generator path smoke (lbbench)", case_generator_smoke),
    ("12 handshakes within one burst", case_same_burst_handshakes),
]


def main():
    global LBGEN, LBBENCH
    if len(sys.argv) != 4:
        print(f"usage: {sys.argv[0]} PATH/TO/lbdp PATH/TO/lbgen PATH/TO/lbbench", file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    LBGEN = os.path.abspath(sys.argv[2])
    LBBENCH = os.path.abspath(sys.argv[3])
    if not os.access(binary, os.X_OK):
        print(f"FAIL: {binary} is not an executable")
        print("0 passed, 1 failed")
        return 1
    if os.geteuid() != 0:
        cannot_run("lbdp needs root for DPDK's EAL; run the pipeline tests as root")
    if SCAPY_ERROR is not None:
        cannot_run(f"scapy is not importable by {sys.executable} ({SCAPY_ERROR}); install python3-scapy")

    only = os.environ.get("PIPELINE_CASES")  # e.g. "1,5" to run a subset while debugging
    tmp = tempfile.mkdtemp(prefix="lbdp-pipeline-")
    lbdp = Lbdp(binary, tmp)
    passed = failed = 0
    started = time.monotonic()
    for name, fn in CASES:
        if only and name.split()[0] not in only.split(","):
            continue
        t0 = time.monotonic()
        try:
            check, summary = fn(lbdp)
        except RunError as e:
            check, summary = Check(), ""
            check.fail(str(e))
        except Exception as e:  # noqa: BLE001 - a crash in a case fails that case only
            import traceback
            check, summary = Check(), ""
            check.fail("test error: " + "".join(traceback.format_exception(e)).rstrip())
        took = time.monotonic() - t0
        if check.errors:
            failed += 1
            print(f"FAIL case {name} ({took:.1f} s): {len(check.errors)} problem(s); {summary}")
            for err in check.errors[:MAX_ERRORS_SHOWN]:
                print("    " + err.replace("\n", "\n    "))
            if len(check.errors) > MAX_ERRORS_SHOWN:
                print(f"    ... and {len(check.errors) - MAX_ERRORS_SHOWN} more")
        else:
            passed += 1
            print(f"PASS case {name} ({took:.1f} s): {summary}")
        sys.stdout.flush()
    if failed:
        print(f"inputs, configs, outputs and lbdp logs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"total {time.monotonic() - started:.1f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
