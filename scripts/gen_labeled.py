#!/usr/bin/env python3
"""Build the classifier's labelled evaluation set, fixtures/classify/labeled.tsv.

    scripts/gen_labeled.py            # write fixtures/classify/labeled.tsv
    scripts/gen_labeled.py --check    # regenerate, compare with the committed file

Columns: ip, hostname, label (generic|custom), source. `source` is a key into
fixtures/classify/SOURCES.md, which says where each naming convention is documented.

Two kinds of rows:
- verbatim: example names quoted in public documents (SpamAssassin's 20_dynrdns.cf rule
  comments, a NANOG thread on router naming), with the address the document gives;
- instances of a documented convention: the convention's template filled with addresses
  from documentation and benchmarking space (192.0.2.0/24, 198.51.100.0/24,
  203.0.113.0/24, 198.18.0.0/15, 2001:db8::/32). No name here was looked up in the DNS.

Seeded: the same script writes the same bytes.
"""

import argparse
import ipaddress
import os
import random
import sys

OUT = os.path.normpath(
    os.path.join(os.path.dirname(__file__), "..", "fixtures", "classify", "labeled.tsv"))
SEED = 20261126
PER_TEMPLATE = 5

# ---------------------------------------------------------------------------------------
# Verbatim examples. (name, address or "", source)

SA_GENERIC = [
    ("dhcp024-210-034-053.columbus.rr.com", "24.210.34.53"),
    ("c-66-176-16-108.se.client2.attbi.com", "66.176.16.108"),
    ("c-67-168-174-61.client.comcast.net", "67.168.174.61"),
    ("vaise-1-82-67-44-166.fbx.proxad.net", "82.67.44.166"),
    ("lns-vlq-11-62-147-186-141.adsl.proxad.net", "62.147.186.141"),
    ("dsl-200-95-109-107.prod-infinitum.com.mx", "200.95.109.107"),
    ("port-212-202-77-203.reverse.qsc.de", "212.202.77.203"),
    ("pool-151-203-32-68.bos.east.verizon.net", "151.203.32.68"),
    ("c-67-164-133-216.client.comcast.net", "67.164.133.216"),
    ("200-171-228-6.customer.telesp.net.br", "200.171.228.6"),
    ("modemcable090.28-201-24.mc.videotron.ca", "24.201.28.90"),
    ("80-218-47-160.dclient.hispeed.ch", "80.218.47.160"),
    ("cdm-68-226-239-16.laft.cox-internet.com", "68.226.239.16"),
    ("d53-64-35-171.nap.wideopenwest.com", "64.53.171.35"),
    ("74.67-201-80.adsl.skynet.be", "80.201.67.74"),
    ("12-218-225-223.client.mchsi.com", "12.218.225.223"),
    ("pptp-81-30-186-139.ufanet.ru", "81.30.186.139"),
    ("catv-506237d8.miskcatv.broadband.hu", "80.98.55.216"),
    ("h0002a5d76857.ne.client2.attbi.com", "65.96.12.59"),
    ("CPE00e0184f0eba-CM014490118324.cpe.net.cable.rogers.com", "24.43.109.140"),
    ("ca-morpark-cuda1-zone7-b-159.vnnyca.adelphia.net", "67.23.129.159"),
    ("tn-greenvillecuda1cable7a-36.atlaga.adelphia.net", "68.171.113.36"),
    ("ky-richmond2a-123.rhmdky.adelphia.net", "68.71.36.123"),
    ("fl-edel-u2-c3c-233.pbc.adelphia.net", "68.64.89.233"),
    ("pD9E4F89F.dip.t-dialin.net", "217.228.248.159"),
    ("YahooBB219173000034.bbtec.net", "219.173.0.34"),
    ("ool-18be1aaf.dyn.optonline.net", "24.190.26.175"),
    ("wiley-170-10231.roadrunner.nf.net", "205.251.210.249"),
    ("pcp04024417pcs.toresd01.pa.comcast.net", "68.86.206.126"),
    ("bgp542174bgs.ewndsr01.nj.comcast.net", "68.38.144.91"),
    ("h234n2fls32o895.telia.com", "217.208.73.234"),
    ("CM-vina5-168-207.cm.vtr.net", "200.104.168.207"),
    ("CM-anto1-98-153.cm.vtr.net", "200.104.98.153"),
    ("fia83-8.dsl.hccnet.nl", "62.251.8.83"),
    ("fia160-115-100.dsl.hccnet.nl", "80.100.115.160"),
    ("0xd5aaf40b.dhcp.kabelnettet.dk", "213.170.244.11"),
    ("0x50a46949.virnxx11.adsl-dhcp.tele.dk", "80.164.105.73"),
    ("118.Red-80-35-201.pooles.rima-tde.net", "80.35.201.118"),
    ("node-c-8b22.a2000.nl", ""),
    ("cm89.omega139.maxonline.com.sg", ""),
    ("cm114.gamma208.maxonline.com.sg", ""),
    ("ec9z5l.cm.chello.no", ""),
    ("g225174.upc-g.chello.nl", ""),
    ("a151145.upc-a.chello.nl", ""),
    ("MG001182.user.veloxzone.com.br", ""),
    ("ba199058073.user.veloxzone.com.br", ""),
    ("public4-seve6-5-cust173.lond.broadband.ntl.com", ""),
    ("spr1-bolt5-5-0-cust9.manc.broadband.ntl.com", ""),
    ("cp160000-a.mill1.nb.home.nl", ""),
    ("nwblwi-nrp3-l10-a671.nwblwi.tds.net", ""),
    ("sp1-c700-131.spacelan.ne.jp", ""),
    ("dsl.dynamic8510023760.ttnet.net.tr", ""),
    ("c221106.ppp.asahi-net.or.jp", ""),
    ("i253064.ppp.asahi-net.or.jp", ""),
    ("h53n2fls32o828.telia.com", ""),
]

