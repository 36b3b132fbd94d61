//! The release archives `cargo xtask release` wrote (`cargo xtask test` runs it once and passes
//! `DEEPMATTE_DIST`), tested as a user gets them: unpacked into an empty temp folder, far from the
//! repository.
//!
//! - Every ELF the Linux archive ships needs no symbol version newer than glibc 2.28 (Rocky Linux 8,
//!   the oldest Linux Resolve supports) and, where it links libstdc++, none newer than GCC 8's
//!   (GLIBCXX_3.4.25, CXXABI_1.3.11); read with binutils' `objdump -p` (the "Version References").
//! - The Linux archive's `deepmatte` renders the shipped sample with the bundle beside it, and the
//!   matte equals Luma Matte Extract's closed form on the sample's pixels.
//! - The Windows zip holds the PE binaries, guide, licences and checksums; its `deepmatte.exe`, run
//!   under Wine (Debian's wine64, private prefix from `cargo xtask setup`), renders Luma Matte
//!   Extract and Depth Map (stand-in model) like the Linux archive's CLI, and a missing model gives
//!   the same message.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shipped sample picture.
const SAMPLE: &str = "samples/hills-640x360.png";

/// The newest symbol versions a Rocky Linux 8 machine has: glibc 2.28, GCC 8's libstdc++.
const MAX_GLIBC: [u32; 3] = [2, 28, 0];
const MAX_GLIBCXX: [u32; 3] = [3, 4, 25];
const MAX_CXXABI: [u32; 3] = [1, 3, 11];

/// Wine against Linux, in 8-bit levels: the same Rust code and the same ONNX Runtime version, but
/// another C runtime's libm and another build of ONNX Runtime, so a float may round the other way.
const WINE_MAX_LEVELS: u8 = 1;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("crates/xtask has two parents").to_path_buf()
}

/// Says loudly that a test could not run here, and records it for `cargo xtask test`'s summary.
fn skip(test: &str, reason: &str) {
    eprintln!("!!! SKIPPED {test}: {reason}");
    if let Some(log) = std::env::var_os("DEEPMATTE_SKIP_LOG") {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("skip log");
        writeln!(file, "{test}: {reason}").expect("write skip log");
    }
}

/// `target/dist` from `DEEPMATTE_DIST`, or `None` (the test is skipped) outside `cargo xtask test`.
fn dist(test: &str) -> Option<PathBuf> {
    match std::env::var_os("DEEPMATTE_DIST") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            skip(test, "DEEPMATTE_DIST is not set: run it with `cargo xtask test`, which builds the release");
            None
        }
    }
}

