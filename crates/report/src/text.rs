//! Text renderings shared by the writers and readers: addresses, prefixes, statuses,
//! numbers and RFC 3339 times (the one home of each), and [`TextCells`], a row's cells
//! rendered into one reusable buffer for CSV.
//!
//! The renderings equal `fmt`'s (tests hold them equal) without an allocation per cell
//! and without the `fmt` machinery for IPv4 addresses, numbers and times: those were
//! most of the writers' time.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ptraudit_scan::{COLUMNS, Prefix, Row, Status};

use crate::schema::{Cells, Renderer};

/// The 15 text cells of a row, rendered into one buffer: lists `;`-joined, absent
/// values empty.
#[derive(Debug, Default)]
pub(crate) struct TextCells {
    renderer: Renderer,
    text: Text,
}

/// The buffer and where each cell ends (apart from the renderer, so that rendering
/// borrows both without moving either).
#[derive(Debug, Default)]
struct Text {
    buf: String,
    ends: [usize; COLUMNS.len()],
    n: usize,
    /// Items pushed into the open list.
    items: usize,
    /// The last `scanned_at` rendered, by millisecond: rows finish ~100 to a millisecond.
    time: Option<(u128, String)>,
}

impl TextCells {
    /// Renders `r`, replacing the previous row.
    pub(crate) fn render(&mut self, r: &Row) {
        let t = &mut self.text;
        t.buf.clear();
        t.n = 0;
        self.renderer.visit(r, t);
        debug_assert_eq!(t.n, COLUMNS.len());
    }

    /// The cells of the last rendered row, in column order.
    pub(crate) fn cells(&self) -> impl Iterator<Item = &str> {
        let t = &self.text;
        (0..COLUMNS.len()).map(move |i| {
            let start = if i == 0 { 0 } else { t.ends[i - 1] };
            &t.buf[start..t.ends[i]]
        })
    }
}

impl Text {
    fn end(&mut self) {
        self.ends[self.n] = self.buf.len();
        self.n += 1;
    }
}

impl Cells for Text {
    fn text(&mut self, _: usize, v: &str) {
        self.buf.push_str(v);
        self.end();
    }
    fn null(&mut self, _: usize) {
        self.end();
    }
    fn list_start(&mut self, _: usize) {
        self.items = 0;
    }
    fn item(&mut self, v: &str) {
        if self.items > 0 {
            self.buf.push(';');
        }
        self.buf.push_str(v);
        self.items += 1;
    }
    fn list_end(&mut self) {
        self.end();
    }
    fn bool(&mut self, _: usize, v: bool) {
        self.buf.push_str(if v { "true" } else { "false" });
        self.end();
    }
    fn ip(&mut self, _: usize, ip: IpAddr) {
        push_ip(&mut self.buf, ip);
        self.end();
    }
    fn addr_item(&mut self, ip: IpAddr) {
        if self.items > 0 {
            self.buf.push(';');
        }
        push_ip(&mut self.buf, ip);
        self.items += 1;
    }
    fn status(&mut self, _: usize, s: Status) {
        push_status(&mut self.buf, s);
        self.end();
    }
    fn uint(&mut self, _: usize, v: u64) {
        push_u64(&mut self.buf, v);
        self.end();
    }
    fn time(&mut self, _: usize, t: SystemTime) {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => {
                let ms = d.as_millis();
                if self.time.as_ref().is_none_or(|(last, _)| *last != ms) {
                    let mut text = String::new();
                    push_rfc3339(&mut text, t);
                    self.time = Some((ms, text));
                }
                self.buf
                    .push_str(self.time.as_ref().map_or("", |(_, t)| t.as_str()));
            }
            Err(_) => push_rfc3339(&mut self.buf, t),
        }
        self.end();
    }
}

/// Whether a CSV cell needs the formula guard: it starts with a character a spreadsheet
/// takes for a formula (`=`, `+`, `-`, `@`, tab or carriage return — OWASP's list), or
/// with the guard itself (`'`, so that the guard can be undone exactly).
///
/// PTR names are written by whoever runs the reverse zone: `=HYPERLINK(…)` is a valid
/// PTR name. The CSV writers put a `'` before such a cell, and the CSV reader removes
/// one leading `'` from every cell ([`csv_unguard`]), so rows round-trip exactly.
pub(crate) fn needs_csv_guard(cell: &str) -> bool {
    matches!(
        cell.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'')
    )
}