NANOG_CUSTOM = [
    "0.so-5-1-0.TL2.DCA6.ALTER.NET",
    "pos1-0-622M.cr1.SFO1.gblx.net",
    "p16-7-0-0.r02.stngva01.us.bb.verio.net",
    "sl-bb22-rly-3-0.sprintlink.net",
    "ge5-1.mpr1.iad5.us.mfnx.net",
    "bbr01-p4-0.nycm01.exodus.net",
    "ges1-ge-1-1.Restonrst.cw.net",
    "so-2-0-0.mp2.Denver1.Level3.net",
    "gbr3-p40.sl9mo.ip.att.net",
]

# ---------------------------------------------------------------------------------------
# Conventions: (template, source). Fields: {a}..{d} octets, {A}..{D} zero-padded octets,
# {hex}/{HEX} the address in hex, {dec} as one decimal number, {v6dash} {v6full}
# {v6nib} {v6groups} IPv6 forms, {n}.. numbers, {org} {city} ... words (see fill()).

GENERIC = [
    # Clouds and hosters.
    ("ec2-{a}-{b}-{c}-{d}.compute-1.amazonaws.com", "aws"),
    ("ec2-{a}-{b}-{c}-{d}.{awsregion}.compute.amazonaws.com", "aws"),
    ("{d}.{c}.{b}.{a}.bc.googleusercontent.com", "gcp"),
    ("{a}-{b}-{c}-{d}.ip.linodeusercontent.com", "linode"),
    ("li{n3}-{d}.members.linode.com", "linode"),
    ("static.{d}.{c}.{b}.{a}.clients.your-server.de", "hetzner"),
    ("static.{a}-{b}-{c}-{d}.clients.your-server.de", "hetzner"),
    ("ns{n7}.ip-{a}-{b}-{c}.eu", "ovh"),
    ("ip{d}.ip-{a}-{b}-{c}.eu", "ovh"),
    ("vps-{hex8r}.vps.ovh.net", "ovh"),
    ("{a}.{b}.{c}.{d}.vultrusercontent.com", "vultr"),
    ("vmi{n7}.contaboserver.net", "contabo"),
    ("a{a}-{b}-{c}-{d}.deploy.static.akamaitechnologies.com", "akamai"),
    ("ip-{a}-{b}-{c}-{d}.ip.secureserver.net", "godaddy"),
    ("{a}-{b}-{c}-{d}.rev.poneytelecom.eu", "scaleway"),
    ("srv{n6}.hstgr.cloud", "hostinger"),
    ("s{n8}.onlinehome-server.info", "ionos"),
    # The generic-naming draft's own scheme.
    ("{a}-{b}-{c}-{d}.dynamic.{isp}", "msullivan"),
    ("{a}-{b}-{c}-{d}.static.{isp}", "msullivan"),
    ("{a}-{b}-{c}-{d}.dsl.{isp}", "msullivan"),
    ("{a}-{b}-{c}-{d}.cable.{isp}", "msullivan"),
    ("{a}-{b}-{c}-{d}.dial.{isp}", "msullivan"),
    ("{a}-{b}-{c}-{d}.wireless.{isp}", "msullivan"),
    ("{a}-{b}-{c}-{d}.res.{isp}", "msullivan"),
    ("{v6dash}.dynamic.{isp}", "msullivan"),
    # Placeholders for unassigned addresses.
    ("{placeholder}.{isp}", "msullivan"),
    # Access ISPs (the families SpamAssassin's RDNS_DYNAMIC examples come from).
    ("c-{a}-{b}-{c}-{d}.hsd1.{st}.comcast.net", "isp-us"),
    ("pool-{a}-{b}-{c}-{d}.{clli}.fios.verizon.net", "isp-us"),
    ("cpe-{a}-{b}-{c}-{d}.{rrregion}.res.rr.com", "isp-us"),
    ("syn-{A}-{B}-{C}-{D}.res.spectrum.com", "isp-us"),
    ("ip{a}-{b}-{c}-{d}.{st}.{st}.cox.net", "isp-us"),
    ("{a}-{b}-{c}-{d}.lightspeed.{clli}.sbcglobal.net", "isp-us"),
    ("adsl-{a}-{b}-{c}-{d}.dsl.{clli}.sbcglobal.net", "isp-us"),
    ("{a}-{b}-{c}-{d}.{qmetro}.qwest.net", "isp-us"),
    ("bras-base-{clli}{n4}w-grc-{n2}-{a}-{b}-{c}-{d}.dsl.bell.ca", "isp-ca"),
    ("modemcable{D}.{c}-{b}-{a}.mc.videotron.ca", "isp-ca"),
    ("dsl-{a}-{b}-{c}-{d}-dyn.prod-infinitum.com.mx", "isp-latam"),
    ("{a}-{b}-{c}-{d}.dsl.telesp.net.br", "isp-latam"),
    ("{a}-{b}-{c}-{d}.user.vivozap.com.br", "isp-latam"),
    ("{a}-{b}-{c}-{d}.fibertel.com.ar", "isp-latam"),
    ("pc-{d}-{c}-{b}-{a}.cm.vtr.net", "isp-latam"),
    ("{d}.red-{a}-{b}-{c}.dynamicip.rima-tde.net", "isp-eu"),
    ("{d}.red-{a}-{b}-{c}.staticip.rima-tde.net", "isp-eu"),
    ("p{HEX}.dip0.t-ipconnect.de", "isp-eu"),
    ("ip-{A}-{B}-{C}-{D}.um{n2}.pools.vodafone-ip.de", "isp-eu"),
    ("host{a}-{b}-{c}-{d}.range{a}-{b}.btcentralplus.com", "isp-eu"),
    ("{hex}.bb.sky.com", "isp-eu"),
    ("{town}{n2}-{n}-{a}-{b}-{c}-{d}.fbx.proxad.net", "isp-eu"),
    ("{d}.{c}.{b}.{a}.rev.sfr.net", "isp-eu"),
    ("host{d}-{c}-dynamic.{b}-{a}-r.retail.telecomitalia.it", "isp-eu"),
    ("{d}.{c}.{b}.{a}.dynamic.wline.res.cust.swisscom.ch", "isp-eu"),
    ("{a}-{b}-{c}-{d}.dynamic-ip.hispeed.ch", "isp-eu"),
    ("{hex}.cm-{n}-{n}c.dynamic.ziggo.nl", "isp-eu"),
    ("{a}-{b}-{c}-{d}.fixed.kpn.net", "isp-eu"),
    ("h-{a}-{b}-{c}-{d}.a{n3}.priv.bahnhof.se", "isp-eu"),
    ("apn-{a}-{b}-{c}-{d}.dynamic.gprs.plus.pl", "isp-eu"),
    ("{a}-{b}-{c}-{d}.dynamic.chello.pl", "isp-eu"),
    ("broadband-{a}-{b}-{c}-{d}.ip.moscow.rt.ru", "isp-eu"),
    ("ppp-{a}-{b}-{c}-{d}.pppoe.{town}.ru", "isp-eu"),
    ("{a}.{b}.{c}.{d}.dynamic.ttnet.com.tr", "isp-eu"),
    ("abts-north-dynamic-{d}.{c}.{b}.{a}.airtelbroadband.in", "isp-apac"),
    ("p{n7}-ipngn{n4}{jcity}.{jcity}.ocn.ne.jp", "isp-apac"),
    ("softbank{A}{B}{C}{D}.bbtec.net", "isp-apac"),
    ("KD{A}{B}{C}{D}.au-net.ne.jp", "isp-apac"),
    ("{d}.{c}.{b}.{a}.broad.{cnp}.{cnp}.dynamic.163data.com.cn", "isp-apac"),
    ("{a}-{b}-{c}-{d}.tpgi.com.au", "isp-apac"),
    ("ppp{a}-{b}-{c}-{d}.lns{n2}.{acity}{n}.internode.on.net", "isp-apac"),
    ("cpe-{a}-{b}-{c}-{d}.nb{n2}.{austate}.asp.telstra.net", "isp-apac"),
    ("{a}-{b}-{c}-{d}.dynamic.isadsl.co.za", "isp-africa"),
    # IPv6 forms.
    ("{v6dash}.dyn.{isp}", "isp-v6"),
    ("dynamic-{v6full}.pool.{isp}", "isp-v6"),
    ("{v6groups}.static.{isp}", "isp-v6"),
    ("{v6nib}.ip6.arpa.{isp}", "isp-v6"),
    # The address as a decimal number, and the in-addr.arpa name inside the host name.
    ("bas{n}-{town}{n2}-{dec}.dsl.bell.ca", "isp-ca"),
    ("{d}.{c}.{b}.{a}.in-addr.arpa.{isp}", "issue"),
]

