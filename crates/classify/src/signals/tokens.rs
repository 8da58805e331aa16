//! How a name is cut into pieces: maximal runs of digits ([`Run`], [`digit_runs`]) and
//! alphabetic tokens ([`alpha_tokens`]). Every family of signals reads the name through
//! them; they give no reason of their own.

/// A maximal run of ASCII digits: its value and byte range in the text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run<'a> {
    pub(super) text: &'a str,
    pub(super) start: usize,
    pub(super) end: usize,
}

pub(super) fn digit_runs(text: &str) -> Vec<Run<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Run {
                text: &text[start..i],
                start,
                end: i,
            });
        } else {
            i += 1;
        }
    }
    out
}

pub(super) fn alpha_tokens(label: &str) -> impl Iterator<Item = &str> {
    label
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|t| !t.is_empty())
}
