//! `cargo xtask <command>`: the project's task runner.
//!
//! Everything a developer or CI does — install what a bare machine lacks, build and assemble the
//! OFX bundle, install it for a host, run the demo, run the tests — is one command here, so the
//! README and `.ci/run` never drift apart from what is really done.

mod bundle;
mod demo;
mod gpu_check;
mod hostdemo;
mod icons;
mod install;
mod models;
mod msrv;
mod nvrtc;
mod pixels;
mod python;
mod sample;
mod setup;
mod test;
mod util;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "DeepMatte project tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what a bare machine lacks (system packages) and build the OpenFX hostDemo; idempotent.
    Setup,
    /// Build the plugin and assemble target/bundle/DeepMatte.ofx.bundle.
    Bundle,
    /// Copy the bundle into the OFX plugin folder ($OFX_PLUGIN_PATH, else the system one).
    Install {
        /// Folder to install into, instead of the default one.
        #[arg(long)]
        dest: Option<PathBuf>,
    },
    /// Download the real models of models/manifest.toml, verify their sha256 (default into .cache/models).
    Models {
        /// Model folder to install into.
        #[arg(long)]
        dest: Option<PathBuf>,
    },
    /// Regenerate the shipped sample image under samples/.
    Sample,
    /// Render the shipped sample through Luma Matte Extract with the `deepmatte` CLI into target/demo/.
    Demo,
    /// Setup, bundle, build everything, then run every test of the workspace against the bundle.
    Test,
    /// Stage the CUDA path's check (GPU tests, resolve-cuda renders, per-stage times) into
    /// target/gpu-check/ and run it when this machine has an NVIDIA GPU.
    GpuCheck,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Setup => setup::run(),
        Command::Bundle => bundle::run().map(|_| ()),
        Command::Install { dest } => install::run(dest),
        Command::Models { dest } => models::run(dest),
        Command::Sample => sample::run(),
        Command::Demo => demo::run(),
        Command::Test => test::run(),
        Command::GpuCheck => gpu_check::run(),
    }
}
