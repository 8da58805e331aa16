//! Unit tests of the classifier: each family of signals over synthetic providers and
//! addresses, the names that must stay custom, and degenerate input.

use super::embedded::roman;
use super::serials::has_separated_mac;
use super::*;

fn v4(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

#[track_caller]
fn generic(ip: Option<IpAddr>, name: &str, code: &str) {
    let v = classify(ip, name);
    assert!(
        v.generic,
        "{name}: expected generic, got {v} {:?}",
        v.reasons
    );
    assert!(
        v.codes().any(|c| c == code),
        "{name}: no {code} in {:?}",
        v.reasons
    );
}

#[track_caller]
fn custom(ip: Option<IpAddr>, name: &str) {
    let v = classify(ip, name);
    assert!(
        !v.generic,
        "{name}: expected custom, got {v} {:?}",
        v.reasons
    );
}

#[test]
fn generic_styles_with_the_address() {
    let ip = v4("198.18.5.7");
    generic(ip, "198-18-5-7.dyn.isp.test", "ip-embedded:dashed");
    generic(ip, "ip-198-18-5-7.pool.isp.test", "ip-embedded:dashed");
    generic(ip, "host-198-18-5-7.cust.isp.test", "ip-embedded:dashed");
    generic(ip, "dyn-7-5-18-198.adsl.isp.test", "ip-embedded:reversed");
    generic(ip, "7.5.18.198.broadband.isp.test", "ip-embedded:reversed");
    generic(ip, "7.5.18.198.in-addr.arpa.isp.test", "arpa-in-name");
    generic(ip, "c6120507.cpe.isp.test", "ip-embedded:hex");
    generic(ip, "static-198-18-5-7.biz.isp.test", "ip-embedded:dashed");
    generic(ip, "c-198-18-5-7.hsd1.isp.test", "ip-embedded:dashed");
    generic(ip, "198018005007.ppp.isp.test", "ip-embedded:padded");
    generic(ip, "cust5-7.fiber.isp.test", "ip-partial");
    generic(
        v4("54.165.132.219"),
        "ec2-54-165-132-219.compute-1.amazonaws.com",
        "provider-default:aws-ec2",
    );
    generic(
        v4("203.0.113.123"),
        "123.113.0.203.in-addr.arpa.isp-customer.com",
        "arpa-in-name",
    );
    generic(
        ip,
        "7.red-198-18-5.dynamicip.isp.test",
        "ip-embedded:scrambled",
    );
    generic(ip, "n198-p18-x5-y7.isp.test", "ip-embedded:split");
    generic(ip, "d18-198-7-5.nap.isp.test", "ip-embedded:scrambled");
    generic(
        ip,
        "modemcable007.5-18-198.mc.isp.test",
        "ip-embedded:reversed",
    );
    generic(
        ip,
        "bas1-city09-3323069703.dsl.isp.test",
        "ip-embedded:padded",
    );
    generic(ip, "fia7-5.dsl.isp.test", "ip-partial");
    generic(ip, "h0002a5d76857.client2.isp.test", "hex-id");
    generic(ip, "pcp04024417pcs.city01.isp.test", "long-number");
    generic(ip, "ns6359867.ip-198-18-5.eu", "provider-default:ovh");
    let v = classify(ip, "ns6359867.ip-198-18-5.eu");
    assert!(!v.codes().any(|c| c.starts_with("service-label")), "{v:?}");
    let v = classify(ip, "host-198-18-5-8.example.test");
    assert!(!v.generic && v.codes().any(|c| c == "ip-other"), "{v:?}");
    let v = classify(ip, "198-18-5-7.dyn.isp.test");
    assert!(v.dynamic);
    assert!(!classify(ip, "static-198-18-5-7.biz.isp.test").dynamic);
}

/// Addresses the shape tests fill in: small and large octets, ones that need padding.
const ADDRS: [[u8; 4]; 5] = [
    [198, 18, 39, 173],
    [203, 0, 113, 45],
    [192, 0, 2, 201],
    [198, 51, 100, 17],
    [198, 19, 7, 88],
];
const DOMAINS: [&str; 4] = ["isp.test", "net.example", "kabel.example.de", "telco.test"];

/// Every address and domain through `shape(a, b, c, d, domain)`: generic, with a
/// reason code starting with `code` (`002-201` for 192.0.2.201 is the last three
/// octets, not only the last two).
#[track_caller]
fn shape_generic(code: &str, shape: impl Fn(u8, u8, u8, u8, &str) -> String) {
    for [a, b, c, d] in ADDRS {
        for dom in DOMAINS {
            let name = shape(a, b, c, d, dom);
            let v = classify(Some(IpAddr::from([a, b, c, d])), &name);
            assert!(
                v.generic && v.codes().any(|c| c.starts_with(code)),
                "{name}: expected generic with {code}, got {v} {:?}",
                v.reasons
            );
        }
    }
}

#[test]
fn last_two_octets_without_an_access_word() {
    // Separated, either order, next to letters.
    shape_generic("ip-partial", |_, _, c, d, dom| format!("ab-{c}-{d}.{dom}"));
    shape_generic("ip-partial", |_, _, c, d, dom| format!("{d}.x{c}.{dom}"));
    shape_generic("ip-partial", |_, _, c, d, dom| {
        format!("q{c}z{d}.city.{dom}")
    });
    shape_generic("ip-partial", |_, _, c, d, dom| format!("n{d}-{c}.{dom}"));
    // Zero-padded, and run together.
    shape_generic("ip-partial", |_, _, c, d, dom| {
        format!("{c:03}-{d:03}.{dom}")
    });
    shape_generic("ip-partial", |_, _, c, d, dom| {
        format!("u{c:03}{d:03}.{dom}")
    });
    // As hex pairs, either order (four hex digits that are all decimal digits are a
    // number, not hex: 198.51.100.17 is `6411`).
    for [a, b, c, d] in ADDRS {
        if !format!("{c:02x}{d:02x}")
            .bytes()
            .any(|x| x.is_ascii_alphabetic())
        {
            continue;
        }
        let ip = Some(IpAddr::from([a, b, c, d]));
        for dom in DOMAINS {
            generic(ip, &format!("x{c:02x}{d:02x}1.{dom}"), "ip-partial:pair");
            generic(ip, &format!("p{d:02x}{c:02x}.{dom}"), "ip-partial:pair");
        }
    }
    custom(v4("198.51.100.17"), "x6411.isp.test");
}

#[test]
fn last_octet_fused_to_a_word() {
    for [a, b, c, d] in ADDRS.into_iter().filter(|o| o[3] >= 10) {
        let ip = Some(IpAddr::from([a, b, c, d]));
        for dom in DOMAINS {
            generic(ip, &format!("wolke{d}.{dom}"), "ip-partial:last");
            generic(ip, &format!("gast-x-{d}.{dom}"), "ip-partial:last");
            generic(ip, &format!("pc{d:03}.lab.{dom}"), "ip-partial:last");
        }
    }
    // Zero-padded to three, a small last octet counts too.
    generic(v4("198.18.5.7"), "kunde007.isp.test", "ip-partial:last");
}

#[test]
fn octets_concatenated_or_inside_serials() {
    shape_generic("ip-embedded:grouped", |a, b, c, d, dom| {
        format!("{a:03}{b:03}{c:03}.{d}.{dom}")
    });
    shape_generic("ip-embedded:grouped", |a, b, c, d, dom| {
        format!("h{a}{b}{c}-{d}.{dom}")
    });
    shape_generic("ip-partial:host", |_, b, c, d, dom| {
        format!("z{b}{c}{d}.{dom}")
    });
    shape_generic("ip-partial:host", |_, b, c, d, dom| {
        format!("k{d:03}{c:03}{b:03}.{dom}")
    });
    shape_generic("ip-partial:host", |_, b, c, d, dom| {
        format!("id71{b:03}{c:03}{d:03}42.{dom}")
    });
    shape_generic("ip-partial:host", |_, b, c, d, dom| {
        format!("m{b:02x}{c:02x}{d:02x}.{dom}")
    });
    shape_generic("ip-partial:host", |_, b, c, d, dom| {
        format!("{d:02x}.{c:02x}.{b:02x}.hex.{dom}")
    });
}

#[test]
fn an_access_word_and_a_host_number() {
    for dom in DOMAINS {
        for n in ["17", "0423", "5310"] {
            generic(None, &format!("ppp{n}.{dom}"), "host-number");
            generic(None, &format!("dialup-{n}.city.{dom}"), "host-number");
            // Terminal-server and pool serials under an access subdomain.
            generic(None, &format!("ts{n}-118.dialup.{dom}"), "host-number");
            generic(None, &format!("a{n}.tnt3.city.{dom}"), "host-number");
            generic(None, &format!("m{n}.max12.site.{dom}"), "host-number");
        }
        // A named host with an access word and one digit is somebody's server.
        custom(None, &format!("dhcp2.cs.{dom}"));
        custom(None, &format!("pool1.ntp.{dom}"));
        custom(None, &format!("tnt.{dom}"));
    }
}

/// A MAC address written with separators, as cable and DSL provisioning writes a
/// modem's name, over several providers' framings; hex runs that are not one stay
/// custom.
#[test]
fn mac_address_with_separators() {
    let macs = ["00-04-bd-d2-e0-a3", "a4-2b-b0-01-9c-ff", "0004-bdd2-e0a3"];
    for (i, dom) in DOMAINS.iter().enumerate() {
        for mac in macs {
            for name in [
                format!("{mac}.{dom}"),
                format!("x{i}-6-{mac}.k31{i}.{dom}"),
                format!("modem.{mac}.pool{i}.{dom}"),
                format!("cust-{}.{dom}", mac.replace('-', ".")),
            ] {
                let ip = Some(IpAddr::from([198, 18, 40 + i as u8, 7]));
                generic(ip, &name, "mac-address");
                generic(None, &name, "mac-address");
            }
        }
        // Not a MAC: too few groups, a longer run around the groups, digits only, a
        // date and a version.
        for name in [
            format!("ab-cd-ef.{dom}"),
            format!("build-2024-01-15.{dom}"),
            format!("v1-2-3-4-5-6.{dom}"),
            format!("0a-1b-2c-3d-4e-5f0.{dom}"),
            format!("cafe-babe.{dom}"),
        ] {
            assert!(!has_separated_mac(&name), "{name}");
            custom(None, &name);
        }
        assert!(!has_separated_mac(&format!("10-20-30-40-50-60.{dom}")));
    }
}

/// The network part of the address in the registered domain and the host part in
/// the name (a provider that registers one domain per block).
#[test]
fn address_split_between_host_and_registered_domain() {
    for [a, b, c, d] in ADDRS {
        let ip = Some(IpAddr::from([a, b, c, d]));
        for name in [
            format!("{d}.ip-{a}-{b}-{c}.eu"),
            format!("h{d}.net-{a}-{b}-{c}.example"),
            format!("{d}.{c}.{b}.{a}.example"),
        ] {
            let v = classify(ip, &name);
            assert!(
                v.generic && v.codes().any(|c| c.starts_with("ip-embedded:")),
                "{name}: {:?}",
                v.reasons
            );
        }
        // Another host's address in the domain is not this one.
        let other = Some(IpAddr::from([a, b, c, d.wrapping_add(1)]));
        custom(other, &format!("www.ip-{a}-{b}-{c}.eu"));
    }
}

/// The leftmost label is the last octet alone, over several framings; a number that
/// is not the last octet, or a one-digit octet, stays custom.
#[test]
fn last_octet_alone_as_the_leftmost_label() {
    for [a, b, c, d] in ADDRS {
        let ip = Some(IpAddr::from([a, b, c, d]));
        for dom in DOMAINS {
            generic(ip, &format!("{d}.sta.{dom}"), "ip-partial:last");
            generic(ip, &format!("{d}.pool-a.{dom}"), "ip-partial:last");
            generic(ip, &format!("{d:03}.{dom}"), "ip-partial:last");
            custom(ip, &format!("{}.sta.{dom}", d.wrapping_add(3)));
        }
    }
    let ip = Some(IpAddr::from([198, 18, 39, 7]));
    custom(ip, "7.lab.isp.test");
}

/// `dedicated` is a hoster's provisioning word: with a serial it is a default name,
/// alone it is a word.
#[test]
fn a_hosting_word_next_to_a_serial() {
    for dom in DOMAINS {
        generic(
            None,
            &format!("441061389-dedicated.{dom}"),
            "keyword:dedicated",
        );
        generic(
            None,
            &format!("dedicated-5520117.{dom}"),
            "keyword:dedicated",
        );
        custom(None, &format!("dedicated.{dom}"));
        custom(None, &format!("dedicated2.{dom}"));
    }
}

/// A hoster's serial: a short prefix and a number of three digits or more, next to a
/// hosting word (as the prefix or right of it), or of five digits or more directly
/// under the provider's domain; over several providers' domains.
#[test]
fn hosters_serials() {
    let hosters = [
        "provider.test",
        "cloud-example.net",
        "example.de",
        "dc9.example",
    ];
    for dom in hosters {
        for n in ["863", "1264", "04711", "552011"] {
            generic(None, &format!("vps{n}.{dom}"), "hosting-serial");
            generic(None, &format!("srv{n}.{dom}"), "hosting-serial");
            generic(None, &format!("vds-{n}.{dom}"), "hosting-serial");
            generic(None, &format!("s{n}.dedicated.{dom}"), "hosting-serial");
            generic(None, &format!("k{n}.vps.{dom}"), "hosting-serial");
            generic(None, &format!("ab{n}.colo-eu.{dom}"), "hosting-serial");
        }
        for n in ["31139", "28409", "0043117", "123456"] {
            generic(None, &format!("lh{n}.{dom}"), "hosting-serial:domain");
            generic(None, &format!("x{n}.{dom}"), "hosting-serial:domain");
            generic(None, &format!("ded{n}.{dom}"), "hosting-serial:domain");
        }
        // With an address that is not in the name, the same.
        let ip = Some(IpAddr::from([198, 18, 77, 9]));
        generic(ip, &format!("lh31139.{dom}"), "hosting-serial:domain");
        generic(ip, &format!("vps863.{dom}"), "hosting-serial");
        // Too few digits, a role word, a longer prefix, or a deeper name.
        for name in [
            format!("vps9.{dom}"),
            format!("srv24-s-st.{dom}"),
            format!("lin6410.{dom}"),
            format!("box4711.{dom}"),
            format!("web12345.{dom}"),
            format!("lh31139.lab.{dom}"),
            format!("build31139.{dom}"),
            format!("mta232.mail.{dom}"),
            format!("db101.servers.{dom}"),
        ] {
            custom(None, &name);
        }
    }
    // Named servers with a role word or a small number stay custom.
    for name in [
        "mx26.example.com",
        "www3005.example.com",
        "mail1.example.com",
        "smtp01.example.org",
        "ns1.example.net",
        "vpn9.example.test",
        "smtp-gw138.mailer.example",
        "be-12345-cr01.lax.carrier.test",
        "as64500-10g-ix.fra.carrier.test",
        "ae12345.example.com",
        "xe-0-0-14-1.core1.nyc.carrier.net",
    ] {
        custom(None, name);
        custom(v4("203.0.113.45"), name);
    }
}

#[test]
fn roman_numerals() {
    for (text, n) in [
        ("i", 1),
        ("iv", 4),
        ("ix", 9),
        ("xxx", 30),
        ("xl", 40),
        ("lxiii", 63),
        ("xcix", 99),
        ("cxc", 190),
        ("ccxlix", 249),
        ("cclv", 255),
    ] {
        assert_eq!(roman(text), Some(n), "{text}");
    }
    for text in [
        "", "iiii", "vx", "ic", "xcx", "cclvi", "ccc", "mix", "dim", "civil", "lxiiii",
    ] {
        assert_eq!(roman(text), None, "{text}");
    }
}

/// Octets written as Roman numerals, some or all, over several framings: the address
/// must be this row's (another host's numerals stay custom).
#[test]
fn octets_as_roman_numerals() {
    fn r(x: u8) -> String {
        const TABLE: [(u8, &str); 9] = [
            (100, "c"),
            (90, "xc"),
            (50, "l"),
            (40, "xl"),
            (10, "x"),
            (9, "ix"),
            (5, "v"),
            (4, "iv"),
            (1, "i"),
        ];
        let (mut n, mut s) = (x, String::new());
        for (v, t) in TABLE {
            while n >= v {
                s.push_str(t);
                n -= v;
            }
        }
        s
    }
    for [a, b, c, d] in ADDRS.into_iter().filter(|o| o.iter().all(|&x| x > 0)) {
        let ip = Some(IpAddr::from([a, b, c, d]));
        for dom in DOMAINS {
            for name in [
                format!("pei-{a}-{b}-{}-{}.{dom}", r(c), r(d)),
                format!("{}.{}.{}.{}.rev.{dom}", r(d), r(c), r(b), r(a)),
                format!("h-{a}-{b}-{c}-{}.{dom}", r(d)),
            ] {
                generic(ip, &name, "ip-embedded:roman");
            }
            let other = Some(IpAddr::from([a, b, c, d.wrapping_add(1)]));
            custom(other, &format!("pei-{a}-{b}-{}-{}.{dom}", r(c), r(d)));
        }
    }
    // Words that happen to be numerals are not an address.
    custom(v4("198.18.5.7"), "mix.civil.isp.test");
    custom(v4("198.18.1.5"), "vi.example.test");
}

/// A host part of block-wide words only — a placeholder or dynamic-pool word and hard
/// access words, no digit — names the whole block.
#[test]
fn block_wide_host_parts() {
    // Directly under the registered domain: a label between would be a name.
    for dom in DOMAINS.iter().filter(|d| d.matches('.').count() == 1) {
        for host in [
            "dynamic",
            "pool",
            "dhcp.adsl",
            "host.dsl",
            "dynamic-ppp",
            "none.cable",
        ] {
            let name = format!("{host}.{dom}");
            generic(None, &name, "placeholder");
            generic(v4("198.18.5.7"), &name, "placeholder");
        }
        for host in [
            "wireless",
            "fiber",
            "dsl-lab",
            "dynamic-lab",
            "pool1.ntp",
            "dhcp2.cs",
            "static",
            "dedicated",
            "host.lab",
        ] {
            custom(None, &format!("{host}.{dom}"));
        }
    }
}

#[test]
fn placeholders_spelled_as_labels() {
    for dom in DOMAINS {
        for name in ["no.reverse", "no.rdns", "not.configured", "not-set"] {
            generic(None, &format!("{name}.{dom}"), "placeholder");
        }
        // The whole host part (the domain is the registered one or a name under it).
        if dom.matches('.').count() == 1 {
            generic(None, &format!("host.{dom}"), "placeholder");
        }
        // `host` is a placeholder alone, not as a word in a chosen name.
        custom(None, &format!("host.lab.{dom}"));
        custom(None, &format!("ghost.{dom}"));
    }
}

#[test]
fn numbers_that_are_not_the_address_stay_custom() {
    for [a, b, c, d] in ADDRS {
        let ip = Some(IpAddr::from([a, b, c, d]));
        for dom in DOMAINS {
            for host in [
                "mail2",
                "smtp01",
                "www3",
                "mx10",
                "alpha7",
                "db-3.prod",
                "web-2019",
            ] {
                custom(ip, &format!("{host}.{dom}"));
            }
            // The last octet on a role word is the operator's numbering.
            custom(ip, &format!("mail{d}.{dom}"));
            custom(ip, &format!("smtp{d:03}.{dom}"));
            // Router and exchange interfaces: ports, bundles, VLANs and AS numbers.
            custom(ip, &format!("be-{c}{d}1-cr02.fra.{dom}"));
            custom(ip, &format!("be-21034-pe{d}.ams.{dom}"));
            custom(ip, &format!("ae-{c}-{d}.ear2.city1.{dom}"));
            custom(ip, &format!("as64500-10g-ix{d}.{dom}"));
            custom(ip, &format!("xe-0-{c}-{d}.core1.{dom}"));
            // Another host's numbers.
            let other = d.wrapping_add(3);
            custom(ip, &format!("ab-{c}-{other}.{dom}"));
        }
    }
    custom(None, "be-12345-cr01.lax.carrier.test");
    custom(None, "as64500-100g-decix.fra.carrier.test");
}

#[test]
fn ipv6_forms() {
    let ip = Some("2001:db8:0:1::15".parse().unwrap());
    generic(ip, "2001-db8-0-1--15.v6.isp.test", "ip-embedded:v6");
    generic(
        ip,
        "20010db8000000010000000000000015.cust.isp.test",
        "ip-embedded:hex",
    );
}

#[test]
fn custom_names_with_digits_stay_custom() {
    let ip = v4("198.18.5.7");
    for name in [
        "mail.example.test",
        "mx1.example.test",
        "smtp02.example.test",
        "mail2019.example.com",
        "ns3.provider.net",
        "gw2.fabrikam.test",
        "ae-1-3502.ear2.city1.carrier.net",
        "xe-0-0-14-1.core1.nyc.carrier.net",
        "100ge16-2.core1.fra.carrier.net",
        "mail7.example.test",
        "nycmny01.example.net",
        "mail.customer.isp.net",
        "localhost",
        "MAIL.EXAMPLE.TEST.",
        "xn--bcher-kva.example",
    ] {
        custom(ip, name);
    }
    // A different host's address is not this host's.
    custom(ip, "198-18-5-8.example.test");
    // Router interface names look address-like but are not, without an address.
    custom(None, "xe-0-0-14-1.core1.nyc.carrier.net");
}

#[test]
fn without_an_address_address_like_names_are_detected() {
    generic(None, "c-98-228-39-173.hsd1.ca.comcast.net", "ip-like");
    generic(None, "pool-71-105-12-9.nycmny.fios.verizon.net", "ip-like");
}

#[test]
fn placeholders_and_service_names() {
    generic(None, "unassigned.isp.test", "placeholder");
    let v = classify(v4("198.18.5.7"), "mail.example.test");
    assert!(v.codes().any(|c| c == "service-label:mail"));
    let v = classify(v4("198.18.5.7"), "alpha2.fabrikam.test");
    assert_eq!(v.codes().collect::<Vec<_>>(), ["no-ip-signal"]);
    let v = classify(v4("198.18.5.7"), "mail-198-18-5-7.outbound.mailer.test");
    assert!(v.codes().any(|c| c == "ambiguous"), "{:?}", v.reasons);
}

#[test]
fn names_that_are_not_host_names_are_flagged() {
    for bad in [
        "bad\\032name.example.test",
        "x_y.example.test",
        "-a.example.test",
        "a..b",
    ] {
        let v = classify(v4("198.18.5.7"), bad);
        assert!(
            v.codes().any(|c| c == "invalid-hostname"),
            "{bad}: {:?}",
            v.reasons
        );
    }
    let v = classify(v4("198.18.5.7"), "mail.example.test");
    assert!(!v.codes().any(|c| c == "invalid-hostname"));
}

#[test]
fn degenerate_input_does_not_panic() {
    for name in [
        "",
        ".",
        "..",
        "-",
        "1",
        "1.2.3.4",
        &"a".repeat(300),
        "ä.ö",
        "\u{0}",
    ] {
        let _ = classify(v4("1.2.3.4"), name);
        let _ = classify(None, name);
    }
}
