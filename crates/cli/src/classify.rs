//! `ptraudit classify`: the generic-name classifier on a list of names, with `--eval`
//! against labels.

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Args;
use ptraudit_classify::Rules;

use crate::{Failure, exit, runtime, usage};

/// `--rules FILE`: shared by the commands that classify names.
#[derive(Debug, Clone, Args)]
pub(crate) struct RulesArg {
    /// Extra generic-name rules, added to (and overriding) the built-in ones: word lists
    /// and name patterns, in the syntax of the built-in file (`ptraudit classify
    /// --print-rules` shows it).
    #[arg(long = "rules", value_name = "FILE")]
    rules: Option<PathBuf>,
}

impl RulesArg {
    /// The rules file given, if any.
    pub(crate) fn path(&self) -> Option<&std::path::Path> {
        self.rules.as_deref()
    }

    /// The built-in rules, extended by the file when one was given.
    pub(crate) fn load(&self) -> Result<Arc<Rules>, Failure> {
        let mut rules = Rules::builtin().clone();
        if let Some(path) = &self.rules {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the rules file {}", path.display()))
                .map_err(usage)?;
            rules
                .extend(&text)
                .with_context(|| format!("in the rules file {}", path.display()))
                .map_err(usage)?;
        }
        Ok(Arc::new(rules))
    }
}

/// Arguments of `ptraudit classify`.
#[derive(Debug, Args)]
pub(crate) struct ClassifyArgs {
    /// Input: one `hostname`, `ip,hostname` or `ip<TAB>hostname` per line (a header row
    /// is recognised); `-` or nothing for stdin. With --eval a third column `label`
    /// (`generic` or `custom`). Consecutive rows of one /24 or /64 are also judged
    /// together: names that follow one template whose number tracks the address get
    /// `template:<pattern>` (sort the input by address to give every prefix its rows).
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,
    /// Compare with the labels: precision, recall and F1 for `generic`, and the
    /// misclassified rows.
    #[arg(long)]
    eval: bool,
    #[command(flatten)]
    rules: RulesArg,
    /// Print the built-in rules file (the syntax --rules files use) and exit.
    #[arg(long, exclusive = true)]
    print_rules: bool,
}

struct Line {
    ip: Option<IpAddr>,
    name: String,
    label: Option<bool>,
    line_no: usize,
}

fn parse_line(text: &str, line_no: usize, eval: bool) -> Result<Option<Line>, Failure> {
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
    let at = |m: String| usage(anyhow!("line {line_no}: {m}: {t:?}"));
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
    Ok(Some(Line {
        ip,
        name: name.to_string(),
        label,
        line_no,
    }))
}

/// Counts of an evaluation and its misclassified rows.
#[derive(Default)]
struct Tally {
    tp: u64,
    fp: u64,
    fn_: u64,
    tn: u64,
    wrong: Vec<String>,
}

/// The summary prefix a row's neighbourhood is judged in: its /24 or /64.
fn prefix_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a) >> 8),
        IpAddr::V6(a) => (u128::from(a) >> 64) | (1 << 64),
    }
}

/// Classifies the held rows (one prefix, or one row without an address), applies the
/// prefix's templates, writes them and counts them against their labels.
fn flush<W: Write>(
    rules: &Rules,
    pending: &mut Vec<Line>,
    out: &mut csv::Writer<W>,
    tally: &mut Tally,
) -> Result<(), Failure> {
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
    let write_err = |e: csv::Error| runtime(anyhow!(e));
    for (line, v) in pending.drain(..).zip(verdicts) {
        let reasons: Vec<&str> = v.codes().collect();
        out.write_record([
            line.ip.map(|a| a.to_string()).unwrap_or_default(),
            // The name only: `score` may be negative and stays a number.
            ptraudit_report::csv_guard(&line.name).into_owned(),
            v.generic.to_string(),
            v.score.to_string(),
            reasons.join(";"),
        ])
        .map_err(write_err)?;
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

fn is_header(text: &str) -> bool {
    let first = text
        .split([',', '\t'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(first.as_str(), "ip" | "hostname" | "name")
}

pub(crate) fn run(args: ClassifyArgs) -> Result<u8, Failure> {
    if args.print_rules {
        print!("{}", ptraudit_classify::DEFAULT_RULES);
        return Ok(exit::OK);
    }
    let rules = args.rules.load()?;
    let reader: Box<dyn BufRead> = match &args.input {
        None => Box::new(BufReader::new(std::io::stdin())),
        Some(p) if p.as_os_str() == "-" => Box::new(BufReader::new(std::io::stdin())),
        Some(p) => Box::new(BufReader::new(
            std::fs::File::open(p)
                .with_context(|| format!("cannot read {}", p.display()))
                .map_err(usage)?,
        )),
    };
    let stdout = std::io::stdout();
    let mut out = csv::Writer::from_writer(stdout.lock());
    let write_err = |e: csv::Error| runtime(anyhow!(e));
    out.write_record(["ip", "hostname", "generic", "score", "reasons"])
        .map_err(write_err)?;
    let mut tally = Tally::default();
    // Consecutive rows of one prefix (/24, /64) are held until the prefix changes, so
    // the neighbourhood templates see them together; memory is one prefix's rows.
    let mut pending: Vec<Line> = Vec::new();
    for (i, text) in reader.lines().enumerate() {
        let text = text.context("reading the input").map_err(usage)?;
        if i == 0 && is_header(&text) {
            continue;
        }
        let Some(line) = parse_line(&text, i + 1, args.eval)? else {
            continue;
        };
        let key = line.ip.map(prefix_key);
        if pending.last().and_then(|l| l.ip.map(prefix_key)) != key || key.is_none() {
            flush(&rules, &mut pending, &mut out, &mut tally)?;
        }
        pending.push(line);
    }
    flush(&rules, &mut pending, &mut out, &mut tally)?;
    let Tally {
        tp,
        fp,
        fn_,
        tn,
        wrong,
    } = tally;
    out.flush().context("writing results").map_err(runtime)?;
    if args.eval {
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / (tp + fn_).max(1) as f64;
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "eval: {} rows, generic precision {precision:.4}, recall {recall:.4}, F1 {f1:.4} (tp {tp}, fp {fp}, fn {fn_}, tn {tn})",
            tp + fp + fn_ + tn
        );
        for w in &wrong {
            let _ = writeln!(err, "  {}", ptraudit_report::printable(w));
        }
    }
    Ok(exit::OK)
}
