//! `cargo xtask demo`: the project's main job on the shipped sample — builds everything, renders
//! `samples/hills-640x360.png` through Luma Matte Extract, Depth Map and Magic Mask with the
//! `deepmatte` CLI (as a user would run it), and writes viewable PNGs under `target/demo/`.
//!
//! Depth Map and Magic Mask use the real models when they are installed (`cargo xtask models`);
//! otherwise the demo says so and runs them on the project's stand-in models, which show the
//! pipeline but are not real depth or segmentation networks.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::pixels::Picture;
use crate::{bundle, sample, setup, util};

/// Runs the demo and prints where its pictures are.
pub fn run() -> Result<()> {
    setup::run()?;
    let bundle = bundle::run(&[])?;
    println!("demo: building the deepmatte CLI");
    util::run(util::cargo().args(["build", "--release", "-p", "deepmatte-cli"]))?;
    let cli = util::release_dir().join(format!("deepmatte{}", std::env::consts::EXE_SUFFIX));

    let out = util::target_dir().join("demo");
    std::fs::create_dir_all(&out)?;
    let source = util::root().join(sample::SAMPLE);
    let matte = out.join("matte.png");
    let with_alpha = out.join("source-with-matte-alpha.png");
    let side_by_side = out.join("side-by-side.png");

    let render = |output: &Path, mode: &str| {
        util::run(
            Command::new(&cli)
                .arg("render")
                .args(["--effect", "luma-matte-extract"])
                .arg("--bundle")
                .arg(&bundle)
                .arg("--input")
                .arg(&source)
                .arg("--output")
                .arg(output)
                .args(["--set", &format!("output={mode}")]),
        )
    };
    render(&matte, "matte_rgba")?;
    render(&with_alpha, "alpha_straight")?;
    compose_side_by_side(&source, &matte, &with_alpha)?.save_png(&side_by_side, false)?;

    println!("demo: Luma Matte Extract (Rec.709 luminance, default clips) on {}", source.display());
    for (what, path) in [
        ("matte (grey)", &matte),
        ("source with the matte as alpha", &with_alpha),
        ("source | matte | cut-out over a checkerboard", &side_by_side),
    ] {
        println!("  {what:<46} {}", path.display());
    }

    let models = model_folder(&bundle);
    let model_effect = |effect: &str, output: &Path, sets: &[String], presses: &[&str]| {
        let mut cmd = Command::new(&cli);
        cmd.arg("render").args(["--effect", effect]).arg("--bundle").arg(&bundle);
        cmd.arg("--input").arg(&source).arg("--output").arg(output);
        cmd.args(["--set", &format!("model_folder={}", models.folder.display())]);
        for set in sets {
            cmd.args(["--set", set]);
        }
        for press in presses {
            cmd.args(["--press", press]);
        }
        util::run(&mut cmd)
    };

    let depth = out.join("depth-map.png");
    let depth_alpha = out.join("depth-matte-alpha.png");
    let depth_side = out.join("depth-side-by-side.png");
    model_effect("depth-map", &depth, &["output=depth".into()], &[])?;
    model_effect("depth-map", &depth_alpha, &["output=alpha".into(), "far_limit=0.3".into()], &[])?;
    compose_side_by_side(&source, &depth, &depth_alpha)?.save_png(&depth_side, false)?;
    println!("demo: Depth Map ({}) on {}", models.depth, source.display());
    println!("  {:<46} {}", "source | depth (near = white) | far cut away", depth_side.display());

    // A click on the red ball (canonical pixels, y up), then the matte of that frame.
    let store = tempfile_dir(&out.join("magic-mask-store"))?;
    let mask = out.join("magic-mask-matte.png");
    let mask_alpha = out.join("magic-mask-alpha.png");
    let mask_side = out.join("magic-mask-side-by-side.png");
    let sets = |view: &str| vec![format!("store_folder={}", store.display()), "point=200,70".into(), format!("view={view}")];
    model_effect("magic-mask", &mask, &sets("matte"), &["add_positive"])?;
    model_effect("magic-mask", &mask_alpha, &sets("alpha"), &["add_positive"])?;
    compose_side_by_side(&source, &mask, &mask_alpha)?.save_png(&mask_side, false)?;
    println!("demo: Magic Mask, one click on the red ball ({}) on {}", models.segment, source.display());
    println!("  {:<46} {}", "source | mask | cut-out", mask_side.display());
    Ok(())
}

/// Where the demo's models come from, and how to describe them.
struct DemoModels {
    folder: PathBuf,
    depth: &'static str,
    segment: &'static str,
}