CUSTOM = [
    # Mail servers: named for their role, digits or not (RFC 2606 example domains).
    ("mail.{org}", "role"),
    ("mail{n}.{org}", "role"),
    ("mx{n}.{org}", "role"),
    ("mx{n2}.mail.{org}", "role"),
    ("smtp.{org}", "role"),
    ("smtp{n2}.{org}", "role"),
    ("smtp-out{n}.{org}", "role"),
    ("mta{n}.{city}.{org}", "role"),
    ("relay{n}.{org}", "role"),
    ("outbound{n}.{org}", "role"),
    ("mailgw{n}.{org}", "role"),
    ("mail{year}.{org}", "role"),
    ("exchange.{org}", "role"),
    ("mail.{city}.{org}", "role"),
    ("MAIL{n}.{ORG}.", "role"),
    # The only number is the address's last octet, on a role word (the hard case).
    ("mail{d}.{org}", "issue"),
    ("mx{d}.{org}", "issue"),
    # Other hosts people named.
    ("ns{n}.{org}", "role"),
    ("www.{org}", "role"),
    ("vpn{n}.{org}", "role"),
    ("gw{n}.{org}", "role"),
    ("fw{n2}.{city}.{org}", "role"),
    ("web{n2}.{org}", "role"),
    ("db-{n}.prod.{org}", "named"),
    ("app{n2}-{city}.{org}", "named"),
    ("{word}.{org}", "named"),
    ("{word}{n}.{org}", "named"),
    ("{word}-{word2}.{org}", "named"),
    ("{word}.{dept}.{univ}", "named"),
    ("{word}{n2}.{dept}.{univ}", "named"),
    ("srv-{word}{n2}.{org}", "named"),
    ("{clli}{n2}.{org}", "issue"),
    ("{word}", "issue"),
    ("mail.xn--{puny}.{tld}", "issue"),
    ("xn--{puny}.{org}", "issue"),
    ("{longname}.{org}", "issue"),
    # Access words used for what they are: a DHCP server, an NTP pool, a lab.
    ("dhcp{n}.{dept}.{univ}", "named"),
    ("pool{n}.ntp.{org}", "named"),
    ("{kw}-lab.{org}", "named"),
    ("user{n2}.{dept}.{univ}", "named"),
    ("static.{org}", "named"),
    ("{role}.{kwdomain}", "haraka"),
    # A custom name in the access provider's own domain.
    ("mail.{cust}.{isp}", "issue"),
    ("{cust}-gw.static.{isp}", "issue"),
    ("smtp.{cust}.biz.{isp}", "issue"),
    # A name carrying a different host's address (copied, or numbered otherwise).
    ("host-{oa}-{ob}-{oc}-{od}.{org}", "issue"),
    # Router and interface names: digit-heavy, named by the operator.
    ("ae-{n}-{n4}.ear{n}.{City}{n}.Level3.net", "router"),
    ("be{n4}.ccr{n2}.{iata}{n2}.atlas.cogentco.com", "router"),
    ("ae-{n}.r{n2}.{clli}{n2}.{cc}.bb.gin.ntt.net", "router"),
    ("100ge{n}-{n}.core{n}.{iata}{n}.he.net", "router"),
    ("xe-{n}-{n}-{n2}-{n}.core{n}.{iata}{n}.he.net", "router"),
    ("ae{n2}.cs{n}.{iata}{n2}.{cc}.eth.zayo.com", "router"),
    ("{iata}-bb{n}-link.ip.twelve99.net", "router"),
    ("ae{n}.cr{n}-{iata}{n}.ip4.gtt.net", "router"),
    ("if-ae-{n}-{n}.tcore{n}.{iata}-{city}.as6453.net", "router"),
    ("et-{n}-{n}-{n}.{iata}{n2}-rtr{n}.{org}", "router"),
    ("irb-{n3}.rtr{n}.{iata}.{org}", "router"),
    ("vlan{n3}.sw{n}.{iata}.{org}", "router"),
    ("lo0.{iata}{n}-core.{org}", "router"),
    ("hu0-0-0-{n}.{iata}-core{n}.{org}", "router"),
    # Mail providers' outbound servers: generated, but named as mail servers.
    ("mail-{glab}{n}-f{n2}.google.com", "mailprov"),
    ("mail-{eur}{n}{eurz}{n2}on{n4}.outbound.protection.outlook.com", "mailprov"),
    ("a{n2}-{n2}.smtp-out.{awsregion}.amazonses.com", "mailprov"),
    ("sonic{n3}-{n2}.consmr.mail.{ydc}.yahoo.com", "mailprov"),
]

