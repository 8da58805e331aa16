//! Names as text for reports.

use hickory_proto::rr::Name;

/// A name as reports write it: lowercase, without the trailing dot, labels joined by `.`.
/// Bytes that would make the text ambiguous or unsafe in a CSV cell — `.` and `\` inside
/// a label, spaces, control and non-ASCII bytes, `,` `;` `"` — are written as RFC 1035
/// `\DDD` escapes; everything else printable stays as is, so the RFC 2317 label `64/26`
/// reads `64/26` (hickory's own `to_ascii` would escape the `/`).
///
/// ```
/// use ptraudit_dns::{Name, name_to_text};
/// let n = Name::from_labels(["65", "64/26", "5", "18", "198", "IN-ADDR", "arpa"].map(str::as_bytes)).unwrap();
/// assert_eq!(name_to_text(&n), "65.64/26.5.18.198.in-addr.arpa");
/// assert_eq!(name_to_text(&Name::root()), ".");
/// ```
pub fn name_to_text(name: &Name) -> String {
    if name.is_root() {
        return ".".to_string();
    }
    let mut out = String::with_capacity(name.len());
    for (i, label) in name.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        for &b in label {
            let b = b.to_ascii_lowercase();
            match b {
                b'.' | b'\\' | b',' | b';' | b'"' => {
                    out.push_str(&format!("\\{b:03}"));
                }
                0x21..=0x7e => out.push(char::from(b)),
                _ => out.push_str(&format!("\\{b:03}")),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_bytes_are_escaped() {
        let n = Name::from_labels([&b"a.b"[..], b"c d", b"x,y;\"", b"\xff\x00", b"ok"]).unwrap();
        assert_eq!(
            name_to_text(&n),
            "a\\046b.c\\032d.x\\044y\\059\\034.\\255\\000.ok"
        );
    }
}
