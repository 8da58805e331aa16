//! Records the commit the binary is built from, for `ptraudit --version`.
//!
//! From `PTRAUDIT_COMMIT` when set (a build from a tarball or inside a container, where
//! there is no `.git`), else from `git rev-parse` in the source tree; `unknown` when
//! neither is available. Uncommitted changes are not marked: telling them would mean
//! rerunning this script, and rebuilding the binary, on every build.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=PTRAUDIT_COMMIT");
    let commit = std::env::var("PTRAUDIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            let head = git(&["rev-parse", "--short=12", "HEAD"])?;
            // Rerun when HEAD moves: HEAD itself (a checkout) and the ref it names (a
            // commit); both paths come from git, so worktrees work.
            if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", "HEAD"]) {
                println!("cargo:rerun-if-changed={p}");
            }
            let branch = git(&["symbolic-ref", "-q", "HEAD"]);
            for path in branch.iter().map(String::as_str).chain(["packed-refs"]) {
                // Only files that exist: cargo reruns the script on every build for a
                // missing one.
                if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", path])
                    .filter(|p| std::path::Path::new(p).exists())
                {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            Some(head)
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PTRAUDIT_COMMIT={commit}");
}
