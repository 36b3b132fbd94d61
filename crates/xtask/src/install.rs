//! `cargo xtask install`: copies the assembled bundle where OFX hosts look for plugins.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::{bundle, util};

/// The bundle's model folder, relative to the bundle.
const MODELS: &str = "Contents/Resources/models";

/// Installs the bundle into `dest`, else the first entry of `$OFX_PLUGIN_PATH`, else the
/// platform's standard OFX folder; builds the bundle first if it is missing.
pub fn run(dest: Option<PathBuf>) -> Result<()> {
    let source = bundle::path();
    if !source.is_dir() {
        bundle::run(&[])?;
    }
    let dest = dest.or_else(first_plugin_path).unwrap_or_else(standard_folder);
    let target = dest.join(source.file_name().context("bundle path has no name")?);
    // Models installed into the bundle (`cargo xtask models`) are large and not ours to delete:
    // they move aside while the bundle is replaced, then back.
    let models = target.join(MODELS);
    let kept = dest.join(".DeepMatte-models-being-reinstalled");
    let keep_models = models.is_dir() && std::fs::read_dir(&models)?.next().is_some();
    if keep_models {
        std::fs::rename(&models, &kept).with_context(|| format!("cannot move {} aside", models.display()))?;
    }
    if target.exists() {
        std::fs::remove_dir_all(&target).with_context(|| format!("cannot replace {}", target.display()))?;
    }
    util::copy_dir(&source, &target).with_context(|| {
        format!("cannot install into {} (a system folder needs root: try `sudo`, or --dest)", dest.display())
    })?;
    if keep_models {
        std::fs::remove_dir_all(&models)?;
        std::fs::rename(&kept, &models).with_context(|| format!("cannot restore {}", models.display()))?;
        println!("kept the installed models in {}", models.display());
    }
    println!("installed {}", target.display());
    println!("Natron caches plugin descriptions: use Cache > Clear Plug-ins Load Cache (or delete");
    println!("  ~/.cache/INRIA/Natron), then restart it.");
    println!("DaVinci Resolve keeps OFXPluginCache.xml: if the new version does not show, quit Resolve,");
    println!("  delete that file from its configuration folder, and start it again.");
    println!("Nuke: restart it.");
    Ok(())
}

fn first_plugin_path() -> Option<PathBuf> {
    let paths = std::env::var_os("OFX_PLUGIN_PATH")?;
    std::env::split_paths(&paths).find(|p| !p.as_os_str().is_empty())
}

/// The folder every OFX host scans by default.
fn standard_folder() -> PathBuf {
    PathBuf::from(if cfg!(target_os = "macos") {
        "/Library/OFX/Plugins"
    } else if cfg!(windows) {
        r"C:\Program Files\Common Files\OFX\Plugins"
    } else {
        "/usr/OFX/Plugins"
    })
}
