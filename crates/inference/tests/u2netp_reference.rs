//! The real U²-Netp network through crates/inference: our Rust pre- and post-processing on
//! scikit-image photos must reproduce the Python onnxruntime pipeline of models/reference_u2netp.py.

mod common;

use std::sync::Arc;

use inference::{u2netp, Backend, SessionOptions};

/// Largest difference allowed between our matte and the Python one, per pixel, on a 0–1 matte.
/// Both sides use the same resize arithmetic in f32 and the same ONNX Runtime; what is left is
/// float summation order (~1e-6 in the input tensor) carried through the network: measured 7.3e-6.
const MAX_ABS_DIFFERENCE: f32 = 5e-5;

struct Photo {
    name: String,
    width: usize,
    height: usize,
    rgb: Vec<f32>,
    reference: Vec<f32>,
}

fn photos() -> Vec<Photo> {
    let dir = common::cached("reference/u2netp");
    let index = std::fs::read_to_string(dir.join("index.txt")).expect("index.txt");
    index
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (name, width, height) = (fields[0].to_owned(), fields[1].parse().unwrap(), fields[2].parse().unwrap());
            let rgb = std::fs::read(dir.join(format!("{name}.rgb"))).unwrap().iter().map(|&v| v as f32 / 255.0).collect();
            let reference = std::fs::read(dir.join(format!("{name}.matte")))
                .unwrap()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Photo { name, width, height, rgb, reference }
        })
        .collect()
}

#[test]
fn rust_pipeline_reproduces_python_onnxruntime_on_photos() {
    let runtime = common::runtime();
    let model = runtime
        .open(&common::cached("models/u2netp.onnx"), &u2netp::CONTRACT, &SessionOptions::default())
        .expect("u2netp opens and passes its contract");
    println!("backend: {}", model.backend());
    let photos = photos();
    assert_eq!(photos.len(), 3);
    for photo in &photos {
        let matte = u2netp::matte(&model, &photo.rgb, photo.width, photo.height, 3).unwrap();
        assert_eq!(matte.len(), photo.reference.len());
        let worst = matte.iter().zip(&photo.reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        let mean = matte.iter().sum::<f32>() / matte.len() as f32;
        let spread = matte.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / matte.len() as f32;
        println!("{}: {}x{}, max |rust - python| = {worst:.2e}, matte std {:.3}", photo.name, photo.width, photo.height, spread.sqrt());
        assert!(worst <= MAX_ABS_DIFFERENCE, "{}: max abs difference {worst} > {MAX_ABS_DIFFERENCE}", photo.name);
        // A real matte, not a constant: the network separates a subject from its background.
        assert!(spread.sqrt() > 0.2, "{}: matte is nearly flat", photo.name);
    }
}

#[test]
fn backend_report_says_which_runs_and_why_faster_ones_do_not() {
    let runtime = common::runtime();
    let model = runtime.open(&common::cached("models/u2netp.onnx"), &u2netp::CONTRACT, &SessionOptions::default()).unwrap();
    let report = model.backend();
    let line = report.to_string();
    println!("status line: {line}");
    let faster: Vec<Backend> = Backend::PREFERENCE.iter().copied().take_while(|b| *b != report.used).collect();
    let passed_over: Vec<Backend> = report.passed_over.iter().map(|(b, _)| *b).collect();
    assert_eq!(passed_over, faster, "every faster backend is listed with its reason");
    assert!(report.passed_over.iter().all(|(_, why)| !why.is_empty()));
    if report.used == Backend::Cpu {
        assert!(line.starts_with("CPU (TensorRT: "), "{line}");
        assert!(line.contains("; CUDA: "), "{line}");
    }
}

/// On a machine with an NVIDIA GPU and the onnxruntime-gpu library, a model must run on it. This
/// cannot run here (no GPU): it says so loudly and is counted as skipped by `cargo xtask test`
/// (through `DEEPMATTE_SKIP_LOG`), never as passed.
#[test]
fn gpu_backend_runs_a_model_where_a_gpu_exists() {
    let runtime = common::runtime();
    let model = runtime.open(&common::cached("models/u2netp.onnx"), &u2netp::CONTRACT, &SessionOptions::default()).unwrap();
    let report = model.backend();
    if report.used == Backend::Cpu {
        let reason = format!("no usable GPU backend here: {report}");
        eprintln!("\n*** SKIPPED gpu_backend_runs_a_model_where_a_gpu_exists: {reason}\n");
        if let Some(log) = std::env::var_os("DEEPMATTE_SKIP_LOG") {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
            writeln!(file, "inference::gpu_backend_runs_a_model_where_a_gpu_exists: {reason}").unwrap();
        }
        return;
    }
    let photo = &photos()[0];
    let matte = u2netp::matte(&model, &photo.rgb, photo.width, photo.height, 3).unwrap();
    assert_eq!(matte.len(), photo.width * photo.height);
}

#[test]
fn sessions_are_shared_and_safe_across_threads() {
    let runtime = common::runtime();
    let path = common::cached("models/u2netp.onnx");
    let options = SessionOptions::default();
    let first = runtime.open(&path, &u2netp::CONTRACT, &options).unwrap();
    let again = runtime.open(&path, &u2netp::CONTRACT, &options).unwrap();
    assert!(Arc::ptr_eq(&first, &again), "same file and options must share one session");
    let cpu_only = SessionOptions { cpu_only: true, ..SessionOptions::default() };
    let other = runtime.open(&path, &u2netp::CONTRACT, &cpu_only).unwrap();
    assert!(!Arc::ptr_eq(&first, &other), "different options are a different session");

    let photo = &photos()[0];
    let results: Vec<Vec<f32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| u2netp::matte(&first, &photo.rgb, photo.width, photo.height, 3).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in &results[1..] {
        assert_eq!(result, &results[0], "concurrent runs give identical mattes");
    }
}
