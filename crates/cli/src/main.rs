//! `deepmatte`: renders images, image sequences and videos through the DeepMatte OFX bundle,
//! loaded by the headless host `ofx-host` exactly as a compositing application would load it.
//!
//! ```text
//! deepmatte list [--bundle PATH]
//! deepmatte render --effect luma-matte-extract --input in.png --output matte.png --set output=matte_rgba
//! deepmatte models install [depth|all] [--dest DIR]
//! deepmatte gpu install [--dest DIR] [--from DIR]
//! deepmatte gpu where
//! ```

mod formats;
mod gpu;
mod list;
mod locate;
mod media;
mod models;
mod pipeline;
mod render;
mod sequence;
mod video;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ofx_host::{Bundle, HostProfile};

#[derive(Parser)]
#[command(name = "deepmatte", version, about = "Render images, sequences and videos through the DeepMatte OFX plugins")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the bundle's effects: contexts, clips, and every parameter with its type, range,
    /// default and choice options.
    List {
        #[command(flatten)]
        host: HostArgs,
    },
    /// Render frames through an effect.
    Render(Box<render::RenderArgs>),
    /// Install the models the effects need, or show where they are looked for.
    Models {
        #[command(subcommand)]
        command: models::ModelsCommand,
    },
    /// Install the GPU runtime (ONNX Runtime GPU, CUDA 13, cuDNN 9, NVRTC) the plugin loads, or
    /// show where it is looked for.
    Gpu {
        #[command(subcommand)]
        command: gpu::GpuCommand,
    },
}

/// How to load the bundle.
#[derive(Args)]
pub struct HostArgs {
    /// The DeepMatte.ofx.bundle to load [default: $DEEPMATTE_BUNDLE, else
    /// target/bundle/DeepMatte.ofx.bundle above the executable or the current folder]
    #[arg(long, value_name = "PATH")]
    bundle: Option<PathBuf>,
    /// Which host application to behave like.
    #[arg(long, value_enum, default_value_t = Profile::Generic)]
    profile: Profile,
}

/// The host profiles of `ofx-host`, as command-line values.
#[derive(Clone, Copy, ValueEnum)]
enum Profile {
    Generic,
    Resolve,
    /// Resolve rendering on CUDA (device images on a stream); needs a CUDA device.
    ResolveCuda,
    Nuke,
    Natron,
    /// Natron's headless renderer (background: ordinary messages only).
    NatronRenderer,
    Mlt,
}

impl HostArgs {
    /// Finds and loads the bundle.
    pub fn load(&self) -> Result<Bundle> {
        let path = locate::bundle(self.bundle.as_deref())?;
        let profile = match self.profile {
            Profile::Generic => HostProfile::Generic,
            Profile::Resolve => HostProfile::Resolve,
            Profile::ResolveCuda => HostProfile::ResolveCuda,
            Profile::Nuke => HostProfile::Nuke,
            Profile::Natron => HostProfile::Natron,
            Profile::NatronRenderer => HostProfile::NatronRenderer,
            Profile::Mlt => HostProfile::Mlt,
        };
        Bundle::load(&path, profile).with_context(|| format!("cannot load the bundle {}", path.display()))
    }
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::List { host } => host.load().and_then(|bundle| list::run(&bundle)),
        Command::Render(args) => render::run(&args),
        Command::Models { command } => models::run(&command),
        Command::Gpu { command } => gpu::run(&command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("deepmatte: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
