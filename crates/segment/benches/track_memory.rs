//! Magic Mask tracking benchmark on the SAM 2 stand-ins (real SAM 2.1-tiny tensor sizes): peak
//! memory while tracking 30 vs 300 frames (the memory bank is bounded, so the ratio must stay under
//! 1.10) and per-frame time split into encoder / memory attention / decoder / memory encoder / store
//! write.
//!
//! `cargo bench -p segment --bench track_memory` runs each length in a child process of its own,
//! because the peak (VmHWM in /proc/self/status) only ever grows within a process.
//! `... -- --frames N` runs one length and prints its figures.
//!
//! `DEEPMATTE_BENCH_SAM2=tiny|small` runs the real SAM 2.1 architectures instead (the graphs of
//! `cargo xtask export-models --random-weights` in `.cache/models/real-arch`; random weights, so the
//! IoU printed is meaningless), and `DEEPMATTE_BENCH_LENGTHS=30,300` sets the two lengths compared.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::process::Command;
use std::time::{Duration, Instant};

use segment::synthetic::{iou, Scene};
use segment::{prompt_hash, Direction, MaskStore, Prompt};

const SHORT: i32 = 30;
const LONG: i32 = 300;
const LIMIT: f64 = 1.10;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--frames").and_then(|i| args.get(i + 1)) {
        Some(n) => run(n.parse().expect("--frames takes a number")),
        None => compare(),
    }
}

/// Runs both lengths in child processes and checks the ratio of their peaks.
fn compare() {
    let me = std::env::current_exe().expect("own executable");
    let peak = |frames: i32| -> u64 {
        let out = Command::new(&me).args(["--frames", &frames.to_string()]).output().expect("running the benchmark child");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        print!("{text}");
        assert!(out.status.success(), "the {frames}-frame run failed: {}", String::from_utf8_lossy(&out.stderr));
        text.lines().find_map(|l| l.strip_prefix("peak_kib=")).and_then(|v| v.trim().parse().ok()).expect("peak_kib line")
    };
    let lengths: Vec<i32> = std::env::var("DEEPMATTE_BENCH_LENGTHS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|l: &Vec<i32>| l.len() == 2)
        .unwrap_or(vec![SHORT, LONG]);
    let (short_len, long_len) = (lengths[0], lengths[1]);
    let (short, long) = (peak(short_len), peak(long_len));
    let ratio = long as f64 / short as f64;
    println!("peak memory: {short_len} frames {:.1} MiB, {long_len} frames {:.1} MiB, ratio {ratio:.3} (limit {LIMIT})", short as f64 / 1024.0, long as f64 / 1024.0);
    assert!(ratio < LIMIT, "memory grows with clip length: ratio {ratio:.3}");
}

/// Tracks `frames` frames forward from one click on frame 0, writing each mask to a store.
fn run(frames: i32) {
    let scene = Scene::new(frames);
    let (cx, cy, _) = scene.object(0);
    let prompts = BTreeMap::from([(0, vec![Prompt::Point { x: cx, y: cy, positive: true }])]);
    let hash = prompt_hash(&prompts);
    let root = common::scratch(&format!("bench-{frames}"));
    let mut store = MaskStore::open(&root, "bench").unwrap();
    let (tracker, what) = bench_tracker();
    println!("models: {what}");
    let (mut writing, mut iou_sum) = (Duration::ZERO, 0.0);
    let started = Instant::now();
    let report = tracker
        .track(|f| Ok(scene.frame(f)), 0..=frames - 1, Direction::Forward, &prompts, |f, mask| {
            let t = Instant::now();
            store.write(f, mask, "sam2-standin", "faster", &hash, Direction::Forward).unwrap();
            writing += t.elapsed();
            iou_sum += iou(&mask.binary(), &scene.truth(f));
            ControlFlow::Continue(())
        })
        .unwrap();
    let total = started.elapsed();
    let n = report.frames.len() as f64;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0 / n;
    let times = report.times;
    println!("{frames} frames: {:.1} ms/frame total, mean IoU {:.4}, memory bank peak {} frames", ms(total), iou_sum / n, report.peak_memory_frames);
    println!(
        "  per frame: encoder {:.1} ms | memory attention {:.1} ms | decoder {:.1} ms | memory encoder {:.1} ms | store write {:.1} ms",
        ms(times.encoder),
        ms(times.memory_attention),
        ms(times.decoder),
        ms(times.memory_encoder),
        ms(writing)
    );
    println!("peak_kib={}", peak_kib());
    let _ = std::fs::remove_dir_all(&root);
}

/// The stand-ins, or the real architecture `DEEPMATTE_BENCH_SAM2` names.
fn bench_tracker() -> (segment::Tracker, String) {
    let size = match std::env::var("DEEPMATTE_BENCH_SAM2").ok().as_deref() {
        Some("tiny") => segment::Sam2Size::Tiny,
        Some("small") => segment::Sam2Size::Small,
        _ => return (common::tracker(), "SAM 2 stand-ins".into()),
    };
    let dir = common::cache().join("models").join("real-arch");
    let options = inference::SessionOptions { cpu_only: true, ..Default::default() };
    let tracker = segment::Tracker::open_size(&common::runtime(), &inference::ModelSearch::only(&dir), &options, size)
        .unwrap_or_else(|e| panic!("{e}\n(`cargo xtask export-models --random-weights` makes them)"));
    (tracker, format!("real SAM 2.1 {size:?} architecture, random weights ({})", dir.display()))
}

/// The process's peak resident memory (VmHWM), in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}
