//! Classified name lists (`ptraudit classify`): the input lines (`hostname`,
//! `ip,hostname` or `ip<TAB>hostname`, with a `label` column to evaluate against), the
//! verdicts as CSV — the rows of one /24 or /64 judged together for neighbourhood
//! templates — and the evaluation against the labels.

use std::fmt;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;

use ptraudit_classify::Rules;

use crate::csv_guard;

/// The columns of the verdict CSV.
pub const NAME_COLUMNS: [&str; 5] = ["ip", "hostname", "generic", "score", "reasons"];

/// One input line: a name, maybe its address, maybe its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameLine {
    /// The address, when the line has one.
    pub ip: Option<IpAddr>,
    /// The host name as given.
    pub name: String,
    /// `generic` (true) or `custom` (false), when evaluating.
    pub label: Option<bool>,
    /// The line's number, from 1.
    pub line_no: usize,
}

/// A line that cannot be read: its number, what is wrong, and the line.
#[derive(Debug, thiserror::Error)]
#[error("line {line_no}: {problem}: {text:?}")]
pub struct NameLineError {
    /// The line's number, from 1.
    pub line_no: usize,
    /// What is wrong.
    pub problem: String,
    /// The line, trimmed.
    pub text: String,
}

/// Reads one input line: `None` for blank lines and `#` comments. With `eval` a third
/// column `label` (`generic` or `custom`) is required.
pub fn parse_name_line(
    text: &str,
    line_no: usize,
    eval: bool,
) -> Result<Option<NameLine>, NameLineError> {
    // Only line ends and spaces: a leading tab is an empty first column (no address).
    let t = text.trim_matches(|c| c == ' ' || c == '\r' || c == '\n');
    if t.trim().is_empty() || t.trim_start().starts_with('#') {
        return Ok(None);
    }
    let fields: Vec<&str> = if t.contains('\t') {
        t.split('\t').map(str::trim).collect()
    } else {
        t.split(',').map(str::trim).collect()
    };
    let at = |problem: String| NameLineError {
        line_no,
        problem,
        text: t.to_string(),
    };
    let (ip, name, label) = match fields.as_slice() {
        [name] => (None, *name, None),
        [ip, name] => (Some(*ip), *name, None),
        [ip, name, label, ..] => (Some(*ip), *name, Some(*label)),
        [] => return Ok(None),
    };
    let ip = match ip {
        None | Some("") => None,
        Some(s) => Some(
            s.parse()
                .map_err(|_| at(format!("{s:?} is not an IP address")))?,
        ),
    };
    let label = match (label, eval) {
        (_, false) => None,
        (Some("generic"), true) => Some(true),
        (Some("custom"), true) => Some(false),
        (other, true) => {
            return Err(at(format!(
                "--eval needs a label column of `generic` or `custom`, got {other:?}"
            )));
        }
    };
    Ok(Some(NameLine {
        ip,
        name: name.to_string(),
        label,
        line_no,
    }))
}

/// The first line is a header (its first column is `ip`, `hostname` or `name`).
pub fn is_name_header(text: &str) -> bool {
    let first = text
        .split([',', '\t'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(first.as_str(), "ip" | "hostname" | "name")
}

/// Counts of an evaluation and its misclassified rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Labelled generic, classified generic.
    pub tp: u64,
    /// Labelled custom, classified generic.
    pub fp: u64,
    /// Labelled generic, classified custom.
    pub fn_: u64,
    /// Labelled custom, classified custom.
    pub tn: u64,
    /// One line per misclassified row: its line number, name, label, verdict, reasons.
    pub wrong: Vec<String>,
}

impl Evaluation {
    /// Precision for `generic`.
    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }

    /// Recall for `generic`.
    pub fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }

    /// F1 for `generic`.
    pub fn f1(&self) -> f64 {
        let (precision, recall) = (self.precision(), self.recall());
        if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        }
    }
}

/// The one-line summary: rows, precision, recall, F1 and the four counts.
impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Evaluation {
            tp, fp, fn_, tn, ..
        } = self;
        write!(
            f,
            "eval: {} rows, generic precision {:.4}, recall {:.4}, F1 {:.4} (tp {tp}, fp {fp}, fn {fn_}, tn {tn})",
            tp + fp + fn_ + tn,
            self.precision(),
            self.recall(),
            self.f1()
        )
    }
}

/// The summary prefix a row's neighbourhood is judged in: its /24 or /64.
fn prefix_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a) >> 8),
        IpAddr::V6(a) => (u128::from(a) >> 64) | (1 << 64),
    }
}

/// Names classified as they stream by, written as CSV ([`NAME_COLUMNS`]). Consecutive
/// rows of one prefix (/24, /64) are held until the prefix changes, so the
/// neighbourhood templates see them together; memory is one prefix's rows.
pub struct NameClassifier<W: Write> {
    rules: Arc<Rules>,
    out: csv::Writer<W>,
    pending: Vec<NameLine>,
    tally: Evaluation,
}

