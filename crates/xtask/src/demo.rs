//! `cargo xtask demo`: the project's main job on the shipped sample — builds everything, renders
//! `samples/hills-640x360.png` through Luma Matte Extract, Depth Map and Magic Mask with the
//! `deepmatte` CLI (as a user would run it), and writes viewable PNGs under `target/demo/`.
//!
//! Depth Map and Magic Mask use the real models when they are installed (`cargo xtask models`);
//! otherwise the demo says so and runs them on the project's stand-in models, which show the
//! pipeline but are not real depth or segmentation networks.

use std::path::Path;
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
    folder: std::path::PathBuf,
    depth: &'static str,
    segment: &'static str,
}

/// The installed models when there are any (`DEEPMATTE_MODELS`, else the bundle's models
/// folder), else the stand-ins `cargo xtask setup` generated, with a loud note.
fn model_folder(bundle: &Path) -> DemoModels {
    let installed = std::env::var_os("DEEPMATTE_MODELS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| bundle.join("Contents/Resources/models"));
    let has = |file: &str| installed.join(file).is_file();
    if has("depth_anything_v2_small.onnx") && has("sam2_image_encoder.onnx") {
        return DemoModels { folder: installed, depth: "Depth Anything V2 Small", segment: "SAM 2.1" };
    }
    println!("demo: the real models are not installed in {}.", installed.display());
    println!("      Install Depth Anything V2 Small with `cargo xtask models` (needs internet) and export SAM 2.1");
    println!("      with models/sam2/export_sam2.py; until then Depth Map and Magic Mask run on the project's");
    println!("      STAND-IN models, which exercise the whole pipeline but are not real networks.");
    let standins = util::root().join(".cache/models");
    let folder = util::target_dir().join("demo/standin-models");
    let _ = std::fs::create_dir_all(&folder);
    let links = [
        ("depth_standin_exact.onnx", "depth_anything_v2_small.onnx"),
        ("sam2_image_encoder.onnx", "sam2_image_encoder.onnx"),
        ("sam2_mask_decoder.onnx", "sam2_mask_decoder.onnx"),
        ("sam2_memory_encoder.onnx", "sam2_memory_encoder.onnx"),
        ("sam2_memory_attention.onnx", "sam2_memory_attention.onnx"),
        ("u2netp.onnx", "u2netp.onnx"),
    ];
    for (from, to) in links {
        let _ = std::fs::copy(standins.join(from), folder.join(to));
    }
    DemoModels { folder, depth: "stand-in model, not a real depth estimate", segment: "SAM 2 stand-ins" }
}

/// An empty folder at `path` (the demo's mask store starts fresh every run).
fn tempfile_dir(path: &Path) -> Result<std::path::PathBuf> {
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

