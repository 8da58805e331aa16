#!/usr/bin/env python3
"""Generate a synthetic provider network: reverse and forward zones plus ground truth.

    scripts/gen_fixtures.py [--seed N] [--prefix 198.18.0.0/20] [--out fixtures/net]
    scripts/gen_fixtures.py --check            # regenerate the committed /20, compare

Everything is derived from the seed, so the same arguments give byte-identical files.
Only documentation/benchmark space is used: IPv4 in 198.18.0.0/15 (scanned) and
192.0.2.0/24 (forward records pointing "elsewhere"), IPv6 in 2001:db8::/32, names under
.test.

Output (in --out):
  zones.txt      manifest, one "ORIGIN FILE" per line (read by ptraudit-testdns and by
                 the scripts that configure Knot and Unbound)
  zones/*.zone   RFC 1035 zone files
  truth.csv      one row per address (every address of the prefix, plus the IPv6 hosts):
                 what an FCrDNS audit must find there
"""

import argparse
import csv
import filecmp
import io
import ipaddress
import os
import random
import shutil
import sys
import tempfile

TTL = 3600
SOA = "@ IN SOA ns1.isp.test. hostmaster.isp.test. ( 2026112601 3600 600 86400 300 )"
NS = "@ IN NS ns1.isp.test."

CUSTOMERS = [
    "example-shop.test", "acme-mail.test", "northwind.test", "contoso-hosting.test",
    "fabrikam.test", "tailspin.test", "wingtip.test", "adatum.test",
]
ROLES = ["mail", "mx", "smtp", "smtp-out", "relay", "web", "www", "ns", "vpn", "gw",
         "shop", "app", "db", "backup", "office", "mta", "mailout", "crm"]

# (weight, category). See the README's fixtures section for what each one tests.
CATEGORIES = [
    (42, "generic-pass"),
    (11, "generic-no-forward"),
    (3, "generic-mismatch"),
    (15, "no-ptr"),
    (12, "custom-pass"),
    (4, "custom-mismatch"),
    (3, "aaaa-only"),
    (4, "multi-ptr"),
    (2, "ptr-to-cname"),
    (1, "shared-name"),
]


def generic_name(ip: ipaddress.IPv4Address, style: str) -> str:
    a, b, c, d = ip.packed
    return {
        "dashed": f"{a}-{b}-{c}-{d}.dyn.isp.test",
        "ip-dashed": f"ip-{a}-{b}-{c}-{d}.pool.isp.test",
        "host-dashed": f"host-{a}-{b}-{c}-{d}.cust.isp.test",
        "reversed-dashed": f"dyn-{d}-{c}-{b}-{a}.adsl.isp.test",
        "reversed-dotted": f"{d}.{c}.{b}.{a}.broadband.isp.test",
        "arpa-in-name": f"{d}.{c}.{b}.{a}.in-addr.arpa.isp.test",
        "hex": f"{a:02x}{b:02x}{c:02x}{d:02x}.cpe.isp.test",
        "static": f"static-{a}-{b}-{c}-{d}.biz.isp.test",
        "pool": f"pool-{a}-{b}-{c}-{d}.dsl.isp.test",
        "comcast": f"c-{a}-{b}-{c}-{d}.hsd1.isp.test",
        "padded": f"{a:03d}{b:03d}{c:03d}{d:03d}.ppp.isp.test",
        "partial-cust": f"cust{c}-{d}.fiber.isp.test",
    }[style]


STYLES = ["dashed", "ip-dashed", "host-dashed", "reversed-dashed", "reversed-dotted",
          "arpa-in-name", "hex", "static", "pool", "comcast", "padded", "partial-cust"]


