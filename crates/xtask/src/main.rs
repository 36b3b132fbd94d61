//! `cargo xtask <command>`: the project's task runner.
//!
//! Everything a developer or CI does — install what a bare machine lacks, build and assemble the
//! OFX bundle, install it for a host, run the demo, run the tests — is one command here, so the
//! README and `.ci/run` never drift apart from what is really done.

mod bundle;
mod cross;
mod demo;
mod export_models;
mod gpu_check;
mod hostdemo;
mod icons;
mod install;
mod models;
mod msrv;
mod nvrtc;
mod pixels;
mod python;
mod release;
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
    /// Build the plugin and the CLI (Linux: glibc 2.28 with zig) and assemble
    /// target/bundle/DeepMatte.ofx.bundle.
    Bundle {
        /// Also build for these platforms (windows: mingw-w64; macos: arm64, links but never run).
        #[arg(long = "also", value_enum, value_delimiter = ',')]
        also: Vec<bundle::Platform>,
    },
    /// Build for Linux and Windows and write the release archives into target/dist/.
    Release {
        /// Also build and pack macOS arm64 (links here, has never run; minutes on two cores).
        #[arg(long)]
        macos: bool,
    },
    /// Copy the bundle into the OFX plugin folder ($OFX_PLUGIN_PATH, else the system one).
    Install {
        /// Folder to install into, instead of the default one.
        #[arg(long)]
        dest: Option<PathBuf>,
    },
    /// Download the real models of models/manifest.toml, verify their sha256 (`deepmatte models install all`;
    /// default into the per-user models folder).
    Models {
        /// Model folder to install into.
        #[arg(long)]
        dest: Option<PathBuf>,
    },
    /// Export SAM 2.1 tiny and small and (with --random-weights) Depth Anything V2 Small with the
    /// project's exporters, in a pinned venv made on demand under .cache (~3 GB of wheels).
    ExportModels {
        /// The official architectures with seeded random weights, no checkpoint (for the tests;
        /// default folder .cache/models/real-arch).
        #[arg(long)]
        random_weights: bool,
        /// Model folder to write into (default: .cache/models/real-arch with --random-weights, else
        /// the per-user models folder).
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
        Command::Bundle { also } => bundle::run(&also).map(|_| ()),
        Command::Release { macos } => release::run(macos).map(|_| ()),
        Command::Install { dest } => install::run(dest),
        Command::Models { dest } => models::run(dest),
        Command::ExportModels { random_weights, dest } => export_models::run(random_weights, dest),
        Command::Sample => sample::run(),
        Command::Demo => demo::run(),
        Command::Test => test::run(),
        Command::GpuCheck => gpu_check::run(),
    }
}
