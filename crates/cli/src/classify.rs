//! `ptraudit classify`: the generic-name classifier on a list of names, with `--eval`
//! against labels (the list, its verdicts and the evaluation:
//! [`ptraudit_report::NameClassifier`]); `--rules FILE` for every command that classifies.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Args;
use ptraudit_classify::Rules;
use ptraudit_report::{NameClassifier, is_name_header, parse_name_line};

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
    let write_err = |e: csv::Error| runtime(anyhow!(e));
    let mut names = NameClassifier::new(rules, stdout.lock()).map_err(write_err)?;
    for (i, text) in reader.lines().enumerate() {
        let text = text.context("reading the input").map_err(usage)?;
        if i == 0 && is_name_header(&text) {
            continue;
        }
        let Some(line) = parse_name_line(&text, i + 1, args.eval).map_err(usage)? else {
            continue;
        };
        names.push(line).map_err(write_err)?;
    }
    names.finish().map_err(write_err)?;
    names.flush().context("writing results").map_err(runtime)?;
    if args.eval {
        let evaluation = names.evaluation();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{evaluation}");
        for w in &evaluation.wrong {
            let _ = writeln!(err, "  {}", ptraudit_report::printable(w));
        }
    }
    Ok(exit::OK)
}
