//! The `deepmatte` command end to end: the built binary renders small images made here through
//! the real bundle, and the written files are checked pixel by pixel against Luma Matte
//! Extract's closed form, m = clamp((Y − black) / (white − black), 0, 1), with
//! Y = 0.2126 R + 0.7152 G + 0.0722 B (Rec.709).

mod common;

use std::path::Path;

use common::{assert_fails_with, assert_ok, deepmatte, skip};
use ofx_host::{BitDepth, Components, Image, Rect};

const W: usize = 40;
const H: usize = 24;

/// A test card: every pixel a different colour across the whole range, alpha 1.
fn card(depth: BitDepth, seed: u32) -> Image {
    Image::from_fn(Rect::from_size(W, H), depth, Components::Rgba, |x, y, c| {
        if c == 3 {
            return 1.0;
        }
        let v = (x as u32 * 7919 + y as u32 * 104_729 + c as u32 * 31_337 + seed * 4099) % 65_536;
        v as f32 / 65_535.0
    })
}

fn luma(p: [f32; 4]) -> f32 {
    0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Checks every pixel of `out` against `expected(source pixel)` within `tolerance`.
fn assert_pixels(out: &Image, source: &Image, tolerance: f32, expected: impl Fn([f32; 4]) -> [f32; 4]) {
    assert_eq!((out.width(), out.height()), (source.width(), source.height()));
    for y in 0..H as i32 {
        for x in 0..W as i32 {
            let (got, want) = (out.rgba(x, y), expected(source.rgba(x, y)));
            for c in 0..4 {
                assert!(
                    (got[c] - want[c]).abs() <= tolerance,
                    "pixel ({x}, {y}) channel {c}: got {}, expected {} (tolerance {tolerance})",
                    got[c],
                    want[c]
                );
            }
        }
    }
}

#[test]
fn list_names_effects_parameters_ranges_and_options() {
    let out = deepmatte(&["list"]);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "luma-matte-extract",
        "org.deepmatte.LumaMatteExtract",
        "contexts: filter, general",
        "inputs:   Source, Matte (optional)",
        "black_clip",
        "white_clip",
        "gamma",
        "invert",
        "use_matte_input",
        "matte_frame_offset",
        "options: luma709, luma2020, luma601, average, max, red, green, blue, alpha",
        "options: alpha_premultiplied, alpha_straight, matte_rgba",
    ] {
        assert!(text.contains(needle), "`deepmatte list` lacks {needle:?}:\n{text}");
    }
    let black = text.lines().find(|l| l.trim_start().starts_with("black_clip")).unwrap();
    assert!(black.contains("double") && black.contains("default 0") && black.contains("range ["), "{black}");
}

#[test]
fn grey_matte_is_rec709_luma_at_16_bits() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("card.png"), dir.path().join("matte.png"));
    let source = card(BitDepth::U16, 1);
    source.save(&input).unwrap();
    let out = deepmatte(&[
        "render", "--effect", "luma-matte-extract", "--input", path_str(&input), "--output", path_str(&output),
        "--set", "output=matte_rgba",
    ]);
    assert_ok(&out);
    let matte = Image::load(&output).unwrap();
    assert_eq!(matte.depth(), BitDepth::U16, "16-bit PNG in must give 16-bit PNG out");
    assert_pixels(&matte, &source, 2.0 / 65_535.0, |p| {
        let m = luma(p);
        [m, m, m, 1.0]
    });
}

#[test]
fn eight_bit_png_stays_eight_bit_and_alpha_modes_place_the_matte() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("card8.png");
    let source = card(BitDepth::U8, 2);
    source.save(&input).unwrap();
    let render = |mode: &str| {
        let output = dir.path().join(format!("{mode}.png"));
        let out = deepmatte(&[
            "render", "--effect", "org.deepmatte.LumaMatteExtract", "--input", path_str(&input),
            "--output", path_str(&output), "--set", &format!("output={mode}"),
        ]);
        assert_ok(&out);
        Image::load(&output).unwrap()
    };
    let tolerance = 1.0 / 255.0 + 1e-6;
    let straight = render("alpha_straight");
    assert_eq!(straight.depth(), BitDepth::U8, "8-bit PNG in must give 8-bit PNG out");
    assert_pixels(&straight, &source, tolerance, |p| [p[0], p[1], p[2], luma(p)]);
    let premultiplied = render("alpha_premultiplied");
    assert_pixels(&premultiplied, &source, tolerance, |p| {
        let m = luma(p);
        [p[0] * m, p[1] * m, p[2] * m, m]
    });
}

