//! Depth Map's Download Model button through the built bundle: the model is missing, the button
//! downloads it (from an HTTP server on 127.0.0.1 named by a test manifest, `DEEPMATTE_MODEL_MANIFEST`)
//! into the per-user models folder with the host's progress bar, a cancel keeps nothing under the
//! model's name, and the same instance then renders with it — no restart. Its own test binary: it
//! points the process's environment at its own folders before the plugin reads them.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use common::{cache_models, load, model_folder_with};
use deepmatte_ofx::effects::depth_map_controls as dm;
use depth::standin::EXACT_FILE;
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, ParamValue, ProgressEvent, Rect, RenderOptions};
use sha2::{Digest, Sha256};

const ID: &str = "org.deepmatte.DepthMap";
const MODEL: &str = "depth_anything_v2_small.onnx";

/// Serves `body` (honouring `Range`) to at most `n` requests, sending its first third, then a pause,
/// then the rest, so that a cancel can land mid-download.
fn serve(body: Vec<u8>, n: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for mut stream in listener.incoming().take(n).flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut start = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(range) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    start = range.trim().trim_end_matches('-').parse().unwrap_or(0).min(body.len());
                }
                line.clear();
            }
            let head = if start > 0 {
                format!("HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n", body.len() - start, body.len() - 1, body.len())
            } else {
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())
            };
            let rest = &body[start..];
            let third = rest.len() / 3;
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&rest[..third]);
            let _ = stream.flush();
            thread::sleep(Duration::from_millis(300));
            let _ = stream.write_all(&rest[third..]);
        }
    });
    base
}

fn source() -> Image {
    Image::from_fn(Rect::new(0, 0, 48, 27), BitDepth::F32, Components::Rgba, |x, y, c| if c == 3 { 1.0 } else { ((x * 5 + y * 3 + c as i32 * 7) % 48) as f32 / 47.0 })
}

fn status(fx: &ofx_host::Instance) -> String {
    match fx.param_value(dm::STATUS.name, 0.0).unwrap() {
        ParamValue::String(text) => text,
        other => panic!("status is {other:?}"),
    }
}

#[test]
fn download_model_button_installs_the_model_and_the_same_instance_renders_with_it() {
    let user = tempfile::tempdir().unwrap();
    let body = std::fs::read(cache_models().join(EXACT_FILE)).unwrap();
    let sha: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    let base = serve(body.clone(), 4);
    let manifest = user.path().join("manifest.toml");
    std::fs::write(
        &manifest,
        format!("[[model]]\nname = \"Depth Anything V2 Small\"\nfile = \"{MODEL}\"\ninstall = \"depth\"\nlicence = \"Apache-2.0\"\n\n[[model.source]]\nurl = \"{base}/depth.onnx\"\nsha256 = \"{sha}\"\n"),
    )
    .unwrap();
    // Before the plugin is loaded: this binary's only test, so nothing else reads the environment.
    std::env::set_var("XDG_DATA_HOME", user.path());
    std::env::set_var("DEEPMATTE_MODEL_MANIFEST", &manifest);
    std::env::remove_var("DEEPMATTE_MODELS");
    let installed = user.path().join("DeepMatte/models").join(MODEL);

    let bundle = load(HostProfile::Resolve);
    let mut fx = bundle.create_instance(ID, Context::Filter).unwrap();
    fx.set_input("Source", ClipSource::Still(source()));
    fx.set_param_text(dm::OUTPUT.name, "depth").unwrap();
    let empty = tempfile::tempdir().unwrap();
    fx.set_param_text(dm::MODEL_FOLDER.name, empty.path().to_str().unwrap()).unwrap();
    let err = fx.render(0.0, &RenderOptions::default()).expect_err("no model yet").to_string();
    let said: Vec<String> = fx.messages().into_iter().map(|m| m.text).collect();
    let said = format!("{err} | {}", said.join(" | "));
    assert!(said.contains("was not found") && said.contains("Download Model") && !said.contains("cargo"), "{said}");

    // Cancel after the first progress update: nothing under the model's name.
    fx.cancel_after_progress_updates(Some(1));
    let cancelled = fx.press(dm::DOWNLOAD_MODEL.name, 0.0);
    let said: Vec<String> = fx.take_messages().into_iter().map(|m| m.text).collect();
    assert!(cancelled.is_err() || said.iter().any(|m| m.contains("cancelled")), "{cancelled:?} {said:?}");
    assert!(said.iter().any(|m| m.contains("was cancelled")), "{said:?}");
    assert!(!installed.exists(), "a cancelled download leaves no model file");

    // Press again: the download resumes and finishes; progress went through the host.
    fx.cancel_after_progress_updates(None);
    fx.press(dm::DOWNLOAD_MODEL.name, 0.0).expect("the download succeeds");
    assert_eq!(std::fs::read(&installed).unwrap(), body, "the served bytes are installed in the per-user models folder");
    let events = fx.progress_events();
    assert!(matches!(&events[0], ProgressEvent::Start(label) if label.contains("downloading Depth Anything V2 Small")), "{events:?}");
    assert!(events.iter().any(|e| matches!(e, ProgressEvent::Update(f) if *f >= 1.0)), "progress reaches 100%: {events:?}");
    let text = status(&fx);
    assert!(text.contains("Downloaded and verified") && text.contains("Model runs on"), "{text}");
    println!("status: {text}");

    // The same instance renders now, with Model Folder still pointing at the empty folder: the
    // per-user folder answers, and its depth is the stand-in's, pixel for pixel.
    let downloaded = fx.render(0.0, &RenderOptions::default()).expect("renders with the downloaded model");
    let reference_models = model_folder_with(EXACT_FILE, MODEL);
    let mut reference = bundle.create_instance(ID, Context::Filter).unwrap();
    reference.set_input("Source", ClipSource::Still(source()));
    reference.set_param_text(dm::OUTPUT.name, "depth").unwrap();
    reference.set_param_text(dm::MODEL_FOLDER.name, reference_models.path().to_str().unwrap()).unwrap();
    let expected = reference.render(0.0, &RenderOptions::default()).unwrap();
    let mut differs = 0;
    let mut range = (f32::MAX, f32::MIN);
    for y in 0..27 {
        for x in 0..48 {
            let (a, b) = (downloaded.rgba(x, y), expected.rgba(x, y));
            differs += usize::from(a != b);
            range = (range.0.min(a[0]), range.1.max(a[0]));
        }
    }
    assert_eq!(differs, 0, "the downloaded model gives the stand-in's depth");
    assert!(range.1 - range.0 > 0.5, "a real depth map, not a flat frame: {range:?}");
}