# Word lists for the fields.
ORGS = ["example.com", "example.net", "example.org", "example.co.uk", "example.de",
        "example.fr", "example.jp", "example.com.br", "example.nl", "example.se", "example.pl",
        "example.it", "example.es", "example.ch", "example.com.au", "example.ca", "example.in",
        "example.co.za", "example.ru", "example.cz", "acme.test", "contoso.test",
        "fabrikam.test", "northwind.test", "tailspin.test"]
ISPS = ["isp.net", "example-isp.com", "provider.test", "telco.example", "broadband.example",
        "kabel.example", "fibra.example", "net.example.jp"]
CITIES = ["fra", "ams", "lon", "par", "nyc", "sjc", "tokyo", "berlin", "oslo", "madrid",
          "sydney", "toronto", "saopaulo", "warsaw", "milan"]
WORDS = ["alpha", "phoenix", "zeus", "orion", "build", "intranet", "wiki", "files",
         "backup", "jenkins", "gitlab", "portal", "shop", "crm", "erp", "billing", "monitor",
         "grafana", "ldap", "radius", "proxy", "cache", "office", "printer", "lab", "nas",
         "storage", "archive", "helpdesk", "calendar"]
DEPTS = ["cs", "physics", "math", "chem", "lib", "admin", "med", "eng"]
UNIVS = ["univ-example.edu", "example.ac.uk", "example-uni.de", "example.edu.au"]
PLACEHOLDERS = ["unassigned", "unknown", "no-rdns", "not-assigned", "default-host",
                "unallocated"]