/// Prints a measured figure and appends it to `$DEEPMATTE_FIGURES`, which `cargo xtask test`
/// shows at the end (libtest hides a passing test's output).
fn figure(line: String) {
    println!("{line}");
    if let Some(path) = std::env::var_os("DEEPMATTE_FIGURES") {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("figures file");
        writeln!(file, "{line}").expect("write figures file");
    }
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The Linux archive unpacked into a new empty folder; returns (temp dir, top folder).
fn unpack_linux(dist: &Path) -> (tempfile::TempDir, PathBuf) {
    let stem = format!("DeepMatte-{}-linux-x86_64", version());
    let dir = tempfile::tempdir().unwrap();
    run_ok(Command::new("tar").arg("-xzf").arg(dist.join(format!("{stem}.tar.gz"))).arg("-C").arg(dir.path()));
    let top = dir.path().join(stem);
    (dir, top)
}

/// The Windows zip unpacked into a new empty folder; returns (temp dir, top folder).
fn unpack_windows(dist: &Path) -> (tempfile::TempDir, PathBuf) {
    let stem = format!("DeepMatte-{}-windows-x86_64", version());
    let dir = tempfile::tempdir().unwrap();
    run_ok(Command::new("unzip").arg("-q").arg(dist.join(format!("{stem}.zip"))).arg("-d").arg(dir.path()));
    let top = dir.path().join(stem);
    (dir, top)
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// An 8-bit RGBA picture.
struct Rgba {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

fn load_png(path: &Path) -> Rgba {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let channels = info.color_type.samples();
    let data = buf
        .chunks_exact(channels)
        .flat_map(|p| match channels {
            1 => [p[0], p[0], p[0], 255],
            2 => [p[0], p[0], p[0], p[1]],
            3 => [p[0], p[1], p[2], 255],
            _ => [p[0], p[1], p[2], p[3]],
        })
        .collect();
    Rgba { width: info.width, height: info.height, data }
}

/// Largest and mean absolute difference of two pictures, in 8-bit levels.
fn difference(a: &Rgba, b: &Rgba) -> (u8, f64) {
    assert_eq!((a.width, a.height), (b.width, b.height), "the two renders differ in size");
    let diffs = a.data.iter().zip(&b.data).map(|(x, y)| x.abs_diff(*y));
    let max = diffs.clone().max().unwrap_or(0);
    let mean = diffs.map(f64::from).sum::<f64>() / a.data.len() as f64;
    (max, mean)
}

// ---------------------------------------------------------------------------------------------
// Symbol versions

/// `GLIBC_2.28` → ("GLIBC", [2, 28, 0]).
fn parse_version(tag: &str) -> Option<(&str, [u32; 3])> {
    let (name, number) = tag.split_once('_')?;
    let mut parts = [0; 3];
    for (slot, part) in parts.iter_mut().zip(number.split('.')) {
        *slot = part.parse().ok()?;
    }
    Some((name, parts))
}

/// The version tags an ELF requires, from `objdump -p`'s "Version References" section.
fn required_versions(objdump_p: &str) -> Vec<String> {
    objdump_p
        .lines()
        .skip_while(|l| !l.starts_with("Version References:"))
        .skip(1)
        .take_while(|l| l.starts_with(' ') || l.is_empty())
        .filter_map(|l| l.split_whitespace().nth(3).filter(|_| l.trim_start().starts_with("0x")))
        .map(str::to_owned)
        .collect()
}

/// The newest GLIBC, GLIBCXX and CXXABI versions among `tags`, and those past the limits.
fn newest_and_too_new(tags: &[String]) -> ([[u32; 3]; 3], Vec<String>) {
    let mut newest = [[0; 3]; 3];
    let mut too_new = Vec::new();
    for tag in tags {
        let Some((name, v)) = parse_version(tag) else { continue };
        let (slot, limit) = match name {
            "GLIBC" => (0, MAX_GLIBC),
            "GLIBCXX" => (1, MAX_GLIBCXX),
            "CXXABI" => (2, MAX_CXXABI),
            _ => continue,
        };
        newest[slot] = newest[slot].max(v);
        if v > limit {
            too_new.push(tag.clone());
        }
    }
    (newest, too_new)
}

fn shown(v: [u32; 3]) -> String {
    if v == [0; 3] {
        "none".into()
    } else if v[2] == 0 {
        format!("{}.{}", v[0], v[1])
    } else {
        format!("{}.{}.{}", v[0], v[1], v[2])
    }
}

#[test]
fn version_references_are_read_and_judged() {
    // An excerpt of `objdump -p` for a library built on Debian 12 (glibc 2.36).
    let text = "Dynamic Section:\n  NEEDED               libc.so.6\n\nVersion References:\n  required from libstdc++.so.6:\n    0x0297f871 0x00 09 GLIBCXX_3.4.21\n    0x056bafd3 0x00 05 CXXABI_1.3\n  required from libc.so.6:\n    0x09691a75 0x00 04 GLIBC_2.2.5\n    0x069691b5 0x00 03 GLIBC_2.35\n";
    let tags = required_versions(text);
    assert_eq!(tags, ["GLIBCXX_3.4.21", "CXXABI_1.3", "GLIBC_2.2.5", "GLIBC_2.35"]);
    let (newest, too_new) = newest_and_too_new(&tags);
    assert_eq!(newest, [[2, 35, 0], [3, 4, 21], [1, 3, 0]]);
    assert_eq!(too_new, ["GLIBC_2.35"]);
    let (_, ok) = newest_and_too_new(&["GLIBC_2.28".into(), "GLIBCXX_3.4.25".into(), "CXXABI_1.3.11".into()]);
    assert!(ok.is_empty(), "{ok:?}");
    let (_, past) = newest_and_too_new(&["GLIBCXX_3.4.26".into(), "CXXABI_1.3.12".into()]);
    assert_eq!(past.len(), 2);
}

#[test]
fn every_shipped_elf_needs_at_most_glibc_2_28_and_gcc_8_libstdcxx() {
    let test = "every_shipped_elf_needs_at_most_glibc_2_28_and_gcc_8_libstdcxx";
    let Some(dist) = dist(test) else { return };
    let (_dir, top) = unpack_linux(&dist);
    let elfs: Vec<PathBuf> = files(&top)
        .into_iter()
        .filter(|f| std::fs::read(f).is_ok_and(|bytes| bytes.starts_with(b"\x7fELF")))
        .collect();
    let names: Vec<String> = elfs.iter().map(|f| f.strip_prefix(&top).unwrap().display().to_string()).collect();
    for expected in [
        "deepmatte",
        "DeepMatte.ofx.bundle/Contents/Linux-x86-64/DeepMatte.ofx",
        "DeepMatte.ofx.bundle/Contents/Linux-x86-64/libonnxruntime.so.1.31.1",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} is not an ELF in the archive: {names:?}");
    }
    let mut failures = Vec::new();
    for (elf, name) in elfs.iter().zip(&names) {
        let out = run_ok(Command::new("objdump").arg("-p").arg(elf));
        let tags = required_versions(&String::from_utf8_lossy(&out.stdout));
        assert!(!tags.is_empty(), "{name}: objdump found no version references");
        let (newest, too_new) = newest_and_too_new(&tags);
        figure(format!(
            "{name}: newest GLIBC_{}, GLIBCXX_{}, CXXABI_{}",
            shown(newest[0]),
            shown(newest[1]),
            shown(newest[2])
        ));
        if !too_new.is_empty() {
            failures.push(format!("{name} needs {}", too_new.join(", ")));
        }
    }
    assert!(failures.is_empty(), "newer than Rocky Linux 8 has: {failures:?}");

    // The bundle the other tests load is the one that ships, not a second build.
    if let Some(bundle) = std::env::var_os("DEEPMATTE_BUNDLE").map(PathBuf::from) {
        for file in ["DeepMatte.ofx", "libonnxruntime.so.1.31.1"] {
            let tested = bundle.join("Contents/Linux-x86-64").join(file);
            let shipped = top.join("DeepMatte.ofx.bundle/Contents/Linux-x86-64").join(file);
            assert!(std::fs::read(&tested).unwrap() == std::fs::read(&shipped).unwrap(), "{} differs from {}", tested.display(), shipped.display());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Linux archive

/// Checks the archive's SHA256SUMS against its files, and that it lists every file.
fn assert_checksums(top: &Path) {
    run_ok(Command::new("sha256sum").args(["--quiet", "-c", "SHA256SUMS"]).current_dir(top));
    let listed = std::fs::read_to_string(top.join("SHA256SUMS")).unwrap().lines().count();
    assert_eq!(listed, files(top).len() - 1, "SHA256SUMS must list every other file");
}

/// What every archive holds besides the platform's binaries.
fn assert_guide_and_licences(top: &Path) {
    let guide = std::fs::read_to_string(top.join("INSTALL.md")).unwrap();
    for host in ["DaVinci Resolve", "OFXPluginCache.xml", "Natron", "Nuke", "Shotcut", "Kdenlive", "depth_anything_v2_small.onnx"] {
        assert!(guide.contains(host), "INSTALL.md does not mention {host}");
    }
    assert!(!guide.contains("@VERSION@"), "INSTALL.md has an unfilled placeholder");
    let licences = top.join("LICENSES");
    let ort = std::fs::read_to_string(licences.join("onnxruntime/LICENSE")).unwrap();
    assert!(ort.contains("MIT License") && ort.contains("Microsoft"), "ONNX Runtime's LICENSE: {ort}");
    assert!(std::fs::metadata(licences.join("onnxruntime/ThirdPartyNotices.txt")).unwrap().len() > 100_000);
    assert!(std::fs::read_to_string(licences.join("DeepMatte.txt")).unwrap().contains("Apache License"));
    let index = std::fs::read_to_string(licences.join("rust-crates.md")).unwrap();
    for krate in ["| ort |", "| libloading |", "| rayon |", "| clap |"] {
        assert!(index.contains(krate), "rust-crates.md lacks {krate}");
    }
    let crate_folders = std::fs::read_dir(licences.join("rust-crates")).unwrap().count();
    assert!(crate_folders > 30, "only {crate_folders} crate licence folders");
    let texts = files(&licences.join("rust-crates")).len();
    assert!(texts >= crate_folders, "{texts} licence texts for {crate_folders} crates");
    let models = std::fs::read_to_string(licences.join("models.md")).unwrap();
    assert!(models.contains("Depth Anything V2 Small") && models.contains("Apache-2.0"), "{models}");
}

#[test]
fn linux_archive_unpacked_alone_renders_the_sample() {
    let test = "linux_archive_unpacked_alone_renders_the_sample";
    let Some(dist) = dist(test) else { return };
    let (dir, top) = unpack_linux(&dist);
    assert_checksums(&top);
    assert_guide_and_licences(&top);
    assert!(!top.join("DeepMatte.ofx.bundle/Contents/Win64").exists(), "the Linux archive holds Windows binaries");

    // No repository, no DEEPMATTE_BUNDLE, no cargo: only the unpacked folder.
    std::fs::copy(root().join(SAMPLE), dir.path().join("hills.png")).unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    run_ok(
        Command::new(top.join("deepmatte"))
            .args(["render", "--effect", "luma-matte-extract", "--input", "hills.png", "--output", "matte.png", "--set", "output=matte_rgba"])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home),
    );
    let source = load_png(&dir.path().join("hills.png"));
    let matte = load_png(&dir.path().join("matte.png"));
    assert_eq!((matte.width, matte.height), (source.width, source.height));
    let mut worst = 0.0f64;
    for (s, m) in source.data.chunks_exact(4).zip(matte.data.chunks_exact(4)) {
        // Rec.709 luminance of the 8-bit values, the effect's default (black 0, white 1).
        let y = (0.2126 * f64::from(s[0]) + 0.7152 * f64::from(s[1]) + 0.0722 * f64::from(s[2])) / 255.0;
        for &level in &m[..3] {
            worst = worst.max((f64::from(level) / 255.0 - y).abs());
        }
    }
    figure(format!("Linux archive CLI: luma matte of {SAMPLE} against Rec.709, worst error {:.2} levels", worst * 255.0));
    assert!(worst <= 0.6 / 255.0, "matte differs from Rec.709 luminance by {worst}");
    assert!(home.join(".cache/DeepMatte/deepmatte.log").is_file(), "the plugin wrote no log under HOME/.cache/DeepMatte");
}

// ---------------------------------------------------------------------------------------------
// Windows

/// `objdump -f`'s file format of a file, e.g. `pei-x86-64`.
fn file_format(path: &Path) -> String {
    let out = run_ok(Command::new("objdump").arg("-f").arg(path));
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.split("file format ").nth(1)).unwrap_or("").trim().to_string()
}

#[test]
fn windows_zip_holds_pe_binaries_guide_licences_and_checksums() {
    let test = "windows_zip_holds_pe_binaries_guide_licences_and_checksums";
    let Some(dist) = dist(test) else { return };
    let (_dir, top) = unpack_windows(&dist);
    assert_checksums(&top);
    assert_guide_and_licences(&top);
    let win64 = top.join("DeepMatte.ofx.bundle/Contents/Win64");
    for file in [win64.join("DeepMatte.ofx"), win64.join("onnxruntime.dll"), top.join("deepmatte.exe")] {
        assert_eq!(file_format(&file), "pei-x86-64", "{}", file.display());
    }
    assert!(!top.join("DeepMatte.ofx.bundle/Contents/Linux-x86-64").exists(), "the zip holds Linux binaries");
    let plist = std::fs::read_to_string(top.join("DeepMatte.ofx.bundle/Contents/Info.plist")).unwrap();
    assert!(plist.contains("<string>DeepMatte.ofx</string>"), "{plist}");
    assert!(std::fs::read_to_string(top.join("INSTALL.md")).unwrap().contains(r"C:\Program Files\Common Files\OFX\Plugins"));
}

/// `Z:\…` for a path of this machine, as Wine's programs see it.
fn wine_path(path: &Path) -> String {
    format!("Z:{}", path.display().to_string().replace('/', "\\"))
}

/// Debian's wine64 and the private prefix, or `None` (skipped) when setup could not make them.
fn wine(test: &str) -> Option<(PathBuf, PathBuf)> {
    let wine = PathBuf::from("/usr/lib/wine/wine64");
    let prefix = root().join(".cache/wine");
    if !wine.is_file() || !prefix.join("drive_c/windows/system32/bcryptprimitives.dll").is_file() {
        skip(test, "no wine64 or no Wine prefix: `cargo xtask setup` installs them (as root on Debian)");
        return None;
    }
    Some((wine, prefix))
}

/// Runs the Windows CLI under Wine, headless.
fn under_wine(wine: &Path, prefix: &Path, exe: &Path, args: &[String]) -> Output {
    Command::new(wine)
        .arg(exe)
        .args(args)
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DEEPMATTE_BUNDLE")
        .env_remove("DEEPMATTE_MODELS")
        .output()
        .expect("cannot run wine64")
}

fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `deepmatte: error: …` line of a failed run, with each of `folders` (as that OS writes them)
/// replaced by its placeholder and Windows' `\` separators written as `/`, so the two OSes' messages
/// compare equal when they say the same thing.
fn error_line(out: &Output, folders: &[(&str, &str)]) -> String {
    assert!(!out.status.success(), "should have failed: {}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().find(|l| l.starts_with("deepmatte: error:")).unwrap_or_else(|| panic!("no error line in {text}"));
    let mut line = line.to_string();
    for (folder, placeholder) in folders {
        line = line.replace(folder, placeholder);
    }
    line.replace('\\', "/")
}

#[test]
fn windows_cli_under_wine_renders_like_linux() {
    let test = "windows_cli_under_wine_renders_like_linux";
    let Some(dist) = dist(test) else { return };
    let Some((wine, prefix)) = wine(test) else { return };
    let started = std::time::Instant::now();
    let (linux_dir, linux) = unpack_linux(&dist);
    let (windows_dir, windows) = unpack_windows(&dist);
    let work = tempfile::tempdir().unwrap();
    let sample = work.path().join("hills.png");
    std::fs::copy(root().join(SAMPLE), &sample).unwrap();
    let models = work.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::copy(root().join(".cache/models/depth_standin_exact.onnx"), models.join("depth_anything_v2_small.onnx"))
        .expect("stand-in depth model: run `cargo xtask setup`");
    let empty = work.path().join("no-models");
    std::fs::create_dir_all(&empty).unwrap();

    let log = prefix.join("drive_c/users").join(std::env::var("USER").unwrap_or_else(|_| "root".into()));
    let log = log.join("AppData/Local/DeepMatte/deepmatte.log");
    let _ = std::fs::remove_file(&log);

    let renders: [(&str, &str, Vec<&str>); 2] = [
        ("luma", "luma-matte-extract", vec!["--set", "output=matte_rgba"]),
        ("depth", "depth-map", vec!["--set", "output=depth", "--set", "MODELS"]),
    ];
    for (name, effect, sets) in &renders {
        let output_linux = work.path().join(format!("{name}-linux.png"));
        let output_windows = work.path().join(format!("{name}-windows.png"));
        let args = |wine_paths: bool, output: &Path| -> Vec<String> {
            let p = |path: &Path| if wine_paths { wine_path(path) } else { path.display().to_string() };
            let mut args: Vec<String> =
                ["render", "--effect", effect, "--input", &p(&sample), "--output", &p(output)].map(String::from).to_vec();
            args.extend(sets.iter().map(|s| if *s == "MODELS" { format!("model_folder={}", p(&models)) } else { s.to_string() }));
            args
        };
        let out = Command::new(linux.join("deepmatte")).args(args(false, &output_linux)).env_remove("DEEPMATTE_BUNDLE").output().unwrap();
        assert_success(&format!("Linux {name}"), &out);
        let out = under_wine(&wine, &prefix, &windows.join("deepmatte.exe"), &args(true, &output_windows));
        assert_success(&format!("Windows {name} under Wine"), &out);
        let (max, mean) = difference(&load_png(&output_linux), &load_png(&output_windows));
        figure(format!("{effect}: Windows (Wine) against Linux: max {max} levels, mean {mean:.4} levels of 255"));
        assert!(max <= WINE_MAX_LEVELS, "{effect}: Windows differs from Linux by up to {max} levels (tolerance {WINE_MAX_LEVELS})");
    }

    // A missing model: the same message on both, naming the folder each OS calls it by.
    let missing = |wine_paths: bool| -> Vec<String> {
        let folder = if wine_paths { wine_path(&empty) } else { empty.display().to_string() };
        let output = work.path().join("never.png");
        let output = if wine_paths { wine_path(&output) } else { output.display().to_string() };
        let input = if wine_paths { wine_path(&sample) } else { sample.display().to_string() };
        ["render", "--effect", "depth-map", "--input", &input, "--output", &output, "--set", &format!("model_folder={folder}")]
            .map(String::from)
            .to_vec()
    };
    // Each OS's per-user data folder (where installed models are also looked for): a fresh one on
    // Linux, the prefix's %APPDATA% under Wine.
    let xdg = work.path().join("xdg");
    let linux_user = xdg.join("DeepMatte").display().to_string();
    let windows_user = format!(r"C:\users\{}\AppData\Roaming\DeepMatte", std::env::var("USER").unwrap_or_else(|_| "root".into()));
    let linux_error = error_line(
        &Command::new(linux.join("deepmatte"))
            .args(missing(false))
            .env_remove("DEEPMATTE_BUNDLE")
            .env_remove("DEEPMATTE_MODELS")
            .env("XDG_DATA_HOME", &xdg)
            .output()
            .unwrap(),
        &[
            (&empty.display().to_string(), "<FOLDER>"),
            (&linux_user, "<USER DATA>"),
            (&linux.join("DeepMatte.ofx.bundle").display().to_string(), "<BUNDLE>"),
        ],
    );
    let windows_error = error_line(
        &under_wine(&wine, &prefix, &windows.join("deepmatte.exe"), &missing(true)),
        &[
            (&wine_path(&empty), "<FOLDER>"),
            (&windows_user, "<USER DATA>"),
            (&wine_path(&windows.join("DeepMatte.ofx.bundle")), "<BUNDLE>"),
        ],
    );
    println!("missing model, Linux:   {linux_error}");
    println!("missing model, Windows: {windows_error}");
    assert!(linux_error.contains("depth_anything_v2_small.onnx") && linux_error.contains("<FOLDER>"), "{linux_error}");
    assert_eq!(windows_error, linux_error, "the missing-model message differs between Windows and Linux");

    // The plugin's log follows Windows conventions: %LOCALAPPDATA%\DeepMatte\deepmatte.log.
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("no plugin log at {}: {e}", log.display()));
    assert!(text.contains(&format!("DeepMatte {} loaded", version())), "{text}");
    figure(format!("Wine test (unpack both archives, 6 runs) took {:.1} s", started.elapsed().as_secs_f64()));
    drop((linux_dir, windows_dir));
}
