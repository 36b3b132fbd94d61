//! The bundle in a host we did not write: the official OpenFX HostSupport `hostDemo`, built and
//! patched by `cargo xtask setup` (see crates/xtask/src/hostdemo.rs). It loads every bundle on
//! `OFX_PLUGIN_PATH`, instantiates Luma Matte Extract as a filter with default parameters, and
//! renders frames 0 and 1 of its 8-bit RGBA test card (frame 0 black with white digits, frame 1
//! white with black digits); the patch dumps each Source and Output as binary PAM. With default
//! parameters (Rec.709 luma, black 0, white 1, gamma 1, premultiplied output) every output pixel
//! must be (R·m, G·m, B·m, m) with m = Y of the source pixel.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// An 8-bit RGBA image read from a PAM file (rows top first).
struct Pam {
    width: usize,
    height: usize,
    pixels: Vec<[u8; 4]>,
}

fn read_pam(path: &Path) -> Pam {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let end = bytes.windows(7).position(|w| w == b"ENDHDR\n").expect("PAM header") + 7;
    let header = String::from_utf8_lossy(&bytes[..end]);
    let field = |name: &str| -> usize {
        let line = header.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("PAM lacks {name}"));
        line[name.len()..].trim().parse().unwrap()
    };
    let (width, height) = (field("WIDTH"), field("HEIGHT"));
    assert_eq!(field("DEPTH"), 4);
    assert_eq!(field("MAXVAL"), 255);
    let pixels: Vec<[u8; 4]> = bytes[end..].chunks_exact(4).map(|p| [p[0], p[1], p[2], p[3]]).collect();
    assert_eq!(pixels.len(), width * height, "{}: truncated", path.display());
    Pam { width, height, pixels }
}

fn hostdemo() -> PathBuf {
    match std::env::var_os("DEEPMATTE_HOSTDEMO") {
        Some(path) => PathBuf::from(path),
        None => panic!("DEEPMATTE_HOSTDEMO is not set: run the tests with `cargo xtask test`, which builds it"),
    }
}

#[test]
fn official_host_demo_loads_and_renders_luma_matte_extract() {
    let bundle = common::bundle();
    let plugin_dir = bundle.parent().expect("bundle has a parent folder");
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(hostdemo())
        .current_dir(work.path()) // it writes its plugin cache and images here
        .env("OFX_PLUGIN_PATH", plugin_dir)
        .output()
        .expect("cannot run hostDemo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "hostDemo failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Plug-in:org.deepmatte.LumaMatteExtract"), "hostDemo did not list the plugin:\n{stdout}");
    for frame in 0..2 {
        assert!(stdout.contains(&format!("deepmatte: rendered frame {frame}")), "frame {frame} not rendered:\n{stdout}");
        let source = read_pam(&work.path().join(format!("Source.{frame}.pam")));
        let output = read_pam(&work.path().join(format!("Output.{frame}.pam")));
        assert_eq!((output.width, output.height), (source.width, source.height));

        let mut alphas = [0usize; 2];
        for (i, (s, o)) in source.pixels.iter().zip(&output.pixels).enumerate() {
            let n = |v: u8| v as f32 / 255.0;
            let m = (0.2126 * n(s[0]) + 0.7152 * n(s[1]) + 0.0722 * n(s[2])).clamp(0.0, 1.0);
            let want = [n(s[0]) * m, n(s[1]) * m, n(s[2]) * m, m].map(|v| (v * 255.0).round() as i32);
            for c in 0..4 {
                assert!(
                    (o[c] as i32 - want[c]).abs() <= 1,
                    "frame {frame}, pixel ({}, {}) channel {c}: got {}, expected {} from source {s:?}",
                    i % output.width,
                    i / output.width,
                    o[c],
                    want[c]
                );
            }
            match o[3] {
                0 => alphas[0] += 1,
                255 => alphas[1] += 1,
                _ => {}
            }
        }
        // The card has both black and white on every frame, so both mattes must appear.
        assert!(alphas[0] > 0 && alphas[1] > 0, "frame {frame}: transparent/opaque counts {alphas:?}");
    }
}