STATES = ["ca", "il", "ma", "tx", "fl", "wa", "ga", "nj", "pa", "co"]
CLLI = ["nycmny", "lsanca", "chcgil", "dllstx", "bstnma", "sttlwa", "atlnga", "phlapa",
        "snfcca", "washdc"]
RR = ["nyc", "socal", "austin", "carolina", "twcny", "kc", "columbus", "hawaii"]
QMETRO = ["hlrn", "mpls", "phnx", "slkc", "dnvr", "ptld", "sttl", "desm"]
TOWNS = ["lyon", "nice", "bordeaux", "lille", "rennes", "nantes", "tours", "brest"]
JCITY = ["tokyo", "osaka", "nagoya", "kyoto", "sapporo", "fukuoka"]
CNP = ["bj", "sh", "gd", "js", "zj", "sc"]
ACITY = ["syd", "mel", "adl", "per", "bne"]
AUSTATE = ["nsw", "vic", "qld", "sa", "wa"]
AWSREGION = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "eu-central-1"]
IATA = ["fra", "ams", "lhr", "cdg", "jfk", "iad", "sjc", "nrt", "sin", "gru", "mad", "waw"]
CC = ["de", "nl", "uk", "fr", "us", "jp", "sg", "br"]
CITYCAP = ["London", "Frankfurt", "Amsterdam", "Paris", "NewYork", "Chicago", "Dallas"]
CUSTS = ["acme", "contoso", "fabrikam", "northwind", "tailspin", "wingtip", "adatum"]
PUNY = ["bcher-kva", "mnchen-3ya", "zrich-kva", "80ak6aa92e", "caf-dma", "h1a3f"]
TLDS = ["example", "test", "example.de", "example.ch"]
GLAB = ["wr1", "wm1", "lf1", "ej1", "pl1", "qt1", "yb1", "io1"]
EUR = ["db", "am", "he", "vi", "fr", "pa", "zr", "ve"]
EURZ = ["eur", "apc", "nam", "gbr"]
YDC = ["ne1", "bf2", "gq1", "ir2"]
KW = ["dsl", "fiber", "wireless", "cable", "dialup", "broadband", "dynamic"]
ROLES = ["mail", "smtp", "www", "mx1", "vpn", "ns1"]
KWDOMAINS = ["generaldynamics.example", "poolside.example", "dynamo.test", "staticflow.test",
             "cabletech.example", "dslreports.example"]


