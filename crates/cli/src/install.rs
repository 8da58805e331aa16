//! `ptraudit completions SHELL` and `ptraudit man`: what a package installs beside the
//! binary, generated from the clap definitions so they never disagree with `--help`.

use std::io::Write;

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::{Cli, Failure, exit, runtime};

/// Arguments of `ptraudit completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Writes the completion script for `args.shell` to stdout.
pub(crate) fn completions(args: CompletionsArgs) -> Result<u8, Failure> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "ptraudit", &mut out);
    write_stdout(&out)
}

/// Writes the man page (section 1, roff) of `ptraudit` and its subcommands to stdout.
pub(crate) fn man() -> Result<u8, Failure> {
    let command = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut out)
        .context("rendering the man page")
        .map_err(runtime)?;
    // One page for the whole tool: each subcommand's options as a section of its own,
    // as git's and cargo's single-page summaries do.
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("ptraudit {}", sub.get_name());
        writeln!(out, ".SH \"{}\"", name.to_uppercase()).map_err(runtime)?;
        let sub = sub.clone().bin_name(name);
        let man = clap_mangen::Man::new(sub);
        for part in [
            Man::render_synopsis_section as Render,
            Man::render_description_section,
            Man::render_options_section,
        ] {
            let mut section = Vec::new();
            part(&man, &mut section).map_err(runtime)?;
            out.extend(demote_headings(&section));
        }
    }
    write_stdout(&out)
}

type Man = clap_mangen::Man;
type Render = fn(&Man, &mut dyn Write) -> std::io::Result<()>;

/// A subcommand's sections become subsections (`.SH` -> `.SS`) under its own heading.
fn demote_headings(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    text.lines()
        .map(|l| match l.strip_prefix(".SH ") {
            Some(rest) => format!(".SS {rest}\n"),
            None => format!("{l}\n"),
        })
        .collect::<String>()
        .into_bytes()
}

fn write_stdout(bytes: &[u8]) -> Result<u8, Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("writing to stdout")
        .map_err(runtime)?;
    Ok(exit::OK)
}