impl<W: Write> fmt::Debug for NameClassifier<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameClassifier")
            .field("pending", &self.pending)
            .field("tally", &self.tally)
            .finish_non_exhaustive()
    }
}

impl<W: Write> NameClassifier<W> {
    /// A classifier writing to `out`, its header written.
    pub fn new(rules: Arc<Rules>, out: W) -> Result<Self, csv::Error> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(NAME_COLUMNS)?;
        Ok(NameClassifier {
            rules,
            out,
            pending: Vec::new(),
            tally: Evaluation::default(),
        })
    }

    /// Adds a line; the held rows are written first when it starts another prefix (or
    /// has no address).
    pub fn push(&mut self, line: NameLine) -> Result<(), csv::Error> {
        let key = line.ip.map(prefix_key);
        if self.pending.last().and_then(|l| l.ip.map(prefix_key)) != key || key.is_none() {
            self.flush_prefix()?;
        }
        self.pending.push(line);
        Ok(())
    }

    /// Writes the rows still held: call once after the last line.
    pub fn finish(&mut self) -> Result<(), csv::Error> {
        self.flush_prefix()
    }

    /// Flushes the CSV to `out`.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// The evaluation of the labelled rows written so far.
    pub fn evaluation(&self) -> &Evaluation {
        &self.tally
    }

    /// Classifies the held rows (one prefix, or one row without an address), applies the
    /// prefix's templates, writes them and counts them against their labels.
    fn flush_prefix(&mut self) -> Result<(), csv::Error> {
        let (rules, pending, out, tally) = (
            &self.rules,
            &mut self.pending,
            &mut self.out,
            &mut self.tally,
        );
        let mut verdicts: Vec<_> = pending
            .iter()
            .map(|l| ptraudit_classify::classify_with(rules, l.ip, &l.name))
            .collect();
        if pending.len() >= ptraudit_classify::MIN_MEMBERS {
            let rows: Vec<(IpAddr, &str)> = pending
                .iter()
                .filter_map(|l| l.ip.map(|ip| (ip, l.name.as_str())))
                .collect();
            if rows.len() == pending.len() {
                for t in ptraudit_classify::templates(&rows) {
                    for &m in &t.members {
                        verdicts[m].apply_template(&t);
                    }
                }
            }
        }
        for (line, v) in pending.drain(..).zip(verdicts) {
            let reasons: Vec<&str> = v.codes().collect();
            out.write_record([
                line.ip.map(|a| a.to_string()).unwrap_or_default(),
                // The name only: `score` may be negative and stays a number.
                csv_guard(&line.name).into_owned(),
                v.generic.to_string(),
                v.score.to_string(),
                reasons.join(";"),
            ])?;
            if let Some(label) = line.label {
                match (v.generic, label) {
                    (true, true) => tally.tp += 1,
                    (true, false) => tally.fp += 1,
                    (false, true) => tally.fn_ += 1,
                    (false, false) => tally.tn += 1,
                }
                if v.generic != label {
                    tally.wrong.push(format!(
                        "line {}: {} labelled {}, classified {} ({})",
                        line.line_no,
                        line.name,
                        if label { "generic" } else { "custom" },
                        if v.generic { "generic" } else { "custom" },
                        reasons.join(";")
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_names_addresses_and_labels() {
        let line = parse_name_line("198.18.0.7,mail.example.test,custom", 3, true)
            .unwrap()
            .unwrap();
        assert_eq!(line.ip, Some("198.18.0.7".parse().unwrap()));
        assert_eq!(
            (line.name.as_str(), line.label),
            ("mail.example.test", Some(false))
        );
        // A leading tab is an empty first column: no address.
        let line = parse_name_line("\thost.example.test", 1, false)
            .unwrap()
            .unwrap();
        assert_eq!((line.ip, line.name.as_str()), (None, "host.example.test"));
        assert_eq!(parse_name_line("  # comment", 1, false).unwrap(), None);
        let err = parse_name_line("x,host.example.test", 4, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"line 4: "x" is not an IP address: "x,host.example.test""#
        );
        assert!(is_name_header("IP,hostname") && !is_name_header("198.18.0.7,a.test"));
    }

    #[test]
    fn evaluation_scores_generic() {
        let e = Evaluation {
            tp: 3,
            fp: 1,
            fn_: 1,
            tn: 5,
            wrong: Vec::new(),
        };
        assert_eq!((e.precision(), e.recall()), (0.75, 0.75));
        assert_eq!(
            e.to_string(),
            "eval: 10 rows, generic precision 0.7500, recall 0.7500, F1 0.7500 (tp 3, fp 1, fn 1, tn 5)"
        );
    }
}
