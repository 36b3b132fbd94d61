//! `deepmatte gpu install [--dest DIR] [--from DIR]` and `deepmatte gpu where`: the GPU runtime
//! (ONNX Runtime GPU, CUDA 13.0, cuDNN 9, NVRTC 13.0) from the wheels `gpu-runtime.toml` pins, with
//! the model installer's downloader (progress bar, resume, sha256) — `inference::gpu_runtime`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use inference::gpu_runtime::{self, RuntimeManifest, WheelInstalled};

use crate::models::Bar;

/// `deepmatte gpu ...`
#[derive(Subcommand)]
pub enum GpuCommand {
    /// Download the pinned GPU runtime (ONNX Runtime GPU 1.31.1, CUDA 13.0, cuDNN 9, NVRTC 13.0;
    /// about 1.2 GB of wheels), verify each wheel's sha256 and keep only its shared libraries.
    Install(InstallArgs),
    /// Show the folders the plugin looks for the GPU runtime in, in order, and what each holds.
    Where,
}

/// `deepmatte gpu install`
#[derive(Args)]
pub struct InstallArgs {
    /// The GPU runtime folder to install into [default: the per-user one, e.g.
    /// ~/.local/share/DeepMatte/gpu-runtime]. The plugin also finds `gpu-runtime` next to its
    /// binary (Contents/Linux-x86-64/gpu-runtime in the bundle) and the folder DEEPMATTE_GPU_RUNTIME names.
    #[arg(long, value_name = "DIR")]
    dest: Option<PathBuf>,
    /// A folder holding wheels downloaded elsewhere (same file names as the pinned URLs): those
    /// are checked against their sha256 and installed without a download.
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
    /// A manifest to read instead of the built-in one (a studio mirror).
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
}

/// Runs a `gpu` subcommand.
pub fn run(command: &GpuCommand) -> Result<()> {
    match command {
        GpuCommand::Install(args) => install(args),
        GpuCommand::Where => {
            where_runtime();
            Ok(())
        }
    }
}

fn install(args: &InstallArgs) -> Result<()> {
    let manifest = match &args.manifest {
        Some(path) => RuntimeManifest::read(path).map_err(anyhow::Error::msg)?,
        None => {
            if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
                bail!("the pinned GPU runtime is for Linux x86-64 (the plugin's CUDA path); there is none for this platform yet");
            }
            RuntimeManifest::embedded().clone()
        }
    };
    let dest = match &args.dest {
        Some(dest) => std::path::absolute(dest).unwrap_or_else(|_| dest.clone()),
        None => match gpu_runtime::user_folder() {
            Some(dest) => dest,
            None => bail!("no per-user data folder is known here (neither HOME nor APPDATA is set): pass --dest DIR"),
        },
    };
    let total: u64 = manifest.wheels.iter().filter_map(|w| w.size).sum();
    let size = if total > 0 { format!(", {} MB to download at most", total / 1_000_000) } else { String::new() };
    println!("GPU runtime -> {} ({} wheels{size})", dest.display(), manifest.wheels.len());
    for wheel in &manifest.wheels {
        let size = wheel.size.map(|s| format!(", {} MB", s / 1_000_000)).unwrap_or_default();
        println!("{}{size}", wheel.name());
        let mut bar = Bar::default();
        let result = gpu_runtime::install_wheel(wheel, &dest, args.from.as_deref(), &mut bar);
        bar.finish();
        match result {
            Ok(WheelInstalled::AlreadyThere) => println!("  already installed (sha256 verified at install)"),
            Ok(WheelInstalled::Extracted { from, libraries }) => {
                println!("  installed from {from} (sha256 verified):");
                for library in libraries {
                    println!("    {}", library.display());
                }
            }
            // The wheels depend on each other (ONNX Runtime last): stop at the first failure.
            Err(e) => bail!("{e}\nThe GPU runtime is not complete; run the same command again to go on (downloads resume)."),
        }
    }
    let plugin_finds = gpu_runtime::search_folders(None).iter().any(|(_, f)| *f == dest);
    if !plugin_finds && args.dest.is_some() {
        println!(
            "The plugin looks in `gpu-runtime` next to its binary and in your data folder: move {} to \
             <bundle>/Contents/Linux-x86-64/gpu-runtime, or set {}={} for the host.",
            dest.display(),
            gpu_runtime::ENV,
            dest.display()
        );
    }
    println!("Done. Restart the host: the plugin loads the GPU runtime when it starts (its log and Depth Map's Status say which backend runs).");
    Ok(())
}

/// The search order and what each folder holds.
fn where_runtime() {
    let plugin_dir = crate::locate::bundle(None).ok().map(|b| b.join("Contents/Linux-x86-64"));
    let folders = gpu_runtime::search_folders(plugin_dir.as_deref());
    let used = gpu_runtime::find(plugin_dir.as_deref());
    println!("The GPU runtime is looked for, first complete one wins, in:");
    for (n, (place, folder)) in folders.iter().enumerate() {
        println!("  {}. {place}: {} ({})", n + 1, folder.display(), describe(folder));
    }
    if plugin_dir.is_none() {
        println!("  -. next to the plugin binary (no bundle found from here)");
    }
    match used {
        Some((place, folder)) => println!("The plugin uses {} ({place}).", folder.display()),
        None => println!("None is installed: the plugin runs models on the CPU. Run `{}`.", gpu_runtime::INSTALL_COMMAND),
    }
    if std::env::var_os("DEEPMATTE_CUDA").is_some_and(|v| v == "0") {
        println!("DEEPMATTE_CUDA=0 is set: the plugin ignores the GPU runtime and renders on the CPU.");
    }
}

fn describe(folder: &Path) -> String {
    if !folder.is_dir() {
        return "not there".into();
    }
    let states = gpu_runtime::states(RuntimeManifest::embedded(), folder);
    let missing: Vec<String> = states.iter().filter(|s| !s.installed).map(|s| s.wheel.clone()).collect();
    if missing.is_empty() {
        "complete".into()
    } else {
        format!("incomplete: missing {}", missing.join(", "))
    }
}