/// The folders installed models are found in, in the plugin's search order after Model Folder:
/// `DEEPMATTE_MODELS`, the per-user models folder (`cargo xtask models` installs there; Linux's
/// rule of `inference::user_models_dir`), the bundle's own.
fn installed_model_folders(bundle: &Path) -> Vec<PathBuf> {
    let user = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .map(|data| data.join("DeepMatte/models"));
    std::env::var_os("DEEPMATTE_MODELS").map(PathBuf::from).into_iter().chain(user).chain([bundle.join("Contents/Resources/models")]).collect()
}

/// A model folder for the demo: per model, the installed one where one is found (first match in
/// the plugin's order), else the stand-in `cargo xtask setup` generated, with a loud note.
fn model_folder(bundle: &Path) -> DemoModels {
    let installed = installed_model_folders(bundle);
    let find = |file: &str| installed.iter().map(|dir| dir.join(file)).find(|path| path.is_file());
    let standins = util::root().join(".cache/models");
    let folder = util::target_dir().join("demo/models");
    let _ = std::fs::remove_dir_all(&folder);
    let _ = std::fs::create_dir_all(&folder);
    // Each file the effects load, and the stand-in that takes its place when it is not installed.
    let place = |file: &str, standin: &str| -> bool {
        let (from, real) = match find(file) {
            Some(path) => (path, true),
            None => (standins.join(standin), false),
        };
        let _ = std::fs::copy(from, folder.join(file));
        real
    };
    let real_depth = place("depth_anything_v2_small.onnx", "depth_standin_exact.onnx");
    let sam_parts = ["sam2_image_encoder.onnx", "sam2_mask_decoder.onnx", "sam2_memory_encoder.onnx", "sam2_memory_attention.onnx"];
    let real_sam = sam_parts.iter().all(|part| find(part).is_some());
    for part in sam_parts {
        // All four parts come from one place: an installed set is used whole or not at all.
        let from = if real_sam { find(part) } else { None };
        let _ = std::fs::copy(from.unwrap_or_else(|| standins.join(part)), folder.join(part));
    }
    place("u2netp.onnx", "u2netp.onnx");
    let shown: Vec<String> = installed.iter().map(|dir| dir.display().to_string()).collect();
    if !real_depth {
        println!("demo: Depth Anything V2 Small is not installed (looked in {}).", shown.join(", "));
        println!("      Install it with `cargo xtask models` (needs internet); until then Depth Map runs on the project's");
        println!("      STAND-IN model, which exercises the whole pipeline but is not a real depth network.");
    }
    if !real_sam {
        println!("demo: SAM 2.1 is not installed (looked in {}).", shown.join(", "));
        println!("      Export it with models/sam2/export_sam2.py; until then Magic Mask runs on the project's");
        println!("      STAND-IN models, which exercise the whole pipeline but are not real networks.");
    }
    DemoModels {
        folder,
        depth: if real_depth { "Depth Anything V2 Small" } else { "stand-in model, not a real depth estimate" },
        segment: if real_sam { "SAM 2.1" } else { "SAM 2 stand-ins" },
    }
}

/// An empty folder at `path` (the demo's mask store starts fresh every run).
fn tempfile_dir(path: &Path) -> Result<PathBuf> {
    if path.exists() {
        std::fs::remove_dir_all(path)?;
    }
    std::fs::create_dir_all(path)?;
    Ok(path.to_path_buf())
}

/// Source, matte, and the alpha-carrying render over a checkerboard, left to right.
fn compose_side_by_side(source: &Path, matte: &Path, with_alpha: &Path) -> Result<Picture> {
    let panels: Vec<Picture> =
        [source, matte, with_alpha].iter().map(|p| Picture::load_png(p)).collect::<Result<_>>()?;
    let (w, h) = (panels[0].width, panels[0].height);
    Ok(Picture::from_fn(w * 3, h, |x, y| {
        let index = (x / w) as usize;
        let panel = &panels[index];
        let (px, py) = (x % w, y);
        if px >= panel.width || py >= panel.height {
            return [0, 0, 0, 255];
        }
        let [r, g, b, a] = panel.get(px, py);
        // Only the cut-out shows its alpha; the grey matte is shown as it is.
        let a = if index == 2 { a } else { 255 };
        let checker = if (px / 16 + py / 16) % 2 == 0 { 200.0 } else { 120.0 };
        let over = |c: u8| (c as f32 * a as f32 / 255.0 + checker * (1.0 - a as f32 / 255.0)).round() as u8;
        [over(r), over(g), over(b), 255]
    }))
}

