#!/usr/bin/env python3
"""Generate sparse reverse space for the RFC 8020 tree walk: zones, ground truth, special nodes.

    scripts/gen_walk_fixtures.py [--seed N] [--out fixtures/walk]
    scripts/gen_walk_fixtures.py --check       # regenerate in a temporary folder, compare

Everything is derived from the seed, so the same arguments give byte-identical files.
Only documentation/benchmark space is used: 198.19.0.0/16 (part of 198.18.0.0/15),
192.0.2.0/24 for forward records pointing "elsewhere", 2001:db8::/32, names under .test;
plus 127.0.0.2 as the glue of the lame delegation (nothing listens there).

Output (in --out):
  zones.txt      manifest, one "ORIGIN FILE" per line (ptraudit-testdns, Knot, Unbound)
  zones/*.zone   RFC 1035 zone files
  truth.csv      one row per address WITH a PTR (IPv4 and IPv6), the columns of
                 fixtures/net/truth.csv; every other address of 198.19.0.0/16 is no-ptr
                 (ptr-nxdomain)
  nodes.csv      the special nodes of the tree: prefix,kind,zone_note (kind: wildcard,
                 lame, delegated)
  stats.txt      how many names exist at each depth of the trees, and the fewest queries
                 a walk needs
"""

import argparse
import csv
import ipaddress
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import CUSTOMERS, NS, SOA, STYLES, TTL, Net, generic_name, same_tree  # noqa: E402

GENERATOR = "scripts/gen_walk_fixtures.py"
PREFIX4 = ipaddress.IPv4Network("198.19.0.0/16")
REV4 = "19.198.in-addr.arpa"
REV6 = "8.b.d.0.1.0.0.2.ip6.arpa"

# The /24s of 198.19.0.0/16 that hold PTRs: (third octet, layout). Every other /24 is
# empty (NXDOMAIN). The one marked "delegated" is a child zone with NS in the parent.
NETS4 = [
    (0, "single-1"),      # one host, at .1
    (5, "dense"),         # nearly full
    (19, "few"),
    (64, "few-delegated"),  # child zone 64.19.198.in-addr.arpa.
    (128, "few"),
    (255, "single-255"),  # one host, at .255: the last address of the /16
]
DELEGATED4 = 64

# IPv4 categories (no "no-ptr": truth lists only addresses with a PTR), with the net
# fixture's weights.
CATEGORIES4 = [
    (42, "generic-pass"),
    (11, "generic-no-forward"),
    (3, "generic-mismatch"),
    (12, "custom-pass"),
    (4, "custom-mismatch"),
    (3, "aaaa-only"),
    (4, "multi-ptr"),
    (2, "ptr-to-cname"),
]
CATEGORIES6 = ["custom-pass", "generic-pass", "generic-no-forward", "custom-mismatch"]
# Customer CPEs are mostly generic.
CATEGORIES6_CPE = ["generic-pass", "generic-pass", "generic-no-forward", "custom-pass",
                   "custom-mismatch"]

# IPv6 special /48s (nibble-aligned).
DELEGATED6 = ipaddress.IPv6Network("2001:db8:d00::/48")
WILDCARD6 = ipaddress.IPv6Network("2001:db8:f00::/48")
LAME6 = ipaddress.IPv6Network("2001:db8:bad::/48")
LAME_GLUE = "127.0.0.2"
WILDCARD_PTR = "dynamic.v6.isp.test."
CUSTOMERS6 = ipaddress.IPv6Network("2001:db8:100::/40")
N_CUSTOMERS6 = 24


