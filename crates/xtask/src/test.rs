//! `cargo xtask test`: the one test command (README and `.ci/run`). It prepares what the tests need
//! — system packages, the hostDemo, the bundle — runs every test of the workspace against the
//! bundle, and ends with one summary line.
//!
//! Tests find what they need through the environment:
//! - `DEEPMATTE_BUNDLE`: the assembled `DeepMatte.ofx.bundle` (absolute path);
//! - `DEEPMATTE_HOSTDEMO`: the built OpenFX hostDemo;
//! - `DEEPMATTE_SKIP_LOG`: a file where a test that cannot run on this machine (no GPU, no ffmpeg)
//!   appends one line `test name: reason` before returning; those are counted as skipped, not
//!   passed, and listed loudly at the end. `#[ignore]`d tests are counted as skipped too.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use anyhow::{bail, Context, Result};

use crate::{bundle, hostdemo, nvrtc, setup, util};

/// Runs the whole test suite; exits with cargo test's code when a test fails.
pub fn run() -> Result<()> {
    setup::run()?;
    let bundle = bundle::run()?;
    println!("test: building the workspace");
    util::run(util::cargo().args(["build", "--release", "--workspace"]))?;

    let skip_log = util::target_dir().join("test-skips.log");
    if skip_log.exists() {
        std::fs::remove_file(&skip_log)?;
    }
    let mut cargo_test = util::cargo();
    cargo_test
        .args(["test", "--release", "--workspace", "--no-fail-fast"])
        .env("DEEPMATTE_BUNDLE", &bundle)
        .env("DEEPMATTE_SKIP_LOG", &skip_log)
        .env("DEEPMATTE_NVRTC_DIR", nvrtc::dir())
        .stdout(Stdio::piped());
    if hostdemo::binary().is_file() {
        cargo_test.env("DEEPMATTE_HOSTDEMO", hostdemo::binary());
    }
    println!("  $ {cargo_test:?}");
    let mut child = cargo_test.spawn().context("cannot start cargo test")?;
    let mut tally = Tally::default();
    for line in BufReader::new(child.stdout.take().context("cargo test has no stdout")?).lines() {
        let line = line?;
        println!("{line}");
        tally.read(&line);
    }
    let status = child.wait()?;
    let skipped_here: Vec<String> = std::fs::read_to_string(&skip_log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();

    let passed = tally.passed.saturating_sub(skipped_here.len());
    let skipped = tally.ignored.len() + skipped_here.len();
    println!();
    println!("==================== DeepMatte tests ====================");
    println!("bundle:   {}", bundle.display());
    println!("hostDemo: {}", hostdemo::binary().display());
    println!("{} test binaries ran; {passed} passed, {} failed, {skipped} skipped", tally.binaries, tally.failed);
    if skipped > 0 {
        println!("!!! {skipped} test(s) did NOT run (not possible on this machine, or #[ignore]d):");
        for line in tally.ignored.iter().chain(&skipped_here) {
            println!("!!!   {line}");
        }
    }
    println!("summary: {passed} passed, {} failed, {skipped} skipped", tally.failed);

    if !status.success() {
        if tally.binaries == 0 {
            bail!("cargo test failed before running any test ({status})");
        }
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}

/// Counts read from cargo test's output.
#[derive(Default)]
struct Tally {
    binaries: usize,
    passed: usize,
    failed: usize,
    /// `name: reason` of each `#[ignore]`d test.
    ignored: Vec<String>,
}

impl Tally {
    /// Reads one line of libtest output: `test NAME ... ignored[, REASON]` or
    /// `test result: ok. 5 passed; 0 failed; 1 ignored; ...`.
    fn read(&mut self, line: &str) {
        if let Some(counts) = line.strip_prefix("test result: ") {
            self.binaries += 1;
            self.passed += count(counts, "passed");
            self.failed += count(counts, "failed");
        } else if let Some((name, outcome)) = line.strip_prefix("test ").and_then(|l| l.split_once(" ... ")) {
            if let Some(reason) = outcome.strip_prefix("ignored") {
                let reason = reason.trim_start_matches(", ");
                self.ignored.push(format!("{name}: {}", if reason.is_empty() { "ignored" } else { reason }));
            }
        }
    }
}

/// The number before `word` in `ok. 5 passed; 0 failed; ...`.
fn count(counts: &str, word: &str) -> usize {
    counts
        .split(';')
        .find_map(|part| part.trim().trim_start_matches(|c: char| !c.is_ascii_digit()).strip_suffix(word))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtest_output() {
        let mut tally = Tally::default();
        tally.read("test a::b ... ok");
        tally.read("test gpu::same_as_cpu ... ignored, needs a CUDA device");
        tally.read("test slow ... ignored");
        tally.read("test result: FAILED. 5 passed; 2 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        tally.read("test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s");
        assert_eq!((tally.binaries, tally.passed, tally.failed), (2, 8, 2));
        assert_eq!(tally.ignored, ["gpu::same_as_cpu: needs a CUDA device", "slow: ignored"]);
    }
}