class Net:
    def __init__(self, seed: int, prefix: ipaddress.IPv4Network):
        self.rng = random.Random(seed)
        self.prefix = prefix
        # zone origin -> list of (owner relative or absolute, type, rdata)
        self.zones = {}
        self.files = {}
        self.truth = []
        self.used_names = set()
        self.role_counter = {}

    # ---- zone helpers -------------------------------------------------------------
    def zone(self, origin: str, filename: str):
        if origin not in self.zones:
            self.zones[origin] = []
            self.files[origin] = filename
        return self.zones[origin]

    def forward_zone_of(self, name: str) -> str:
        for z in ["isp.test"] + CUSTOMERS:
            if name == z or name.endswith("." + z):
                return z
        raise ValueError(name)

    def add_forward(self, name: str, rtype: str, value: str):
        z = self.forward_zone_of(name)
        owner = name[: -(len(z) + 1)] if name != z else "@"
        self.zone(z, f"fwd-{z}.zone").append((owner, rtype, value))

    def reverse_zone_of(self, ip):
        a, b, c, d = ip.packed
        return f"{c}.{b}.{a}.in-addr.arpa"

    def custom_name(self, customer: str) -> str:
        while True:
            role = self.rng.choice(ROLES)
            n = self.role_counter.get((role, customer), 0) + 1
            self.role_counter[(role, customer)] = n
            # The first of a role is bare ("mail"), later ones numbered ("mail2",
            # "smtp02", "mx3") as operators do.
            if n == 1:
                label = role
            elif self.rng.random() < 0.3:
                label = f"{role}{n:02d}"
            else:
                label = f"{role}{n}"
            name = f"{label}.{customer}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def elsewhere(self) -> str:
        return f"192.0.2.{self.rng.randrange(1, 255)}"

    # ---- generation -----------------------------------------------------------------
    def build(self):
        for z in ["isp.test"] + CUSTOMERS:
            self.zone(z, f"fwd-{z}.zone")
        self.add_forward("ns1.isp.test", "A", "192.0.2.53")
        all_addrs = [self.prefix.network_address + i for i in range(self.prefix.num_addresses)]
        # RFC 2317 delegations: in the 6th /24 a /26 written with '/', in the 10th a /27
        # written as a range with '-'.
        slash24s = sorted({self.reverse_zone_of(ip) for ip in all_addrs},
                          key=lambda z: list(reversed([int(x) for x in z.split(".")[:3]])))
        delegations = {}
        if len(slash24s) > 5:
            delegations[slash24s[5]] = (64, 26, "64/26")
        if len(slash24s) > 9:
            delegations[slash24s[9]] = (128, 27, "128-159")
        for z in slash24s:
            self.zone(z, f"rev-{z}.zone")
        for z, (start, plen, label) in delegations.items():
            child = f"{label}.{z}"
            self.zone(child, f"rev-{child.replace('/', '-')}.zone")
            self.zones[z].append((label, "NS", "ns1.isp.test."))

        shared_left = 0
        shared_name = None
        weights = [w for w, _ in CATEGORIES]
        cats = [c for _, c in CATEGORIES]
        for ip in all_addrs:
            rz = self.reverse_zone_of(ip)
            d = ip.packed[3]
            rev_owner = str(d)
            in_child = None
            if rz in delegations:
                start, plen, label = delegations[rz]
                if start <= d < start + (1 << (32 - plen)):
                    in_child = f"{label}.{rz}"
            # Network and broadcast-looking addresses of each /24 stay empty.
            if d in (0, 255):
                cat = "no-ptr"
            elif shared_left > 0:
                cat = "shared-name"
            else:
                cat = self.rng.choices(cats, weights)[0]
            row = {"ip": str(ip), "category": cat, "ptr_names": [], "forward": [],
                   "fcrdns": "", "reason": "", "ptr": "", "generic": "",
                   "cname_chain": "", "flags": ""}

            ptrs = []  # (name, generic)
            if cat == "generic-pass":
                name = generic_name(ip, self.rng.choice(STYLES))
                self.add_forward(name, "A", str(ip))
                ptrs.append((name, True))
            elif cat == "generic-no-forward":
                name = generic_name(ip, self.rng.choice(STYLES))
                ptrs.append((name, True))
            elif cat == "generic-mismatch":
                name = generic_name(ip, self.rng.choice(STYLES))
                # A stale forward record: points at a neighbour.
                other = ipaddress.IPv4Address(int(ip) ^ 1)
                self.add_forward(name, "A", str(other))
                ptrs.append((name, True))
            elif cat == "custom-pass":
                name = self.custom_name(self.rng.choice(CUSTOMERS))
                self.add_forward(name, "A", str(ip))
                ptrs.append((name, False))
            elif cat == "custom-mismatch":
                name = self.custom_name(self.rng.choice(CUSTOMERS))
                self.add_forward(name, "A", self.elsewhere())
                ptrs.append((name, False))
            elif cat == "aaaa-only":
                name = self.custom_name(self.rng.choice(CUSTOMERS))
                self.add_forward(name, "AAAA", f"2001:db8:ff::{int(ip) & 0xffff:x}")
                ptrs.append((name, False))
            elif cat == "multi-ptr":
                # A generic name left behind plus the custom name that passes.
                g = generic_name(ip, self.rng.choice(STYLES))
                name = self.custom_name(self.rng.choice(CUSTOMERS))
                self.add_forward(name, "A", str(ip))
                ptrs.append((g, True))
                ptrs.append((name, False))
                # The stale name has no A: a mail server that gets it first calls the
                # address unknown.
                row["flags"] = "multi-ptr-unconfirmed"
            elif cat == "ptr-to-cname":
                cust = self.rng.choice(CUSTOMERS)
                alias = self.custom_name(cust)
                target = self.custom_name(cust)
                self.add_forward(alias, "CNAME", target + ".")
                self.add_forward(target, "A", str(ip))
                ptrs.append((alias, False))
                row["flags"] = "ptr-target-cname"
            elif cat == "shared-name":
                if shared_left == 0:
                    shared_name = self.custom_name(self.rng.choice(CUSTOMERS))
                    shared_left = self.rng.randrange(3, 8)
                    self.add_forward(shared_name, "A", str(ip))
                shared_left -= 1
                ptrs.append((shared_name, False))

            # Where the PTR lives: the /24 zone, or behind a CNAME in the child zone.
            if in_child is not None:
                target = f"{d}.{in_child}"
                self.zones[rz].append((rev_owner, "CNAME", target + "."))
                row["cname_chain"] = target
                for name, _ in ptrs:
                    self.zones[in_child].append((str(d), "PTR", name + "."))
            else:
                for name, _ in ptrs:
                    self.zones[rz].append((rev_owner, "PTR", name + "."))

            self.fill_verdict(row, ip, ptrs)
            self.truth.append(row)
        self.build_v6()

    def fill_verdict(self, row, ip, ptrs):
        if not ptrs:
            row["fcrdns"] = "no-ptr"
            row["reason"] = "ptr-nxdomain"
            return
        row["ptr_names"] = [n for n, _ in ptrs]
        fwd = []
        reasons = []
        confirmed = None
        for name, generic in ptrs:
            addrs = self.forward_addrs(name, 4 if ip.version == 4 else 6)
            fwd.extend(addrs)
            if str(ip) in addrs:
                confirmed = confirmed or name
            elif addrs:
                reasons.append("forward-mismatch")
            elif self.name_exists(name):
                reasons.append("forward-nodata")
            else:
                reasons.append("forward-nxdomain")
        row["forward"] = sorted(set(fwd), key=lambda a: ipaddress.ip_address(a))
        if confirmed:
            row["fcrdns"] = "pass"
            row["ptr"] = confirmed
        else:
            row["fcrdns"] = "fail"
            row["ptr"] = ptrs[0][0]
            for r in ("forward-mismatch", "forward-nodata", "forward-nxdomain"):
                if r in reasons:
                    row["reason"] = r
                    break
        row["generic"] = "true" if dict(ptrs)[row["ptr"]] else "false"

    def records_at(self, name):
        z = self.forward_zone_of(name)
        owner = name[: -(len(z) + 1)] if name != z else "@"
        return [(t, v) for o, t, v in self.zones[z] if o == owner]

    def forward_addrs(self, name, version, depth=0):
        out = []
        for t, v in self.records_at(name):
            if t == ("A" if version == 4 else "AAAA"):
                out.append(v)
            elif t == "CNAME" and depth < 8:
                out.extend(self.forward_addrs(v.rstrip("."), version, depth + 1))
        return out

    def name_exists(self, name):
        return bool(self.records_at(name))

    def build_v6(self):
        """A sparse ip6.arpa zone for 2001:db8::/32 with a few hosts in three /64s."""
        origin = "8.b.d.0.1.0.0.2.ip6.arpa"
        zone = self.zone(origin, f"rev-{origin}.zone")
        hosts = []
        for subnet in (1, 2, 0x20):
            for _ in range(8):
                iid = self.rng.choice([self.rng.randrange(1, 0x100),
                                       self.rng.randrange(1, 1 << 64)])
                hosts.append(ipaddress.IPv6Address((0x20010db8 << 96) | (subnet << 64) | iid))
        hosts = sorted(set(hosts))
        for ip in hosts:
            kind = self.rng.choice(["custom-pass", "generic-pass", "generic-no-forward",
                                    "custom-mismatch", "no-ptr"])
            row = {"ip": str(ip), "category": kind, "ptr_names": [], "forward": [],
                   "fcrdns": "", "reason": "", "ptr": "", "generic": "",
                   "cname_chain": "", "flags": ""}
            nibbles = ip.reverse_pointer[: -len("." + origin)]
            ptrs = []
            if kind == "custom-pass":
                name = self.custom_name(self.rng.choice(CUSTOMERS))
                self.add_forward(name, "AAAA", str(ip))
                ptrs.append((name, False))
            elif kind in ("generic-pass", "generic-no-forward"):
                dashed = str(ip).replace(":", "-")
                if dashed.endswith("-"):
                    dashed += "0"
                if dashed.startswith("-"):
                    dashed = "0" + dashed
                name = f"{dashed}.v6.isp.test"
                if kind == "generic-pass":
                    self.add_forward(name, "AAAA", str(ip))
                ptrs.append((name, True))
            elif kind == "custom-mismatch":
                name = self.custom_name(self.rng.choice(CUSTOMERS))
                self.add_forward(name, "AAAA", "2001:db8:ffff::1")
                ptrs.append((name, False))
            for name, _ in ptrs:
                zone.append((nibbles, "PTR", name + "."))
            self.fill_verdict(row, ip, ptrs)
            self.truth.append(row)

    # ---- output ---------------------------------------------------------------------
    def write(self, out):
        zdir = os.path.join(out, "zones")
        os.makedirs(zdir, exist_ok=True)
        manifest = ["# origin file (generated by scripts/gen_fixtures.py; do not edit)"]
        for origin in sorted(self.zones):
            fname = self.files[origin]
            manifest.append(f"{origin}. zones/{fname}")
            lines = [f"; generated by scripts/gen_fixtures.py", f"$ORIGIN {origin}.",
                     f"$TTL {TTL}", SOA, NS]
            seen = set()
            for owner, rtype, value in self.zones[origin]:
                rec = (owner, rtype, value)
                if rec in seen:
                    continue
                seen.add(rec)
                lines.append(f"{owner} {rtype} {value}")
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


def generate(seed, prefix, out):
    net = Net(seed, ipaddress.IPv4Network(prefix))
    if not net.prefix.subnet_of(ipaddress.IPv4Network("198.18.0.0/15")):
        sys.exit(f"gen_fixtures: {prefix} is outside 198.18.0.0/15 (benchmark space)")
    net.build()
    if os.path.isdir(out):
        shutil.rmtree(out)
    net.write(out)


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    return all(same_tree(os.path.join(a, d), os.path.join(b, d)) for d in cmp.common_dirs)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--prefix", default="198.18.0.0/20")
    p.add_argument("--out", default=None)
    p.add_argument("--check", action="store_true",
                   help="regenerate the committed fixtures/net and fail if they differ")
    args = p.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    committed = os.path.join(root, "fixtures", "net")
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(args.seed, args.prefix, os.path.join(tmp, "net"))
            if not same_tree(committed, os.path.join(tmp, "net")):
                sys.exit("gen_fixtures: fixtures/net differs from what the generator "
                         "produces; rerun scripts/gen_fixtures.py and commit")
        print("gen_fixtures: fixtures/net is up to date")
        return
    generate(args.seed, args.prefix, args.out or committed)


if __name__ == "__main__":
    main()