#[test]
fn choices_take_labels_wherever_they_take_ids() {
    let list = deepmatte(&["list"]);
    assert_ok(&list);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("labels: Alpha (premultiplied) | Alpha (straight) | Matte as grey"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("card.png");
    card(BitDepth::U16, 4).save(&input).unwrap();
    let render = |name: &str, args: &[&str]| {
        let output = dir.path().join(format!("{name}.png"));
        let mut all = vec!["render", "--effect", "luma-matte-extract", "--input", path_str(&input), "--output"];
        all.push(path_str(&output));
        all.extend_from_slice(args);
        let out = deepmatte(&all);
        assert_ok(&out);
        Image::load(&output).unwrap()
    };
    let by_id = render("id", &["--set", "output=matte_rgba", "--set", "channel=luma601"]);
    let by_label = render("label", &["--set", "output=Matte as grey", "--set", "channel=Luminance (Rec.601)"]);
    let keyed = render("key", &["--set", "output=Matte as grey", "--key", "channel=0:Luminance (Rec.601)"]);
    let default = render("default", &["--set", "output=matte_rgba"]);
    let pixels = |image: &Image| {
        let b = image.bounds();
        (b.y1..b.y2).flat_map(|y| (b.x1..b.x2).map(move |x| image.rgba(x, y))).collect::<Vec<_>>()
    };
    assert!(pixels(&by_id) == pixels(&by_label), "a label selects the same option as its id");
    assert!(pixels(&by_id) == pixels(&keyed), "--key takes labels too");
    assert!(pixels(&by_id) != pixels(&default), "Rec.601 differs from the default Rec.709");
    let err = deepmatte(&["render", "--effect", "luma-matte-extract", "--input", path_str(&input), "--output",
        path_str(&dir.path().join("x.png")), "--set", "output=purple"]);
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("Matte as grey"), "the error lists the labels");
}

#[test]
fn exr_in_gives_float_exr_out() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("card.exr"), dir.path().join("matte.exr"));
    let source = card(BitDepth::F32, 3);
    source.save(&input).unwrap();
    let out = deepmatte(&[
        "render", "--effect", "luma-matte-extract", "--input", path_str(&input), "--output", path_str(&output),
        "--set", "output=matte_rgba", "--set", "black_clip=0.2", "--set", "white_clip=0.8",
    ]);
    assert_ok(&out);
    let matte = Image::load(&output).unwrap();
    assert_eq!(matte.depth(), BitDepth::F32);
    assert_pixels(&matte, &source, 1e-5, |p| {
        let m = ((luma(p) - 0.2) / 0.6).clamp(0.0, 1.0);
        [m, m, m, 1.0]
    });
}

#[test]
fn sequence_with_keyframes_and_frame_range() {
    let dir = tempfile::tempdir().unwrap();
    let source = card(BitDepth::U16, 4);
    for frame in 1..=4 {
        source.save(&dir.path().join(format!("in.{frame:04}.png"))).unwrap();
    }
    let input = dir.path().join("in.####.png");
    let output = dir.path().join("out.%04d.png");
    let out = deepmatte(&[
        "render", "--effect", "luma-matte-extract", "--input", path_str(&input), "--output", path_str(&output),
        "--set", "output=matte_rgba", "--frames", "1-3",
        "--key", "black_clip=1:0,3:0.5", "--key", "invert=1:false,3:true",
    ]);
    assert_ok(&out);
    assert!(!dir.path().join("out.0004.png").exists(), "--frames 1-3 must not render frame 4");
    let beyond = deepmatte(&[
        "render", "--effect", "luma-matte-extract", "--input", path_str(&input), "--output", path_str(&output),
        "--frames", "3-12",
    ]);
    assert_fails_with(&beyond, &["no frame 5, 6, 7, 8, 9, … (8 frames missing)", "4 frames, 1..=4"]);
    let frame = |n: i32| Image::load(&dir.path().join(format!("out.{n:04}.png"))).unwrap();
    let tolerance = 2.0 / 65_535.0;
    // Frame 1: black 0, not inverted. Frame 2: black halfway (0.25), invert still off (booleans
    // step). Frame 3: black 0.5, inverted.
    assert_pixels(&frame(1), &source, tolerance, |p| {
        let m = luma(p);
        [m, m, m, 1.0]
    });
    assert_pixels(&frame(2), &source, tolerance, |p| {
        let m = ((luma(p) - 0.25) / 0.75).clamp(0.0, 1.0);
        [m, m, m, 1.0]
    });
    assert_pixels(&frame(3), &source, tolerance, |p| {
        let m = 1.0 - ((luma(p) - 0.5) / 0.5).clamp(0.0, 1.0);
        [m, m, m, 1.0]
    });
}

#[test]
fn matte_input_drives_the_matte() {
    let dir = tempfile::tempdir().unwrap();
    let (input, matte_in, output) =
        (dir.path().join("src.png"), dir.path().join("matte.png"), dir.path().join("out.png"));
    let source = card(BitDepth::U16, 5);
    let matte = card(BitDepth::U16, 6);
    source.save(&input).unwrap();
    matte.save(&matte_in).unwrap();
    let out = deepmatte(&[
        "render", "--effect", "luma-matte-extract", "--input", path_str(&input), "--matte", path_str(&matte_in),
        "--output", path_str(&output), "--set", "output=matte_rgba",
    ]);
    assert_ok(&out);
    assert_pixels(&Image::load(&output).unwrap(), &matte, 2.0 / 65_535.0, |p| {
        let m = luma(p);
        [m, m, m, 1.0]
    });
}

