//! Shared by the CLI's integration tests: where the bundle is, running the built `deepmatte`,
//! and recording tests that cannot run on this machine.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The bundle under test, from `DEEPMATTE_BUNDLE` (set by `cargo xtask test`).
pub fn bundle() -> PathBuf {
    match std::env::var_os("DEEPMATTE_BUNDLE") {
        Some(path) => PathBuf::from(path),
        None => panic!("DEEPMATTE_BUNDLE is not set: run the tests with `cargo xtask test`, which builds the bundle"),
    }
}

/// Runs the built `deepmatte` with the bundle under test.
pub fn deepmatte(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deepmatte"));
    cmd.args(args).env("DEEPMATTE_BUNDLE", bundle());
    cmd.output().expect("cannot run deepmatte")
}

/// The command's stderr, for error-message checks.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts success, showing what the command said otherwise.
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "deepmatte failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
}

/// Asserts failure with a message containing every one of `needles`; returns the message.
pub fn assert_fails_with(out: &Output, needles: &[&str]) -> String {
    let err = stderr(out);
    assert!(!out.status.success(), "deepmatte should have failed; stderr: {err}");
    for needle in needles {
        assert!(err.contains(needle), "error message lacks {needle:?}: {err}");
    }
    err
}

/// Says loudly that a test could not run here, and records it for `cargo xtask test`'s summary.
pub fn skip(test: &str, reason: &str) {
    eprintln!("!!! SKIPPED {test}: {reason}");
    if let Some(log) = std::env::var_os("DEEPMATTE_SKIP_LOG") {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("skip log");
        writeln!(file, "{test}: {reason}").expect("write skip log");
    }
}