def v4_addresses(rng):
    nets = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15"]
    while True:
        net = ipaddress.ip_network(rng.choice(nets))
        yield net[rng.randrange(1, net.num_addresses - 1)]


def v6_address(rng):
    # Some with runs of zero groups, so the compressed form has `::`.
    groups = [0x2001, 0xdb8] + [rng.choice([0, rng.randrange(1, 0x10000)]) for _ in range(6)]
    if rng.random() < 0.5:
        groups[3:6] = [0, 0, 0]
    return ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))


def fill(template, ip, rng, other):
    n = lambda digits: str(rng.randrange(10 ** (digits - 1), 10 ** digits))  # noqa: E731
    f = {
        "n": str(rng.randrange(1, 10)),
        "n2": f"{rng.randrange(1, 100):02d}",
        "n3": n(3), "n4": n(4), "n6": n(6), "n7": n(7), "n8": n(8),
        "year": str(rng.randrange(2005, 2027)),
        "org": rng.choice(ORGS), "ORG": rng.choice(ORGS).upper(), "isp": rng.choice(ISPS),
        "city": rng.choice(CITIES), "word": rng.choice(WORDS), "word2": rng.choice(WORDS),
        "dept": rng.choice(DEPTS), "univ": rng.choice(UNIVS),
        "placeholder": rng.choice(PLACEHOLDERS), "st": rng.choice(STATES),
        "clli": rng.choice(CLLI), "rrregion": rng.choice(RR), "qmetro": rng.choice(QMETRO),
        "town": rng.choice(TOWNS), "jcity": rng.choice(JCITY), "cnp": rng.choice(CNP),
        "acity": rng.choice(ACITY), "austate": rng.choice(AUSTATE),
        "awsregion": rng.choice(AWSREGION), "iata": rng.choice(IATA), "cc": rng.choice(CC),
        "City": rng.choice(CITYCAP), "cust": rng.choice(CUSTS), "puny": rng.choice(PUNY),
        "tld": rng.choice(TLDS), "glab": rng.choice(GLAB), "eur": rng.choice(EUR),
        "eurz": rng.choice(EURZ), "ydc": rng.choice(YDC), "kw": rng.choice(KW),
        "role": rng.choice(ROLES), "kwdomain": rng.choice(KWDOMAINS),
        "hex8r": f"{rng.randrange(16 ** 8):08x}",
        "longname": "-".join(rng.choice(WORDS) for _ in range(8)),
    }
    if ip.version == 4:
        a, b, c, d = ip.packed
        f.update(a=a, b=b, c=c, d=d, A=f"{a:03d}", B=f"{b:03d}", C=f"{c:03d}",
                 D=f"{d:03d}", hex=f"{int(ip):08x}", HEX=f"{int(ip):08X}", dec=str(int(ip)))
        oa, ob, oc, od = other.packed
        f.update(oa=oa, ob=ob, oc=oc, od=od)
    else:
        full = f"{int(ip):032x}"
        f.update(
            v6dash=str(ip).replace(":", "-"), v6full=full,
            v6nib=".".join(reversed(full)),
            v6groups="-".join(full[i:i + 4] for i in range(0, 32, 4)),
        )
    return template.format(**f)