#[test]
fn bundle_is_found_next_to_the_executable() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deepmatte"))
        .arg("list")
        .env_remove("DEEPMATTE_BUNDLE")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("luma-matte-extract"));
}

#[test]
fn bad_inputs_fail_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    card(BitDepth::U8, 7).save(&input).unwrap();
    let output = dir.path().join("out.png");
    let render = |extra: &[&str]| {
        let mut args = vec!["render", "--effect", "luma-matte-extract"];
        args.extend_from_slice(extra);
        deepmatte(&args)
    };
    let (i, o) = (path_str(&input), path_str(&output));

    let missing = dir.path().join("nope.png");
    assert_fails_with(&render(&["--input", path_str(&missing), "--output", o]), &["input file not found", "nope.png"]);
    let pattern = dir.path().join("none.####.png");
    assert_fails_with(&render(&["--input", path_str(&pattern), "--output", o]), &["no files match", "none.####.png"]);
    assert_fails_with(
        &deepmatte(&["render", "--effect", "no-such-effect", "--input", i, "--output", o]),
        &["no-such-effect", "luma-matte-extract"],
    );
    assert_fails_with(&render(&["--input", i, "--output", o, "--set", "shine=1"]), &["shine", "black_clip", "gamma"]);
    assert_fails_with(&render(&["--input", i, "--output", o, "--set", "black_clip=7"]), &["black_clip", "range ["]);
    assert_fails_with(&render(&["--input", i, "--output", o, "--set", "channel=purple"]), &["purple", "luma709"]);
    let jpg = dir.path().join("out.jpg");
    assert_fails_with(&render(&["--input", i, "--output", path_str(&jpg)]), &["unsupported format", ".jpg", ".png"]);
    assert_fails_with(&render(&["--input", i, "--output", o, "--frames", "1-5"]), &["single image", "5 frames"]);
    assert_fails_with(&render(&["--input", i, "--output", o, "--press", "no_button"]), &["no_button", "push button"]);
    assert_fails_with(&render(&["--input", i, "--output", o, "--input-clip", "Garbage=x.png"]), &["x.png"]);
    let garbage = format!("Garbage={i}");
    assert_fails_with(&render(&["--input", i, "--output", o, "--input-clip", &garbage]), &["Garbage", "Source, Matte"]);
    assert_fails_with(
        &render(&["--input", i, "--output", o, "--bundle", "/no/such/DeepMatte.ofx.bundle"]),
        &["does not exist", "/no/such/DeepMatte.ofx.bundle"],
    );
    assert!(!output.exists(), "no failed command may write the output");
}

#[test]
fn video_without_ffmpeg_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    card(BitDepth::U8, 8).save(&input).unwrap();
    let output = dir.path().join("out.mp4");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deepmatte"))
        .args(["render", "--effect", "luma-matte-extract", "--input", path_str(&input), "--output", path_str(&output)])
        .env("DEEPMATTE_BUNDLE", common::bundle())
        .env("PATH", "")
        .output()
        .unwrap();
    assert_fails_with(&out, &["ffmpeg", "not found"]);
}

#[test]
fn video_round_trip_through_ffmpeg() {
    let has_ffmpeg = ["ffmpeg", "ffprobe"]
        .iter()
        .all(|tool| std::process::Command::new(tool).arg("-version").output().is_ok_and(|o| o.status.success()));
    if !has_ffmpeg {
        skip("cli::video_round_trip_through_ffmpeg", "ffmpeg is not installed (cargo xtask setup installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = card(BitDepth::U16, 9);
    for frame in 0..3 {
        source.save(&dir.path().join(format!("in.{frame:03}.png"))).unwrap();
    }
    // Sequence → lossless video (FFV1 in .mkv) → sequence: the matte survives exactly enough
    // to check against the closed form; a .mov and an .mp4 are written too.
    let mkv = dir.path().join("matte.mkv");
    let input = dir.path().join("in.###.png");
    for video in [mkv.clone(), dir.path().join("matte.mov"), dir.path().join("matte.mp4")] {
        let out = deepmatte(&[
            "render", "--effect", "luma-matte-extract", "--input", path_str(&input), "--output", path_str(&video),
            "--set", "output=matte_rgba",
        ]);
        assert_ok(&out);
        assert!(std::fs::metadata(&video).unwrap().len() > 0, "{} is empty", video.display());
    }
    let back = dir.path().join("back.####.png");
    let out = deepmatte(&[
        "render", "--effect", "luma-matte-extract", "--input", path_str(&mkv), "--output", path_str(&back),
        "--set", "output=alpha_straight",
    ]);
    assert_ok(&out);
    for frame in 0..3 {
        let image = Image::load(&dir.path().join(format!("back.{frame:04}.png"))).unwrap();
        assert_eq!(image.depth(), BitDepth::U16, "video decodes to 16 bits");
        assert_pixels(&image, &source, 3.0 / 65_535.0, |p| {
            let m = luma(p);
            [m, m, m, m]
        });
    }
    assert!(!dir.path().join("back.0003.png").exists(), "the video has 3 frames, 0..=2");
}
