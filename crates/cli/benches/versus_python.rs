//! `deepmatte render` over a sequence against what a user would write instead: a Python loop with
//! PIL, numpy and onnxruntime doing the same Depth Map job — read each PNG, resize and normalise for
//! the model, run it, normalise the depth (2nd–98th percentile), resize back, write a 16-bit PNG —
//! on 24 1920×1080 16-bit RGB frames with the same trivial stand-in model, side by side in one run.
//! Target: the CLI takes at most 0.5× the Python loop's wall time.
//!
//! The CLI does at least the Python loop's work: it reads the frames at 16 bits (PIL reads them as
//! 8-bit RGB), and writes RGBA 16-bit mattes (the Python loop a single grey channel).
//!
//! `cargo xtask bundle && cargo build --release -p deepmatte-cli && cargo bench -p deepmatte-cli --bench versus_python`

use ofx_host::{BitDepth, Components, Image, Rect};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const FRAMES: i32 = 24;

/// The Python loop, as a user would write it (numpy + PIL + onnxruntime from the project's venv).
const PYTHON_LOOP: &str = r#"
import glob, sys
import numpy as np, onnxruntime as ort
from PIL import Image
src, dst, model = sys.argv[1:4]
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
for path in sorted(glob.glob(src + "/*.png")):
    image = Image.open(path).convert("RGB")
    w, h = image.size
    x = np.asarray(image.resize((924, 518), Image.BICUBIC), np.float32) / 255.0
    x = np.ascontiguousarray(((x - mean) / std).transpose(2, 0, 1)[None])
    depth = session.run(None, {name: x})[0][0]
    lo, hi = np.percentile(depth, [2, 98])
    depth = np.clip((depth - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)
    depth = np.asarray(Image.fromarray(depth, mode="F").resize((w, h), Image.BILINEAR))
    Image.fromarray((depth * 65535 + 0.5).astype(np.uint16)).save(dst + "/" + path.rsplit("/", 1)[1])
"#;

fn run(what: &str, command: &mut Command) -> f64 {
    let t = Instant::now();
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let seconds = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{what} failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    seconds
}

fn count_png(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".png")).count()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".cache/venv/bin/python");
    let model = root.join(".cache/models/depth_standin_exact.onnx");
    assert!(python.is_file() && model.is_file(), "run `cargo xtask setup` first");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let cli = target.join("release/deepmatte");
    let bundle = std::env::var_os("DEEPMATTE_BUNDLE").map(PathBuf::from).unwrap_or_else(|| target.join("bundle/DeepMatte.ofx.bundle"));
    assert!(cli.is_file() && bundle.is_dir(), "build the CLI and the bundle first (see the header)");

    let frames = tempfile::tempdir().unwrap();
    for f in 0..FRAMES {
        let image = Image::from_fn(Rect::new(0, 0, 1920, 1080), BitDepth::U16, Components::Rgb, |x, y, c| {
            ((x as f32 * 0.011 + c as f32 + f as f32 * 0.2).sin() * 0.3 + (y as f32 * 0.017).cos() * 0.2 + 0.5).clamp(0.0, 1.0)
        });
        image.save(&frames.path().join(format!("{f:04}.png"))).unwrap();
    }
    let models = tempfile::tempdir().unwrap();
    std::fs::copy(&model, models.path().join("depth_anything_v2_small.onnx")).unwrap();

    let (py_out, cli_out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let script = frames.path().join("depth_loop.py");
    std::fs::write(&script, PYTHON_LOOP).unwrap();
    let python_s = run("python loop", Command::new(&python).arg(&script).arg(frames.path()).arg(py_out.path()).arg(&model));
    let cli_s = run(
        "deepmatte render",
        Command::new(&cli)
            .args(["render", "--effect", "depth-map", "--bundle"])
            .arg(&bundle)
            .arg("--input")
            .arg(frames.path().join("%04d.png"))
            .arg("--output")
            .arg(cli_out.path().join("%04d.png"))
            .arg("--set")
            .arg(format!("model_folder={}", models.path().display()))
            .args(["--set", "temporal_stability=false", "--set", "output=matte"]),
    );
    assert_eq!((count_png(py_out.path()), count_png(cli_out.path())), (FRAMES as usize, FRAMES as usize));
    println!(
        "Depth Map over {FRAMES} x 1920x1080 16-bit PNG frames, trivial stand-in model: Python (PIL + numpy + onnxruntime) {python_s:.2} s, \
         deepmatte render {cli_s:.2} s: ratio {:.2} (target <= 0.5); {} CPUs",
        cli_s / python_s,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}
