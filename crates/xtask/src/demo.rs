//! `cargo xtask demo`: the project's main job on the shipped sample — builds everything, renders
//! `samples/hills-640x360.png` through Luma Matte Extract with the `deepmatte` CLI (as a user
//! would run it), and writes viewable PNGs under `target/demo/`.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::pixels::Picture;
use crate::{bundle, sample, setup, util};

/// Runs the demo and prints where its pictures are.
pub fn run() -> Result<()> {
    setup::run()?;
    let bundle = bundle::run()?;
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
    Ok(())
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

