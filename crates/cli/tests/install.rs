//! What a package installs beside the binary: `--version`, completions, the man page.

use std::process::Command;

use crate::util::{ptraudit, text};

/// `--version` names the commit the binary was built from (the issue-29 ask), the one
/// git reports for this tree when git is there.
#[test]
fn version_names_the_commit() {
    let o = ptraudit(&["--version"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        out.starts_with(&format!("ptraudit {version} (commit ")),
        "{out}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match (head, std::env::var("PTRAUDIT_COMMIT")) {
        (_, Ok(set)) if !set.is_empty() => assert!(out.contains(&set), "{out}"),
        (Some(head), _) => assert!(out.contains(&format!("(commit {head})")), "{out}"),
        (None, _) => assert!(out.contains("(commit unknown)"), "{out}"),
    }
}

#[test]
fn completions_for_every_shell_name_the_commands_and_options() {
    for (shell, marker) in [
        ("bash", "_ptraudit()"),
        ("zsh", "#compdef ptraudit"),
        ("fish", "complete -c ptraudit"),
        ("elvish", "edit:completion:arg-completer[ptraudit]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let o = ptraudit(&["completions", shell]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(0), "{shell}: {err}");
        assert!(out.contains(marker), "{shell}: no {marker}");
        for word in ["scan", "report", "resolver", "checkpoint", "allow-overlap"] {
            assert!(out.contains(word), "{shell}: no {word}");
        }
    }
    // bash accepts what it is given.
    let o = ptraudit(&["completions", "bash"]);
    let script = std::env::temp_dir().join(format!("ptraudit-compl-{}.bash", std::process::id()));
    std::fs::write(&script, &o.stdout).unwrap();
    let checked = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    std::fs::remove_file(&script).unwrap();
    assert!(checked.success(), "bash -n rejects the completion script");
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let o = ptraudit(&["completions", "tcsh"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("tcsh"), "{err}");
}

/// One page: the tool, then each command's synopsis and options as a section.
#[test]
fn man_page_covers_every_command_and_its_options() {
    let o = ptraudit(&["man"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        out.starts_with(".ie") || out.contains(".TH ptraudit 1"),
        "{out:.200}"
    );
    for command in ["SCAN", "CHECK", "REPORT", "CLASSIFY", "DEMO"] {
        assert!(
            out.contains(&format!(".SH \"PTRAUDIT {command}\"")),
            "no section for {command}"
        );
    }
    for option in ["resolver", "checkpoint", "allow\\-overlap", "print\\-rules"] {
        assert!(out.contains(option), "no {option}");
    }
    // man(1) renders it without complaint where man-db is installed.
    let page = std::env::temp_dir().join(format!("ptraudit-{}.1", std::process::id()));
    std::fs::write(&page, &o.stdout).unwrap();
    if let Ok(r) = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANWIDTH", "80")
        .output()
    {
        let rendered = String::from_utf8_lossy(&r.stdout);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        assert!(rendered.contains("ptraudit scan"), "{rendered:.400}");
    }
    std::fs::remove_file(&page).unwrap();
}
