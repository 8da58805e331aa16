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
    // Bytes, not chars: this runs for every name of every answer.
    let mut out = Vec::with_capacity(name.len());
    for (i, label) in name.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        // The usual label needs neither case folding nor escapes: copied whole.
        if label
            .iter()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'/'))
        {
            out.extend_from_slice(label);
            continue;
        }
        for &b in label {
            match b.to_ascii_lowercase() {
                b @ (b'.' | b'\\' | b',' | b';' | b'"') => escape(&mut out, b),
                b @ 0x21..=0x7e => out.push(b),
                b => escape(&mut out, b),
            }
        }
    }
    // Only printable ASCII was written.
    String::from_utf8(out).unwrap_or_default()
}

/// RFC 1035 `\DDD`.
fn escape(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(&[b'\\', b'0' + b / 100, b'0' + b / 10 % 10, b'0' + b % 10]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_reads_as_the_reference_rendering() {
        // The rendering of each byte, one per label, against a plain reference.
        for b in 0..=255u8 {
            let n = Name::from_labels([&[b][..], b"Ab-9_/x"]).unwrap();
            let lower = b.to_ascii_lowercase();
            let want = match lower {
                b'.' | b'\\' | b',' | b';' | b'"' => format!("\\{lower:03}"),
                0x21..=0x7e => char::from(lower).to_string(),
                _ => format!("\\{lower:03}"),
            };
            assert_eq!(name_to_text(&n), format!("{want}.ab-9_/x"), "byte {b}");
        }
    }

    #[test]
    fn unsafe_bytes_are_escaped() {
        let n = Name::from_labels([&b"a.b"[..], b"c d", b"x,y;\"", b"\xff\x00", b"ok"]).unwrap();
        assert_eq!(
            name_to_text(&n),
            "a\\046b.c\\032d.x\\044y\\059\\034.\\255\\000.ok"
        );
    }
}