/// A CSV cell as ptraudit writes it: with a leading `'` when a spreadsheet would take it
/// for a formula (it starts with `=`, `+`, `-`, `@`, tab or carriage return — OWASP's
/// list) or when it starts with `'` (so that [`read_rows`](crate::read_rows) can undo
/// the guard exactly). For cells of text only: a negative number would be guarded too.
///
/// ```
/// use ptraudit_report::csv_guard;
/// assert_eq!(csv_guard("=1+1"), "'=1+1");
/// assert_eq!(csv_guard("'x"), "''x");
/// assert_eq!(csv_guard("mail.example.test"), "mail.example.test");
/// ```
pub fn csv_guard(cell: &str) -> Cow<'_, str> {
    if needs_csv_guard(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A CSV cell as read: the guard of [`csv_guard`] removed.
pub(crate) fn csv_unguard(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// `s` safe to print on a terminal: control characters (C0, DEL, C1 — ESC starts the
/// terminal's escape sequences) and Unicode's bidirectional overrides, which reorder
/// what a person sees, are written visibly: `\DDD` (RFC 1035 style, as names from DNS
/// already are) for ASCII, `\u{XXXX}` for the others. Anything else is unchanged.
///
/// ```
/// use ptraudit_report::printable;
/// assert_eq!(printable("a\u{1b}[31mred"), r"a\027[31mred");
/// assert_eq!(printable("ok.example.test"), "ok.example.test");
/// assert_eq!(printable("x\u{202e}y"), r"x\u{202e}y");
/// ```
pub fn printable(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\{:03}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
    Cow::Owned(out)
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

/// `ADDR/LEN`, as `Display` writes it.
pub(crate) fn push_prefix(b: &mut String, p: Prefix) {
    push_ip(b, p.network());
    b.push('/');
    push_u64(b, u64::from(p.bits()));
}

/// A status as `Display` writes it (`NOERROR`, …, `RCODE12`); no `fmt` but for RCODEs
/// without a mnemonic.
pub(crate) fn push_status(b: &mut String, s: Status) {
    match s {
        Status::Rcode(_) if s.as_str() == "RCODE" => {
            let _ = write!(b, "{s}");
        }
        _ => b.push_str(s.as_str()),
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

/// A UTC time split into its calendar fields (milliseconds kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UtcParts {
    year: i64,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    millis: u16,
}

impl UtcParts {
    /// The fields of `t` (times before 1970 count as 1970-01-01T00:00:00.000Z).
    fn of(t: SystemTime) -> Self {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        UtcParts {
            year: yoe + era * 400 + i64::from(month <= 2),
            month: month as u8,
            day: day as u8,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            millis: d.subsec_millis() as u16,
        }
    }
}

fn push_2(b: &mut String, n: u64) {
    b.push(char::from(b'0' + (n / 10 % 10) as u8));
    b.push(char::from(b'0' + (n % 10) as u8));
}

/// RFC 3339 UTC with milliseconds (`2026-11-26T10:31:49.123Z`), into `b`.
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

/// RFC 3339 UTC with milliseconds: `2026-11-26T10:31:49.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let mut s = String::with_capacity(24);
    push_rfc3339(&mut s, t);
    s
}

/// Parses what [`rfc3339`] writes (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`), to the millisecond.
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let millis = match s.get(19..s.len() - 1)? {
        "" => 0,
        frac => {
            let digits = frac.strip_prefix('.')?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit())
            {
                return None;
            }
            let padded = format!("{digits:0<9}");
            padded[..3].parse::<u64>().ok()?
        }
    };
    // Days from civil (Howard Hinnant), the inverse of `UtcParts::of`.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + mi * 60 + se).ok()?;
    Some(UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::reference::{row, values};

    #[test]
    fn cells_equal_the_fmt_text_of_every_column() {
        let mut t = TextCells::default();
        for r in [
            row("198.18.0.7", true, 1_790_000_000_007),
            // The same millisecond and resolver again: the kept texts are reused.
            row("198.18.0.8", true, 1_790_000_000_007),
            row("2001:db8::15", false, 7),
            row("0.0.0.0", true, 951_782_400_007), // 2000-02-29
            row("255.255.255.255", false, 4_102_444_799_007), // 2099-12-31T23:59:59
        ] {
            t.render(&r);
            let expected: Vec<String> = values(&r).iter().map(|v| v.to_text()).collect();
            let got: Vec<&str> = t.cells().collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn timestamps_round_trip() {
        for ms in [0u64, 951_782_400_000, 1_795_689_109_123, 4_102_444_799_999] {
            let t = UNIX_EPOCH + Duration::from_millis(ms);
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        let t = UNIX_EPOCH + Duration::from_millis(1_795_689_109_123);
        assert_eq!(rfc3339(t), "2026-11-26T10:31:49.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
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
                // The reference: the civil date through chrono-free fmt of the parts.
                let p = UtcParts::of(t);
                let want = format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                    p.year, p.month, p.day, p.hour, p.minute, p.second, p.millis
                );
                assert_eq!(rfc3339(t), want);
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
            let p = ptraudit_scan::PrefixLens::DEFAULT.of(ip);
            let mut b = String::new();
            push_prefix(&mut b, p);
            assert_eq!(b, p.to_string());
        }
        for s in [
            Status::Answer,
            Status::Timeout,
            Status::Rcode(1),
            Status::Rcode(12),
        ] {
            let mut b = String::new();
            push_status(&mut b, s);
            assert_eq!(b, s.to_string());
        }
    }
}
