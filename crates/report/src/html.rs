//! The HTML hygiene report: one self-contained file (inline CSS and script, no network
//! fetches) with the totals, a Hilbert-curve map of each scanned IPv4 block, and the
//! worst groups.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::counts::Counts;
use crate::hygiene::Report;

/// Text for HTML element content and quoted attributes: `& < > " '` as entities, and
/// control characters written visibly (`\\DDD`, see [`printable`](crate::printable)) —
/// names in the report come from strangers' zones or from files others touched.
fn esc(s: &str) -> String {
    crate::text::printable(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn pct(n: u64, d: u64) -> String {
    if d == 0 {
        "–".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / d as f64)
    }
}

const STYLE: &str = r#"
:root { --ink:#1d2430; --muted:#5d6776; --line:#e3e6eb; --bg:#fafbfc;
  --custom:#2e9d57; --generic:#4f7fe0; --fail:#e4572e; --noptr:#b4b9c2; --error:#8e44ad; --listed:#111111; --empty:#f0f1f4; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
header { padding:28px 40px 18px; background:#fff; border-bottom:1px solid var(--line); }
h1 { margin:0 0 4px; font-size:24px; } h2 { font-size:18px; margin:32px 0 12px; }
.sub { color:var(--muted); }
main { padding:0 40px 48px; max-width:1400px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(150px,1fr)); gap:12px; margin-top:22px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
.card b { display:block; font-size:22px; } .card span { color:var(--muted); font-size:13px; }
.legend { display:flex; flex-wrap:wrap; gap:18px; margin:8px 0 16px; color:var(--muted); font-size:13px; }
.legend i { display:inline-block; width:12px; height:12px; border-radius:3px; margin-right:6px; vertical-align:-1px; }
.maps { display:flex; flex-wrap:wrap; gap:22px; }
figure { margin:0; background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px; }
figcaption { font-weight:600; margin-bottom:8px; } figcaption small { font-weight:400; color:var(--muted); }
canvas { display:block; image-rendering:pixelated; border-radius:4px; }
table { border-collapse:collapse; background:#fff; border:1px solid var(--line); border-radius:10px; overflow:hidden; min-width:70%; }
th, td { padding:6px 12px; text-align:right; border-bottom:1px solid var(--line); font-variant-numeric:tabular-nums; }
th:first-child, td:first-child { text-align:left; } th { background:#f3f5f8; font-weight:600; font-size:13px; }
.bar { display:inline-block; height:8px; border-radius:4px; background:var(--custom); vertical-align:middle; margin-right:6px; }
.ramp { display:inline-block; width:120px; height:12px; border-radius:3px; vertical-align:-1px; margin:0 6px; background:linear-gradient(90deg,hsl(0,70%,45%),hsl(60,70%,45%),hsl(120,70%,45%)); }
.note { color:var(--muted); font-size:13px; max-width:900px; }
"#;

const SCRIPT: &str = r#"
// Hilbert curve: index d along the curve -> (x, y) in a side x side square.
function d2xy(side, d) {
  let x = 0, y = 0, t = d;
  for (let s = 1; s < side; s *= 2) {
    const rx = 1 & (t / 2), ry = 1 & (t ^ rx);
    if (ry === 0) { if (rx === 1) { x = s - 1 - x; y = s - 1 - y; } const k = x; x = y; y = k; }
    x += s * rx; y += s * ry; t = Math.floor(t / 4);
  }
  return [x, y];
}
const css = getComputedStyle(document.documentElement);
const colors = ['--empty','--custom','--generic','--fail','--noptr','--error','--listed'].map(v => css.getPropertyValue(v).trim());
// The /24 overview: one cell per /24, 'A'..'U' = hygiene score 0..100 in steps of 5,
// red to green; anything else = not scanned.
for (const c of document.querySelectorAll('canvas[data-scores]')) {
  const s = c.dataset.scores, side = Math.round(Math.sqrt(s.length));
  const px = Math.max(1, Math.floor(c.width / side));
  const ctx = c.getContext('2d');
  for (let d = 0; d < s.length; d++) {
    const k = s.charCodeAt(d) - 65, [x, y] = d2xy(side, d);
    ctx.fillStyle = (k >= 0 && k <= 20) ? `hsl(${k * 6},70%,45%)` : colors[0];
    ctx.fillRect(x * px, y * px, px, px);
  }
}
for (const c of document.querySelectorAll('canvas[data-cells]')) {
  const cells = c.dataset.cells, side = Math.round(Math.sqrt(cells.length));
  const px = Math.max(1, Math.floor(c.width / side));
  const ctx = c.getContext('2d');
  for (let d = 0; d < cells.length; d++) {
    const [x, y] = d2xy(side, d);
    ctx.fillStyle = colors[cells.charCodeAt(d) - 48] || colors[0];
    ctx.fillRect(x * px, y * px, px, px);
  }
}
"#;

/// More IPv4 /16s than this: the page shows the /24 overview.
const OVERVIEW_FROM: usize = 4;
/// Per-address maps shown beside the overview (the worst /16s).
const WORST_MAPS: usize = 8;
/// /8s drawn in the overview (those with the most scanned /24s).
const OVERVIEW_MAX: usize = 16;

/// The /24 overview: per /8, a 256×256 Hilbert-curve square of /24s coloured by score.
fn overview(h: &mut String, report: &Report) {
    let mut eights = report.overview();
    let total = eights.len();
    if total > OVERVIEW_MAX {
        eights.sort_by_key(|o| std::cmp::Reverse(o.cells.iter().flatten().count()));
        eights.truncate(OVERVIEW_MAX);
        eights.sort_by_key(|o| o.octet);
    }
    h.push_str(
        "<h2>Overview: one cell per /24</h2><div class=\"legend\"><span>hygiene score 0<i class=\"ramp\"></i>100</span>\
         <span><i style=\"background:var(--empty)\"></i>not scanned</span></div>",
    );
    if total > eights.len() {
        let _ = write!(
            h,
            "<p class=\"note\">The {} of {total} /8s with the most scanned /24s.</p>",
            eights.len()
        );
    }
    if report.maps_dropped() {
        let _ = write!(
            h,
            "<p class=\"note\">Per-address maps are kept for the {} lowest /16s; the worst of them are shown below the overview.</p>",
            crate::hygiene::MAP_BLOCKS_KEPT
        );
    }
    h.push_str("<div class=\"maps\">");
    for o in &eights {
        let scanned = o.cells.iter().flatten().count();
        let scores: String = o
            .cells
            .iter()
            .map(|c| match c {
                None => '.',
                Some((_, score)) => char::from(b'A' + (score / 5.0).round().clamp(0.0, 20.0) as u8),
            })
            .collect();
        let _ = write!(
            h,
            "<figure class=\"overview\"><figcaption>{}.0.0.0/8 <small>{scanned} /24s scanned, Hilbert curve of /24s</small></figcaption>\
             <canvas width=\"512\" height=\"512\" data-scores=\"{scores}\"></canvas></figure>",
            o.octet
        );
    }
    h.push_str("</div>");
}

/// Renders the report as one HTML page.
pub fn render(report: &Report, title: &str, sources: &[String]) -> String {
    let t: Counts = report.total();
    let mut h = String::with_capacity(1 << 20);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(title)
    );
    let _ = write!(
        h,
        "<header><h1>{}</h1><div class=\"sub\">Reverse DNS hygiene of {} addresses · from {}</div>",
        esc(title),
        t.addresses,
        esc(&sources.join(", "))
    );
    let card = |h: &mut String, value: String, label: &str| {
        let _ = write!(
            h,
            "<div class=\"card\"><b>{value}</b><span>{label}</span></div>"
        );
    };
    h.push_str("<div class=\"cards\">");
    card(
        &mut h,
        format!("{:.1}", t.score()),
        "hygiene score (FCrDNS pass %)",
    );
    card(&mut h, t.addresses.to_string(), "addresses");
    card(&mut h, pct(t.with_ptr, t.addresses), "with a PTR record");
    card(&mut h, pct(t.pass, t.addresses), "FCrDNS pass");
    card(
        &mut h,
        pct(t.mail_ready, t.addresses),
        "mail-ready (custom + pass)",
    );
    card(
        &mut h,
        pct(t.generic, t.with_ptr),
        "generic names (of PTRs)",
    );
    card(
        &mut h,
        t.multi_ptr_unconfirmed.to_string(),
        "pass, but a stale second PTR (multi-ptr-unconfirmed)",
    );
    card(&mut h, t.fail().to_string(), "FCrDNS fail");
    card(&mut h, t.errors.to_string(), "errors (no answer)");
    if t.dnsbl() {
        card(
            &mut h,
            pct(t.listed, t.dnsbl_checked),
            &format!(
                "on a DNSBL (SBL {}, XBL {}, PBL {}, other {})",
                t.listed_sbl, t.listed_xbl, t.listed_pbl, t.listed_other
            ),
        );
    }
    h.push_str("</div></header><main>");

    // A scan over more than a few /16s: the /24 overview, and the per-address maps of
    // the worst /16s only.
    let large = report.v4_blocks() > OVERVIEW_FROM;
    if large {
        overview(&mut h, report);
    }
    let blocks = if large {
        report.worst_map_blocks(WORST_MAPS)
    } else {
        report.map_blocks(16)
    };
    if !blocks.is_empty() {
        h.push_str(if large {
            "<h2>The worst /16s, address by address</h2><div class=\"legend\">"
        } else {
            "<h2>Address space</h2><div class=\"legend\">"
        });
        for (var, label) in [
            ("--custom", "custom name, FCrDNS pass"),
            ("--generic", "generic name, FCrDNS pass"),
            ("--fail", "FCrDNS fail"),
            ("--noptr", "no PTR"),
            ("--error", "error"),
            ("--listed", "on a DNSBL"),
            ("--empty", "not scanned"),
        ] {
            if var == "--listed" && !t.dnsbl() {
                continue;
            }
            let _ = write!(
                h,
                "<span><i style=\"background:var({var})\"></i>{label}</span>"
            );
        }
        h.push_str("</div><div class=\"maps\">");
        for (net, len, grid) in &blocks {
            let side = (grid.len() as f64).sqrt() as usize;
            let px = (512 / side).max(1);
            let scanned = grid.iter().filter(|&&c| c != 0).count();
            let cells: String = grid.iter().map(|&c| char::from(b'0' + c)).collect();
            let _ = write!(
                h,
                "<figure><figcaption>{}/{len} <small>{scanned} addresses, Hilbert curve: neighbours in the curve are neighbours in the address space</small></figcaption>\
                 <canvas width=\"{w}\" height=\"{w}\" data-cells=\"{cells}\"></canvas></figure>",
                Ipv4Addr::from(*net),
                w = side * px,
            );
        }
        h.push_str("</div>");
    }

    let _ = write!(
        h,
        "<h2>By {}, worst first</h2><table><tr><th>{}</th><th>addresses</th><th>with PTR</th><th>pass</th><th>fail: mismatch</th><th>fail: no address</th><th>fail: no name</th><th>no PTR</th><th>generic</th><th>mail-ready</th><th>multi-PTR unconfirmed</th><th>errors</th><th>score</th>",
        report.group_name(),
        report.group_name()
    );
    if t.dnsbl() {
        h.push_str("<th>on a DNSBL</th><th>SBL</th><th>XBL</th><th>PBL</th><th>other</th>");
    }
    h.push_str("</tr>");
    for (k, g) in report.groups().iter().take(60) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"bar\" style=\"width:{}px\"></span>{:.1}</td>",
            esc(&k.to_string()),
            g.addresses,
            g.with_ptr,
            g.pass,
            g.fail_mismatch,
            g.fail_nodata,
            g.fail_nxdomain,
            g.no_ptr,
            g.generic,
            g.mail_ready,
            g.multi_ptr_unconfirmed,
            g.errors,
            (g.score() * 0.6) as u32,
            g.score()
        );
        if t.dnsbl() {
            let _ = write!(
                h,
                "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                g.listed, g.listed_sbl, g.listed_xbl, g.listed_pbl, g.listed_other
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h.push_str("<p class=\"note\">Hygiene score: the share of decided addresses (all but errors) whose PTR name resolves back to the address (FCrDNS). Addresses without PTR count against it. Generic names are expected on dynamic pools; on mail servers they get mail rejected. Generated by ptraudit.</p>");
    let _ = write!(h, "</main><script>{SCRIPT}</script></body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hygiene::GroupBy;
    use crate::schema::reference::row;

    /// A report over more than a few /16s shows the /24 overview (one cell per /24,
    /// coloured by score) and the worst /16s' maps; a small one shows neither overview
    /// nor any change. Both stay self-contained.
    #[test]
    fn a_multi_16_report_has_the_24_overview_and_the_worst_maps() {
        let lens = ptraudit_scan::PrefixLens::DEFAULT;
        let mut small = Report::new(GroupBy::Prefix(lens));
        let mut large = Report::new(GroupBy::Prefix(lens));
        for hi in 0..8u32 {
            for lo in 0..64u32 {
                let ip = std::net::Ipv4Addr::from(0x0a00_0000 + (hi << 16) + lo * 4);
                // /16 number 5 has no PTRs: the worst.
                let r = row(&ip.to_string(), hi != 5, 0);
                large.add(&r);
                if hi == 0 {
                    small.add(&r);
                }
            }
        }
        let page = render(&large, "t", &[]);
        assert!(page.contains("Overview: one cell per /24"), "{page:.300}");
        assert_eq!(page.matches("data-scores=").count(), 1, "one /8");
        let scores = page.split("data-scores=\"").nth(1).unwrap();
        assert_eq!(scores.find('"'), Some(65536), "a /24 per cell of the /8");
        assert!(page.contains("The worst /16s") && page.contains("10.5.0.0/24"));
        // The worst /16 is drawn first.
        let first_map = page.split("data-cells").next().unwrap();
        assert!(first_map.rfind("10.5.0.0/").is_some(), "worst first");
        let page_small = render(&small, "t", &[]);
        assert!(!page_small.contains("data-scores=\"") && page_small.contains("data-cells=\""));
        for page in [page, page_small] {
            assert_eq!(page.matches("<script").count(), 1);
            for external in ["src=\"http", "href=\"http", "@import", "url(http", "fetch("] {
                assert!(!page.contains(external), "HTML fetches {external}");
            }
        }
    }

    /// PTR names are written by strangers; in the page they are text, never markup, and
    /// control characters show as `\DDD`.
    #[test]
    fn hostile_names_are_escaped_in_the_page() {
        let long = format!("{}.{}", "a".repeat(63), "b".repeat(190));
        let hostile = [
            "x.<script>alert(1)</script>",
            "x.\"onmouseover='alert(1)'",
            "x.a&amp;b",
            "x.\u{1b}[31mred\u{7}",
            long.as_str(),
        ];
        let mut report = Report::new(GroupBy::Domain);
        for (i, name) in hostile.iter().enumerate() {
            let mut r = row(&format!("198.18.0.{i}"), true, 1);
            r.ptr = Some(name.to_string());
            r.ptr_all = vec![name.to_string()];
            report.add(&r);
        }
        let page = render(&report, "<title>", &["<img src=x>.csv".into()]);
        // Our own script is the only one; no attribute or tag came from a name.
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        for bad in [
            "<script>alert",
            "onmouseover='",
            "<img",
            "\u{1b}",
            "\u{7}",
            "a&amp;b",
        ] {
            assert!(!page.contains(bad), "{bad:?} reached the page");
        }
        for shown in [
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&quot;onmouseover=&#39;alert(1)&#39;",
            "a&amp;amp;b",
            "\\027[31mred\\007",
            &"b".repeat(190),
        ] {
            assert!(page.contains(shown), "{shown:?} missing from the page");
        }
        // The text table (`report --by domain` on a terminal) shows the escape visibly.
        let table = report.table(10);
        assert!(
            !table.contains('\u{1b}') && table.contains("\\027[31mred\\007"),
            "{table}"
        );
    }
}
