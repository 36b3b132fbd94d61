//! `cargo xtask test`: the one test command (README and `.ci/run`). It prepares what the tests need
//! — system packages, the hostDemo, the bundle — checks the declared minimum Rust version
//! ([`crate::msrv`]), runs every test of the workspace against the bundle, and ends with one
//! summary line.
//!
//! The bundle comes from `cargo xtask release`, run once here: it builds the shipped binaries (Linux
//! against glibc 2.28, Windows with mingw-w64) and writes the archives the release tests unpack.
//!
//! Tests find what they need through the environment:
//! - `DEEPMATTE_BUNDLE`: the assembled `DeepMatte.ofx.bundle` (absolute path), holding the very
//!   Linux binaries the release archive ships;
//! - `DEEPMATTE_DIST`: `target/dist`, the release archives (crates/xtask/tests/release.rs);
//! - `DEEPMATTE_HOSTDEMO`: the built OpenFX hostDemo;
//! - `DEEPMATTE_FIGURES`: a file where tests append the figures they measured (symbol versions,
//!   Wine against Linux), shown before the summary;
//! - `DEEPMATTE_SKIP_LOG`: a file where a test that cannot run on this machine (no GPU, no ffmpeg)
//!   appends one line `test name: reason` before returning; those are counted as skipped, not
//!   passed, and listed loudly at the end. `#[ignore]`d tests are counted as skipped too.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{bundle, hostdemo, msrv, nvrtc, release, setup, util};

/// Runs the whole test suite; exits with cargo test's code when a test fails.
pub fn run() -> Result<()> {
    setup::run()?;
    let started = Instant::now();
    release::run(false)?;
    let release_secs = started.elapsed().as_secs_f64();
    let bundle = bundle::path();
    println!("test: building the workspace");
    util::run(util::cargo().args(["build", "--release", "--workspace"]))?;

    let skip_log = util::target_dir().join("test-skips.log");
    if skip_log.exists() {
        std::fs::remove_file(&skip_log)?;
    }
    let figures = util::target_dir().join("test-figures.log");
    if figures.exists() {
        std::fs::remove_file(&figures)?;
    }
    let mut skips = Vec::new();
    msrv::check(&mut skips)?;
    if !skips.is_empty() {
        std::fs::write(&skip_log, skips.iter().map(|s| format!("{s}\n")).collect::<String>())?;
    }
    let user_data = util::target_dir().join("test-user-data");
    if user_data.exists() {
        std::fs::remove_dir_all(&user_data)?;
    }
    std::fs::create_dir_all(&user_data)?;
    let mut cargo_test = util::cargo();
    cargo_test
        .args(["test", "--release", "--workspace", "--no-fail-fast"])
        .env("DEEPMATTE_BUNDLE", &bundle)
        .env("DEEPMATTE_DIST", release::dist())
        .env("DEEPMATTE_FIGURES", &figures)
        .env("DEEPMATTE_SKIP_LOG", &skip_log)
        // Models installed for this user (or named by the environment) must not answer for the
        // tests' own model folders: the search falls through to them otherwise.
        .env("XDG_DATA_HOME", &user_data)
        .env_remove("DEEPMATTE_MODELS")
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
    let sanitized = sanitized_kernels(&skip_log, &mut tally);
    let skipped_here: Vec<String> = std::fs::read_to_string(&skip_log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();

    // Skips logged by tests were counted as passed by libtest; the MSRV check's own were not.
    let passed = (tally.passed + skips.len()).saturating_sub(skipped_here.len());
    let skipped = tally.ignored.len() + skipped_here.len();
    println!();
    println!("==================== DeepMatte tests ====================");
    println!("bundle:   {}", bundle.display());
    println!("hostDemo: {}", hostdemo::binary().display());
    println!("release:  {} (builds for Linux glibc 2.28 and Windows, archives: {release_secs:.0} s)", release::dist().display());
    for line in std::fs::read_to_string(&figures).unwrap_or_default().lines() {
        println!("figure:   {line}");
    }
    println!("{} test binaries ran; {passed} passed, {} failed, {skipped} skipped", tally.binaries, tally.failed);
    if skipped > 0 {
        println!("!!! {skipped} test(s) did NOT run (not possible on this machine, or #[ignore]d):");
        for line in tally.ignored.iter().chain(&skipped_here) {
            println!("!!!   {line}");
        }
    }
    println!("summary: {passed} passed, {} failed, {skipped} skipped", tally.failed);

    if let Err(e) = &sanitized {
        println!("!!! the kernels' sanitizer run failed: {e:#}");
    }
    if !status.success() || sanitized.is_err() {
        if tally.binaries == 0 {
            bail!("cargo test failed before running any test ({status})");
        }
        std::process::exit(status.code().filter(|&c| c != 0).unwrap_or(1));
    }
    Ok(())
}

/// The kernels' CPU emulation again, built with AddressSanitizer and UBSan
/// (`DEEPMATTE_GPU_SANITIZE=1`, crates/gpu/build.rs): the twin tests and the sanitizer's own
/// check. The Rust test binaries are not instrumented, so the sanitizer runtime has to come first
/// in the process: the binaries run directly with it in `LD_PRELOAD` (not through `cargo test`,
/// which would preload it into cargo and rustc too).
fn sanitized_kernels(skip_log: &std::path::Path, tally: &mut Tally) -> Result<()> {
    println!("test: the CUDA kernels' CPU emulation under AddressSanitizer");
    let runtime = |lib: &str| -> Result<String> {
        let out = std::process::Command::new("gcc").arg(format!("-print-file-name={lib}")).output().context("gcc")?;
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !std::path::Path::new(&path).is_absolute() {
            bail!("gcc does not know where {lib} is ({path})");
        }
        Ok(path)
    };
    let preload = format!("{} {}", runtime("libasan.so")?, runtime("libubsan.so")?);
    let out = util::cargo()
        .args(["test", "--release", "-p", "gpu", "--test", "twins", "--test", "sanitizer", "--no-run", "--message-format=json"])
        .env("DEEPMATTE_GPU_SANITIZE", "1")
        .stderr(Stdio::inherit())
        .output()
        .context("cannot build the sanitizer tests")?;
    if !out.status.success() {
        bail!("building the sanitizer tests failed ({})", out.status);
    }
    let json = String::from_utf8_lossy(&out.stdout);
    let binaries: Vec<&str> = json.match_indices("\"executable\":\"").filter_map(|(at, m)| json[at + m.len()..].split('"').next()).collect();
    if binaries.len() != 2 {
        bail!("expected 2 sanitizer test binaries, cargo built {binaries:?}");
    }
    for binary in binaries {
        println!("  $ LD_PRELOAD=... {binary}");
        let run = std::process::Command::new(binary)
            .env("LD_PRELOAD", &preload)
            .env("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
            .env("DEEPMATTE_SKIP_LOG", skip_log)
            .output()
            .with_context(|| format!("cannot run {binary}"))?;
        let text = String::from_utf8_lossy(&run.stdout);
        for line in text.lines() {
            println!("{line}");
            tally.read(line);
        }
        if !run.status.success() {
            println!("{}", String::from_utf8_lossy(&run.stderr));
            bail!("{binary} failed under the sanitizer ({})", run.status);
        }
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
