//! Rendering a row's cells as text into one reusable buffer: the writers' hot path.
//!
//! Same text as [`crate::schema::Value::to_text`] (a test holds them equal), without an
//! allocation per cell and without the `fmt` machinery for addresses, numbers and times:
//! those were most of the CSV writer's time.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use ptraudit_scan::{Row, UtcParts};

/// The 15 text cells of a row, rendered into one buffer.
#[derive(Debug, Default)]
pub(crate) struct TextCells {
    buf: String,
    ends: [usize; 15],
    resolver: SocketText,
    /// The last `scanned_at` rendered, by millisecond: rows finish ~100 to a millisecond.
    time: Option<(u128, String)>,
}

/// A socket address's text, kept for the next row: nearly every row has the same
/// resolver.
#[derive(Debug, Default)]
pub(crate) struct SocketText(Option<(SocketAddr, String)>);

impl SocketText {
    pub(crate) fn get(&mut self, a: SocketAddr) -> &str {
        if self.0.as_ref().is_none_or(|(last, _)| *last != a) {
            let mut text = String::new();
            push_socket(&mut text, a);
            self.0 = Some((a, text));
        }
        self.0.as_ref().map_or("", |(_, text)| text.as_str())
    }
}

impl TextCells {
    /// Renders `r`, replacing the previous row.
    pub(crate) fn render(&mut self, r: &Row) {
        let b = &mut self.buf;
        b.clear();
        let mut n = 0;
        let mut end = |b: &String, n: &mut usize| {
            self.ends[*n] = b.len();
            *n += 1;
        };
        push_ip(b, r.ip);
        end(b, &mut n);
        b.push_str(&r.prefix);
        end(b, &mut n);
        b.push_str(&r.ptr_status);
        end(b, &mut n);
        b.push_str(r.ptr.as_deref().unwrap_or(""));
        end(b, &mut n);
        push_joined(b, &r.ptr_all);
        end(b, &mut n);
        push_joined(b, &r.cname_chain);
        end(b, &mut n);
        for (i, a) in r.forward_addrs.iter().enumerate() {
            if i > 0 {
                b.push(';');
            }
            push_ip(b, *a);
        }
        end(b, &mut n);
        b.push_str(r.fcrdns.as_str());
        end(b, &mut n);
        b.push_str(r.fcrdns_reason.as_deref().unwrap_or(""));
        end(b, &mut n);
        b.push_str(match r.generic {
            Some(true) => "true",
            Some(false) => "false",
            None => "",
        });
        end(b, &mut n);
        push_joined(b, &r.generic_reasons);
        end(b, &mut n);
        if let Some(a) = r.resolver {
            b.push_str(self.resolver.get(a));
        }
        end(b, &mut n);
        push_u64(b, u64::from(r.attempts));
        end(b, &mut n);
        if let Some(ms) = r.rtt_ms {
            push_u64(b, ms);
        }
        end(b, &mut n);
        match r.scanned_at.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => {
                let ms = d.as_millis();
                if self.time.as_ref().is_none_or(|(last, _)| *last != ms) {
                    let mut text = String::new();
                    push_rfc3339(&mut text, r.scanned_at);
                    self.time = Some((ms, text));
                }
                b.push_str(self.time.as_ref().map_or("", |(_, t)| t.as_str()));
            }
            Err(_) => push_rfc3339(b, r.scanned_at),
        }
        end(b, &mut n);
        debug_assert_eq!(n, 15);
    }

    /// The cells of the last rendered row, in column order.
    pub(crate) fn cells(&self) -> impl Iterator<Item = &str> {
        (0..15).map(move |i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.buf[start..self.ends[i]]
        })
    }
}

fn push_joined(b: &mut String, items: &[String]) {
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            b.push(';');
        }
        b.push_str(s);
    }
}

/// Decimal digits of `n`, without `fmt`.
pub(crate) fn push_u64(b: &mut String, mut n: u64) {
    if n < 10 {
        b.push(char::from(b'0' + n as u8));
        return;
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    while n > 0 {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    // Pushed one by one: ASCII needs no UTF-8 check.
    for &d in &digits[i..] {
        b.push(char::from(d));
    }
}

/// An octet in decimal.
fn push_u8(b: &mut String, o: u8) {
    if o >= 100 {
        b.push(char::from(b'0' + o / 100));
    }
    if o >= 10 {
        b.push(char::from(b'0' + o / 10 % 10));
    }
    b.push(char::from(b'0' + o % 10));
}

/// An address as `Display` writes it; IPv4 without `fmt` (IPv6 is rare in bulk output).
pub(crate) fn push_ip(b: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let [o1, o2, o3, o4] = v4.octets();
            push_u8(b, o1);
            b.push('.');
            push_u8(b, o2);
            b.push('.');
            push_u8(b, o3);
            b.push('.');
            push_u8(b, o4);
        }
        IpAddr::V6(v6) => {
            let _ = write!(b, "{v6}");
        }
    }
}

