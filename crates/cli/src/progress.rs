//! Progress on stderr: an indicatif bar on a terminal, plain lines every few seconds
//! otherwise, nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ptraudit_scan::Progress;

pub(crate) struct Reporter {
    bar: Option<ProgressBar>,
    plain: bool,
    start: Instant,
    last_line: Instant,
    last: Progress,
    /// What the positions are: addresses, or a walk's blocks.
    what: &'static str,
}

const PLAIN_EVERY: Duration = Duration::from_secs(5);

impl Reporter {
    pub(crate) fn new(total: u64, quiet: bool, what: &'static str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(5));
            let style = ProgressStyle::with_template(&format!(
                "{{bar:32}} {{pos}}/{{len}} {what}  {{msg}}  ETA {{eta}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Reporter {
            bar,
            plain: !quiet && !terminal,
            start: Instant::now(),
            last_line: Instant::now(),
            last: Progress::default(),
            what,
        }
    }

    fn rate(&self) -> f64 {
        self.last.queries as f64 / self.start.elapsed().as_secs_f64().max(1e-3)
    }

    pub(crate) fn update(&mut self, p: &Progress) {
        self.last = *p;
        if let Some(bar) = &self.bar {
            bar.set_position(p.done);
            bar.set_message(format!("{:.0} q/s  {} errors", self.rate(), p.errors));
        } else if self.plain && self.last_line.elapsed() >= PLAIN_EVERY {
            self.last_line = Instant::now();
            eprintln!(
                "ptraudit: {}/{} {}, {} queries, {:.0} q/s, {} errors",
                p.done,
                p.total,
                self.what,
                p.queries,
                self.rate(),
                p.errors
            );
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.plain {
            eprintln!(
                "ptraudit: done: {} {}, {} queries in {:.1} s ({:.0} q/s), {} errors",
                self.last.done,
                self.what,
                self.last.queries,
                self.start.elapsed().as_secs_f64(),
                self.rate(),
                self.last.errors
            );
        }
    }
}