def nibbles(net: ipaddress.IPv6Network) -> str:
    """The ip6.arpa labels of a nibble-aligned prefix, without the .ip6.arpa suffix."""
    assert net.prefixlen % 4 == 0
    full = net.network_address.reverse_pointer  # 32 nibbles + .ip6.arpa
    labels = full.split(".")[:32]
    return ".".join(labels[32 - net.prefixlen // 4:])


def rel(name: str, origin: str) -> str:
    assert name.endswith("." + origin), (name, origin)
    return name[: -(len(origin) + 1)]


def v6_generic(ip: ipaddress.IPv6Address) -> str:
    dashed = str(ip).replace(":", "-")
    if dashed.endswith("-"):
        dashed += "0"
    if dashed.startswith("-"):
        dashed = "0" + dashed
    return f"{dashed}.v6.isp.test"


class Walk(Net):
    def __init__(self, seed: int):
        super().__init__(seed, PREFIX4)
        self.nodes = []  # (sort key, prefix, kind, note)

    # ---- IPv4 -------------------------------------------------------------------------
    def ptrs4(self, ip, cat, row):
        """The PTR names of an IPv4 address of category `cat`, forward records added."""
        rng = self.rng
        if cat == "generic-pass":
            name = generic_name(ip, rng.choice(STYLES))
            self.add_forward(name, "A", str(ip))
            return [(name, True)]
        if cat == "generic-no-forward":
            return [(generic_name(ip, rng.choice(STYLES)), True)]
        if cat == "generic-mismatch":
            name = generic_name(ip, rng.choice(STYLES))
            self.add_forward(name, "A", str(ipaddress.IPv4Address(int(ip) ^ 1)))
            return [(name, True)]
        if cat == "custom-pass":
            name = self.custom_name(rng.choice(CUSTOMERS))
            self.add_forward(name, "A", str(ip))
            return [(name, False)]
        if cat == "custom-mismatch":
            name = self.custom_name(rng.choice(CUSTOMERS))
            self.add_forward(name, "A", self.elsewhere())
            return [(name, False)]
        if cat == "aaaa-only":
            name = self.custom_name(rng.choice(CUSTOMERS))
            self.add_forward(name, "AAAA", f"2001:db8:ff::{int(ip) & 0xffff:x}")
            return [(name, False)]
        if cat == "multi-ptr":
            g = generic_name(ip, rng.choice(STYLES))
            name = self.custom_name(rng.choice(CUSTOMERS))
            self.add_forward(name, "A", str(ip))
            # The stale name has no A: flagged (a mail server may get it first).
            row["flags"] = "multi-ptr-unconfirmed"
            return [(g, True), (name, False)]
        if cat == "ptr-to-cname":
            cust = rng.choice(CUSTOMERS)
            alias = self.custom_name(cust)
            target = self.custom_name(cust)
            self.add_forward(alias, "CNAME", target + ".")
            self.add_forward(target, "A", str(ip))
            row["flags"] = "ptr-target-cname"
            return [(alias, False)]
        raise ValueError(cat)

    def build4(self):
        parent = self.zone(REV4, f"rev-{REV4}.zone")
        weights = [w for w, _ in CATEGORIES4]
        cats = [c for _, c in CATEGORIES4]
        for third, layout in NETS4:
            if layout == "single-1":
                hosts = [1]
            elif layout == "single-255":
                hosts = [255]
            elif layout == "dense":
                hosts = [d for d in range(1, 255) if self.rng.random() < 0.92]
            else:
                hosts = sorted(self.rng.sample(range(1, 255), self.rng.randrange(4, 10)))
            if layout == "few-delegated":
                origin = f"{third}.{REV4}"
                zone = self.zone(origin, f"rev-{origin}.zone")
                parent.append((str(third), "NS", "ns1.isp.test."))
                self.nodes.append(((4, int(PREFIX4.network_address) + (third << 8)),
                                   f"198.19.{third}.0/24", "delegated",
                                   f"child zone {origin}. (loaded) with NS ns1.isp.test. "
                                   f"in {REV4}."))
            else:
                zone = parent
            for d in hosts:
                ip = ipaddress.IPv4Address(f"198.19.{third}.{d}")
                cat = self.rng.choices(cats, weights)[0]
                row = self.new_row(ip, cat)
                ptrs = self.ptrs4(ip, cat, row)
                owner = str(d) if zone is not parent else f"{d}.{third}"
                for name, _ in ptrs:
                    zone.append((owner, "PTR", name + "."))
                self.fill_verdict(row, ip, ptrs)
                self.truth.append(row)

    # ---- IPv6 -------------------------------------------------------------------------
    def new_row(self, ip, cat):
        return {"ip": str(ip), "category": cat, "ptr_names": [], "forward": [],
                "fcrdns": "", "reason": "", "ptr": "", "generic": "",
                "cname_chain": "", "flags": ""}

    def host6(self, ip, cat, zone, origin):
        row = self.new_row(ip, cat)
        ptrs = []
        if cat == "custom-pass":
            name = self.custom_name(self.rng.choice(CUSTOMERS))
            self.add_forward(name, "AAAA", str(ip))
            ptrs.append((name, False))
        elif cat in ("generic-pass", "generic-no-forward"):
            name = v6_generic(ip)
            if cat == "generic-pass":
                self.add_forward(name, "AAAA", str(ip))
            ptrs.append((name, True))
        elif cat == "custom-mismatch":
            name = self.custom_name(self.rng.choice(CUSTOMERS))
            self.add_forward(name, "AAAA", "2001:db8:ffff::1")
            ptrs.append((name, False))
        else:
            raise ValueError(cat)
        for name, _ in ptrs:
            zone.append((rel(ip.reverse_pointer, origin), "PTR", name + "."))
        self.fill_verdict(row, ip, ptrs)
        self.truth.append(row)

    def build6(self):
        zone = self.zone(REV6, f"rev-{REV6}.zone")
        hosts = []
        # Servers clustered in two /64s: low interface IDs and a small run; one host at
        # the top of the /32.
        for iid in (0x1, 0x2, 0x10, 0x53):
            hosts.append(ipaddress.IPv6Address(f"2001:db8:0:1::{iid:x}"))
        for iid in range(0x100, 0x108):
            hosts.append(ipaddress.IPv6Address(f"2001:db8:0:2::{iid:x}"))
        hosts.append(ipaddress.IPv6Address("2001:db8:ffff:ffff::1"))
        for ip in hosts:
            self.host6(ip, self.rng.choice(CATEGORIES6), zone, REV6)
        # One CPE per customer /56 of a /40, at the first /64 of the /56, with an EUI-64
        # interface ID (MAC with the universal/local bit flipped, ff:fe in the middle).
        n56 = 1 << (56 - CUSTOMERS6.prefixlen)
        for idx in sorted(self.rng.sample(range(n56), N_CUSTOMERS6)):
            mac = [self.rng.randrange(256) for _ in range(6)]
            mac[0] &= 0xFC  # a unicast, globally unique MAC
            iid = bytes([mac[0] ^ 0x02, mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]])
            net56 = int(CUSTOMERS6.network_address) + (idx << (128 - 56))
            ip = ipaddress.IPv6Address(net56 | int.from_bytes(iid, "big"))
            self.host6(ip, self.rng.choice(CATEGORIES6_CPE), zone, REV6)

        # A delegated /48 with its own zone (loaded).
        child = f"{nibbles(DELEGATED6)}.ip6.arpa"
        czone = self.zone(child, f"rev-{child}.zone")
        zone.append((rel(child, REV6), "NS", "ns1.isp.test."))
        for text in ("2001:db8:d00:1::1", "2001:db8:d00:1::2", "2001:db8:d00:42::25",
                     "2001:db8:d00:ff00::1", "2001:db8:d00:ffff:ffff:ffff:ffff:ffff"):
            self.host6(ipaddress.IPv6Address(text), self.rng.choice(CATEGORIES6), czone, child)
        self.nodes.append(((6, int(DELEGATED6.network_address)), str(DELEGATED6), "delegated",
                           f"child zone {child}. (loaded) with NS ns1.isp.test. in {REV6}."))

        # A wildcard /48: every name below it exists (no host rows).
        wild = rel(f"{nibbles(WILDCARD6)}.ip6.arpa", REV6)
        zone.append((f"*.{wild}", "PTR", WILDCARD_PTR))
        self.nodes.append(((6, int(WILDCARD6.network_address)), str(WILDCARD6), "wildcard",
                           f"*.{wild}.{REV6}. PTR {WILDCARD_PTR} (any name below "
                           f"answers it; the node itself is an empty non-terminal)"))

        # A lame delegation: NS and glue in the parent, the child zone loaded nowhere.
        lame = rel(f"{nibbles(LAME6)}.ip6.arpa", REV6)
        zone.append((lame, "NS", f"ns1.{lame}.{REV6}."))
        zone.append((f"ns1.{lame}", "A", LAME_GLUE))
        self.nodes.append(((6, int(LAME6.network_address)), str(LAME6), "lame",
                           f"NS ns1.{lame}.{REV6}. glue A {LAME_GLUE} (nothing listens); "
                           f"zone loaded nowhere: testdns and Knot refer (AA=0 NS in "
                           f"authority) and Unbound answers SERVFAIL"))

    def build(self):
        for z in ["isp.test"] + CUSTOMERS:
            self.zone(z, f"fwd-{z}.zone")
        self.add_forward("ns1.isp.test", "A", "192.0.2.53")
        self.build4()
        self.build6()
        self.truth.sort(key=lambda r: (ipaddress.ip_address(r["ip"]).version,
                                       ipaddress.ip_address(r["ip"])))
        self.nodes.sort()

    # ---- statistics -------------------------------------------------------------------
    def existing_v6(self):
        """Prefix length -> how many names of the ip6.arpa tree below 2001:db8::/32 exist
        (owners and their ancestors, empty non-terminals included; the wildcard's
        synthesized names and the lame child's contents not counted)."""
        names = set()
        for origin, records in self.zones.items():
            if not (origin == REV6 or origin.endswith("." + REV6)):
                continue
            for owner, _, _ in records:
                full = f"{owner}.{origin}" if owner != "@" else origin
                labels = rel(full, REV6).split(".") if full != REV6 else []
                # Only nibble labels are nodes of the tree: skip "*" and the glue's "ns1".
                while labels and not (len(labels[0]) == 1 and labels[0] in "0123456789abcdef"):
                    labels = labels[1:]
                for k in range(len(labels) + 1):
                    names.add(tuple(labels[len(labels) - k:]))
        per_len = {}
        for n in names:
            plen = 32 + 4 * len(n)
            per_len[plen] = per_len.get(plen, 0) + 1
        return per_len

    def stats(self):
        lines = [f"# generated by {GENERATOR}; do not edit"]
        v4 = [r for r in self.truth if ipaddress.ip_address(r["ip"]).version == 4]
        v6 = [r for r in self.truth if ipaddress.ip_address(r["ip"]).version == 6]
        n24 = len(NETS4)
        lines.append(f"ipv4 hosts with PTR: {len(v4)} (every other address of {PREFIX4} "
                     f"is no-ptr, ptr-nxdomain)")
        lines.append(f"ipv4 /24 nodes that exist: {n24} of 256 "
                     f"({', '.join(f'198.19.{t}.0/24' for t, _ in NETS4)})")
        lines.append(f"ipv4 fewest queries of a walk of {PREFIX4}: 1 + 256 + 256 * {n24} = "
                     f"{1 + 256 + 256 * n24}")
        per_len = self.existing_v6()
        lines.append(f"ipv6 hosts with PTR: {len(v6)} (plus every name below "
                     f"{WILDCARD6}, wildcard)")
        for plen in sorted(per_len):
            lines.append(f"ipv6 names that exist at /{plen}: {per_len[plen]}")
        internal = sum(v for k, v in per_len.items() if k < 128)
        stops = 2  # the wildcard and the lame node: the walk does not descend into them
        descended = internal - stops
        lines.append(f"ipv6 non-empty nodes /32../124: {internal} (the wildcard {WILDCARD6} "
                     f"and the lame {LAME6} among them)")
        lines.append(f"ipv6 least queries of a full walk if it descended every non-empty "
                     f"node: 16 * {internal} + 1 = {16 * internal + 1}")
        lines.append(f"ipv6 least queries of a walk that stops at the wildcard and the lame "
                     f"node: 16 * {descended} + 1 = {16 * descended + 1} (plus its wildcard "
                     f"probes)")
        return lines

    # ---- output -----------------------------------------------------------------------
    def write(self, out):
        zdir = os.path.join(out, "zones")
        os.makedirs(zdir, exist_ok=True)
        manifest = [f"# origin file (generated by {GENERATOR}; do not edit)"]
        for origin in sorted(self.zones):
            fname = self.files[origin]
            manifest.append(f"{origin}. zones/{fname}")
            lines = [f"; generated by {GENERATOR}", f"$ORIGIN {origin}.", f"$TTL {TTL}",
                     SOA, NS]
            seen = set()
            for rec in self.zones[origin]:
                if rec in seen:
                    continue
                seen.add(rec)
                lines.append(" ".join(rec))
            with open(os.path.join(zdir, fname), "w", newline="\n") as f:
                f.write("\n".join(lines) + "\n")
        with open(os.path.join(out, "zones.txt"), "w", newline="\n") as f:
            f.write("\n".join(manifest) + "\n")
        with open(os.path.join(out, "truth.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["ip", "category", "ptr_names", "ptr", "forward_addrs", "fcrdns",
                        "fcrdns_reason", "generic", "cname_chain", "flags"])
            for r in self.truth:
                w.writerow([r["ip"], r["category"], ";".join(r["ptr_names"]), r["ptr"],
                            ";".join(r["forward"]), r["fcrdns"], r["reason"],
                            r["generic"], r["cname_chain"], r["flags"]])
        with open(os.path.join(out, "nodes.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["prefix", "kind", "zone_note"])
            for _, prefix, kind, note in self.nodes:
                assert "," not in note, note
                w.writerow([prefix, kind, note])
        with open(os.path.join(out, "stats.txt"), "w", newline="\n") as f:
            f.write("\n".join(self.stats()) + "\n")


def generate(seed, out):
    walk = Walk(seed)
    walk.build()
    if os.path.isdir(out):
        shutil.rmtree(out)
    walk.write(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=20261127)
    p.add_argument("--out", default=None)
    p.add_argument("--check", action="store_true",
                   help="regenerate the committed fixtures/walk and fail if they differ")
    args = p.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    committed = os.path.join(root, "fixtures", "walk")
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(args.seed, os.path.join(tmp, "walk"))
            if not os.path.isdir(committed) or not same_tree(committed,
                                                            os.path.join(tmp, "walk")):
                sys.exit("gen_walk_fixtures: fixtures/walk differs from what the generator "
                         "produces; rerun scripts/gen_walk_fixtures.py and commit")
        print("gen_walk_fixtures: fixtures/walk is up to date")
        return
    generate(args.seed, args.out or committed)


if __name__ == "__main__":
    main()
