//! The declared minimum Rust version (`rust-version` in the workspace `Cargo.toml`) is checked,
//! not hoped for, in two ways:
//! - no dependency declares a newer `rust-version` than ours (today ONNX Runtime's `ort` sets
//!   the floor: 1.92);
//! - clippy's `incompatible_msrv` lint, which knows when every std API was stabilised, finds no
//!   use of a newer one in our own code (it would have caught `is_multiple_of`, 1.87, under the
//!   old 1.82 claim).
//!
//! The machine has one toolchain, so "builds on exactly that version" cannot be tried here;
//! language features are covered by the edition (2021) and by the dependencies' floor.

use anyhow::{bail, Context, Result};

use crate::util;

/// A `major.minor[.patch]` version as numbers, for comparing.
fn parse(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next().flatten().unwrap_or(0), parts.next().flatten().unwrap_or(0)))
}

/// Runs both checks; `skip` records why the clippy half could not run (no clippy installed).
pub fn check(skip: &mut Vec<String>) -> Result<()> {
    println!("test: checking the minimum Rust version");
    let out = util::cargo().args(["metadata", "--format-version", "1", "--locked"]).output().context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata gave no JSON")?;
    let members: Vec<&str> = metadata["workspace_members"].as_array().into_iter().flatten().filter_map(|m| m.as_str()).collect();
    let packages = metadata["packages"].as_array().context("cargo metadata lists no packages")?;
    let ours = packages
        .iter()
        .filter(|p| members.contains(&p["id"].as_str().unwrap_or("")))
        .map(|p| (p["name"].as_str().unwrap_or("?"), p["rust_version"].as_str()))
        .collect::<Vec<_>>();
    let Some(declared) = ours.iter().find_map(|(_, v)| *v) else { bail!("no workspace package declares rust-version") };
    if let Some((name, _)) = ours.iter().find(|(_, v)| *v != Some(declared)) {
        bail!("package {name} does not inherit rust-version = {declared} (add `rust-version.workspace = true`)");
    }
    let floor = parse(declared).with_context(|| format!("rust-version {declared:?} is not a version"))?;
    let newer: Vec<String> = packages
        .iter()
        .filter_map(|p| Some((p["name"].as_str()?, p["version"].as_str()?, p["rust_version"].as_str()?)))
        .filter(|(_, _, v)| parse(v).is_some_and(|v| v > floor))
        .map(|(name, version, v)| format!("{name} {version} needs Rust {v}"))
        .collect();
    if !newer.is_empty() {
        bail!("rust-version = {declared} is below what dependencies need: {}", newer.join(", "));
    }
    let has_clippy = util::cargo().args(["clippy", "--version"]).output().is_ok_and(|o| o.status.success());
    if !has_clippy {
        println!("!!! clippy is not installed: the std-API half of the MSRV check did not run");
        skip.push("msrv::incompatible_msrv: clippy is not installed".into());
        return Ok(());
    }
    util::run(util::cargo().args(["clippy", "--release", "--workspace", "--all-targets", "--", "-A", "clippy::all", "-D", "clippy::incompatible_msrv"]))
        .with_context(|| format!("code uses a std API newer than rust-version = {declared}"))?;
    println!("  rust-version {declared}: no dependency needs newer, no newer std API used");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn versions_compare_as_numbers() {
        assert!(parse("1.92").unwrap() > parse("1.88.0").unwrap());
        assert!(parse("1.100").unwrap() > parse("1.92").unwrap());
        assert_eq!(parse("1.92"), Some((1, 92, 0)));
        assert_eq!(parse("x"), None);
    }
}