pub(crate) fn push_socket(b: &mut String, a: SocketAddr) {
    match a {
        SocketAddr::V4(v4) => {
            push_ip(b, IpAddr::V4(*v4.ip()));
            b.push(':');
            push_u64(b, u64::from(v4.port()));
        }
        SocketAddr::V6(v6) => {
            let _ = write!(b, "{v6}");
        }
    }
}

fn push_2(b: &mut String, n: u64) {
    b.push(char::from(b'0' + (n / 10 % 10) as u8));
    b.push(char::from(b'0' + (n % 10) as u8));
}

/// What [`ptraudit_scan::rfc3339`] writes, into `b`.
pub(crate) fn push_rfc3339(b: &mut String, t: SystemTime) {
    let p = UtcParts::of(t);
    if (0..10_000).contains(&p.year) {
        let y = p.year as u64;
        push_2(b, y / 100);
        push_2(b, y % 100);
    } else {
        let _ = write!(b, "{:04}", p.year);
    }
    for (sep, v) in [
        ('-', p.month),
        ('-', p.day),
        ('T', p.hour),
        (':', p.minute),
        (':', p.second),
    ] {
        b.push(sep);
        push_2(b, u64::from(v));
    }
    b.push('.');
    let ms = u64::from(p.millis);
    b.push(char::from(b'0' + (ms / 100) as u8));
    push_2(b, ms % 100);
    b.push('Z');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::values;
    use ptraudit_scan::{Fcrdns, rfc3339};
    use std::time::{Duration, UNIX_EPOCH};

    fn row(ip: &str, full: bool, secs: u64) -> Row {
        Row {
            ip: ip.parse().unwrap(),
            prefix: "198.18.0.0/24".into(),
            ptr_status: "NOERROR".into(),
            ptr: full.then(|| "a.example.test".into()),
            ptr_all: if full {
                vec!["a.example.test".into(), "b,\"q\".test".into()]
            } else {
                vec![]
            },
            cname_chain: vec![],
            forward_addrs: if full {
                vec![
                    "198.18.0.7".parse().unwrap(),
                    "2001:db8::1".parse().unwrap(),
                ]
            } else {
                vec![]
            },
            fcrdns: if full { Fcrdns::Pass } else { Fcrdns::NoPtr },
            fcrdns_reason: (!full).then(|| "ptr-nxdomain".into()),
            generic: full.then_some(false),
            generic_reasons: if full {
                vec!["service-label:mail".into(), "no-ip-signal".into()]
            } else {
                vec![]
            },
            resolver: if full {
                Some("127.0.0.1:5353".parse().unwrap())
            } else {
                Some("[::1]:53".parse().unwrap())
            },
            attempts: if full { 3 } else { 0 },
            rtt_ms: full.then_some(12_345),
            scanned_at: UNIX_EPOCH + Duration::from_millis(secs * 1000 + 7),
        }
    }

    #[test]
    fn cells_equal_the_schema_text_of_every_column() {
        let mut t = TextCells::default();
        for r in [
            row("198.18.0.7", true, 1_790_000_000),
            // The same millisecond and resolver again: the kept texts are reused.
            row("198.18.0.8", true, 1_790_000_000),
            row("2001:db8::15", false, 0),
            row("0.0.0.0", true, 951_782_400), // 2000-02-29
            row("255.255.255.255", false, 4_102_444_799), // 2099-12-31T23:59:59
        ] {
            t.render(&r);
            let expected: Vec<String> = values(&r).iter().map(|v| v.to_text()).collect();
            let got: Vec<&str> = t.cells().collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn times_and_numbers_match_their_fmt_forms() {
        for secs in [
            0u64,
            59,
            86_399,
            951_782_400,
            1_790_000_000,
            253_402_300_799,
        ] {
            for ms in [0u64, 7, 99, 100, 999] {
                let t = UNIX_EPOCH + Duration::from_millis(secs * 1000 + ms);
                let mut b = String::new();
                push_rfc3339(&mut b, t);
                assert_eq!(b, rfc3339(t));
            }
        }
        for n in [0u64, 9, 10, 255, 65_535, u64::MAX] {
            let mut b = String::new();
            push_u64(&mut b, n);
            assert_eq!(b, n.to_string());
        }
        for ip in [
            "0.0.0.0",
            "9.10.99.100",
            "198.18.255.7",
            "255.255.255.255",
            "2001:db8::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut b = String::new();
            push_ip(&mut b, ip);
            assert_eq!(b, ip.to_string());
        }
        for o in 0..=255u8 {
            let ip = IpAddr::from([o, 255 - o, o / 3, o.wrapping_mul(7)]);
            let mut b = String::new();
            push_ip(&mut b, ip);
            assert_eq!(b, ip.to_string());
        }
    }
}
