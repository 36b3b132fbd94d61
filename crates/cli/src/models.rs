//! `deepmatte models install [depth|all] [--dest DIR]`: downloads the models the built-in manifest
//! (`models/manifest.toml`) pins, with a progress bar, resume and sha256 check — the same code the
//! effects' Download Model button runs (`inference::download`).

use std::borrow::Cow;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use inference::download::{self, DownloadProgress, Installed, Manifest};

/// `deepmatte models ...`
#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Download models from their pinned sources, verify their sha256 and install them.
    Install(InstallArgs),
    /// Show the folders models are looked for in, in order, and which model files each holds.
    Where,
}

/// `deepmatte models install`
#[derive(Args)]
pub struct InstallArgs {
    /// Which models: `depth` (Depth Anything V2 Small, for Depth Map) or `all`.
    #[arg(default_value = "all", value_name = "depth|all")]
    what: String,
    /// The folder to install into [default: the per-user models folder, e.g.
    /// ~/.local/share/DeepMatte/models], which the plugin searches after Model Folder and
    /// DEEPMATTE_MODELS.
    #[arg(long, value_name = "DIR")]
    dest: Option<PathBuf>,
    /// A manifest to read instead of the built-in one, e.g. one listing a studio mirror first
    /// [default: $DEEPMATTE_MODEL_MANIFEST, else the built-in models/manifest.toml].
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
}

/// Runs a `models` subcommand.
pub fn run(command: &ModelsCommand) -> Result<()> {
    match command {
        ModelsCommand::Install(args) => install(args),
        ModelsCommand::Where => {
            where_models();
            Ok(())
        }
    }
}

fn install(args: &InstallArgs) -> Result<()> {
    let manifest = match &args.manifest {
        Some(path) => Cow::Owned(Manifest::read(path).map_err(anyhow::Error::msg)?),
        None => Manifest::active().map_err(anyhow::Error::msg)?,
    };
    let models = manifest.select(&args.what).map_err(anyhow::Error::msg)?;
    let dest = match &args.dest {
        Some(dest) => dest.clone(),
        None => match inference::user_models_dir() {
            Some(dest) => dest,
            None => bail!("no per-user data folder is known here (neither HOME nor APPDATA is set): pass --dest DIR"),
        },
    };
    let mut failed = 0;
    for model in models {
        println!("{} ({}, {}) -> {}", model.name, model.file, model.licence, dest.display());
        let mut bar = Bar::default();
        let result = download::install(model, &dest, &mut bar);
        bar.finish();
        match result {
            Ok(Installed::Downloaded { path, url }) => println!("  installed {} from {url} (sha256 verified)", path.display()),
            Ok(Installed::AlreadyThere { path }) => println!("  already installed: {} (sha256 verified)", path.display()),
            Err(e) => {
                eprintln!("deepmatte: error: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} model(s) not installed");
    }
    if args.dest.is_some() {
        println!("Set the effect's Model Folder (or DEEPMATTE_MODELS) to {} for the plugin to use it.", dest.display());
    }
    Ok(())
}

/// The search order, as the plugin applies it (no Model Folder here: that is per effect instance).
fn where_models() {
    let bundle_models = crate::locate::bundle(None).ok().map(|b| b.join("Contents/Resources/models"));
    let search = inference::ModelSearch::new(None, bundle_models.as_deref());
    println!("Models are looked for, first match wins per file, in:");
    println!("  1. the effect's Model Folder control (when set)");
    let mut n = 2;
    for (place, folder) in search.folders() {
        let mut files: Vec<String> = std::fs::read_dir(folder)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".onnx"))
            .collect();
        files.sort();
        let held = if files.is_empty() { "no models".to_owned() } else { files.join(", ") };
        println!("  {n}. {place}: {} ({held})", folder.display());
        n += 1;
    }
    if bundle_models.is_none() {
        println!("  {n}. the bundle's Contents/Resources/models (no bundle found from here)");
    }
}

/// A progress bar for one download (a model, a GPU runtime wheel).
#[derive(Default)]
pub(crate) struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl DownloadProgress for Bar {
    fn connecting(&mut self, url: &str) {
        self.finish();
        println!("  downloading {url}");
        self.bar = None;
    }

    fn advanced(&mut self, done: u64, total: Option<u64>) -> bool {
        let bar = self.bar.get_or_insert_with(|| {
            let bar = match total {
                Some(total) => ProgressBar::new(total),
                None => ProgressBar::no_length(),
            };
            bar.set_style(
                ProgressStyle::with_template("  [{bar:40}] {bytes}/{total_bytes}, {bytes_per_sec}, eta {eta}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        bar.set_position(done);
        true
    }
}