def rows():
    rng = random.Random(SEED)
    addrs = v4_addresses(rng)
    out = []
    for name, ip in SA_GENERIC:
        out.append((ip, name, "generic", "sa-dynrdns"))
    for name in NANOG_CUSTOM:
        out.append(("", name, "custom", "nanog-2002"))
    for label, conventions in (("generic", GENERIC), ("custom", CUSTOM)):
        for template, source in conventions:
            seen = set()
            for _ in range(PER_TEMPLATE * 4):
                if len(seen) == PER_TEMPLATE:
                    break
                ip = v6_address(rng) if "{v6" in template else next(addrs)
                other = next(addrs)
                if other == ip:
                    continue
                name = fill(template, ip, rng, other)
                if name in seen:
                    continue
                seen.add(name)
                out.append((str(ip), name, label, source))
    return out


def render():
    lines = ["ip\thostname\tlabel\tsource"]
    lines += ["\t".join(r) for r in rows()]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed file")
    args = ap.parse_args()
    text = render()
    if args.check:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"{OUT} differs from what scripts/gen_labeled.py writes: regenerate it")
        print(f"{OUT}: up to date")
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    counts = {}
    for r in rows():
        counts[r[2]] = counts.get(r[2], 0) + 1
    print(f"wrote {OUT}: {counts}")


if __name__ == "__main__":
    main()
