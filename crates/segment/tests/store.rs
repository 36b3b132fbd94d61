//! The mask store: bit-exact round trips, cancel consistency, specific errors, export, re-track rule.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::ops::ControlFlow;
use std::os::unix::fs::PermissionsExt;

use segment::synthetic::Scene;
use segment::{prompt_hash, retrack_plan, Direction, Mask, MaskStore, Prompt, StoreError};

const MODEL: &str = "sam2-standin";
const QUALITY: &str = "faster";

/// Every 16-bit value, so any lossy step would show.
fn every_value_mask() -> Mask {
    Mask { width: 256, height: 256, coverage: (0..=u16::MAX).collect() }
}

#[test]
fn round_trip_is_bit_exact_and_survives_reopening() {
    let root = common::scratch("roundtrip");
    let mut store = MaskStore::open(&root, "shot1").unwrap();
    let mask = every_value_mask();
    store.write(4, &mask, MODEL, QUALITY, "abc", Direction::Backward).unwrap();
    assert_eq!(store.read(4).unwrap(), mask);
    let reopened = MaskStore::open(&root, "shot1").unwrap();
    assert_eq!(reopened.read(4).unwrap(), mask);
    let record = reopened.record(4).unwrap();
    assert_eq!((record.model.as_str(), record.quality.as_str(), record.prompt_hash.as_str()), (MODEL, QUALITY, "abc"));
    assert_eq!(record.direction, Direction::Backward);
    assert!(matches!(reopened.read(5), Err(StoreError::NotTracked(5))));
}

#[test]
fn damaged_and_missing_files_are_named() {
    let root = common::scratch("damaged");
    let mut store = MaskStore::open(&root, "s").unwrap();
    let mask = Mask { width: 8, height: 4, coverage: vec![40000; 32] };
    for frame in 0..3 {
        store.write(frame, &mask, MODEL, QUALITY, "h", Direction::Forward).unwrap();
    }
    let file = store.folder().join(&store.record(1).unwrap().file);
    let bytes = fs::read(&file).unwrap();
    fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    fs::remove_file(store.folder().join(&store.record(2).unwrap().file)).unwrap();

    let err = store.read(1).unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt { frame: 1, file: f, .. } if *f == file), "{err:?}");
    assert!(err.to_string().contains(&file.display().to_string()), "{err}");
    let err = store.read(2).unwrap_err();
    assert!(matches!(err, StoreError::MissingFile { frame: 2, .. }), "{err:?}");
    assert_eq!(store.read(0).unwrap(), mask, "the other frames are untouched");

    fs::write(store.folder().join("manifest.json"), b"{ not json").unwrap();
    let err = MaskStore::open(&root, "s").unwrap_err();
    assert!(matches!(err, StoreError::CorruptManifest { .. }), "{err:?}");
}

#[test]
fn missing_and_read_only_folders_are_specific_errors() {
    let root = common::scratch("folders");
    let missing = root.join("not-there");
    assert!(matches!(MaskStore::open(&missing, "s"), Err(StoreError::MissingFolder(p)) if p == missing));

    let mut store = MaskStore::open(&root, "s").unwrap();
    let mask = Mask { width: 4, height: 4, coverage: vec![1; 16] };
    store.write(0, &mask, MODEL, QUALITY, "h", Direction::Forward).unwrap();
    fs::set_permissions(store.folder(), fs::Permissions::from_mode(0o555)).unwrap();
    let err = store.write(1, &mask, MODEL, QUALITY, "h", Direction::Forward).unwrap_err();
    assert!(matches!(&err, StoreError::ReadOnly(p) if p == store.folder()), "{err:?}");
    assert!(err.to_string().contains("read-only"), "{err}");
    // Reading a read-only store still works: another machine may mount it read-only.
    assert_eq!(MaskStore::open(&root, "s").unwrap().read(0).unwrap(), mask);
    assert!(matches!(store.export("{frame}.png", &missing, "c"), Err(StoreError::MissingFolder(_))));
    fs::set_permissions(store.folder(), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn export_writes_luma_mattes_named_by_the_template() {
    let root = common::scratch("export");
    let mut store = MaskStore::open(&root, "s").unwrap();
    let mask = every_value_mask();
    store.write(7, &mask, MODEL, QUALITY, "h", Direction::Forward).unwrap();
    store.write(12, &mask, MODEL, QUALITY, "h", Direction::Forward).unwrap();
    let out = root.join("out");
    fs::create_dir(&out).unwrap();
    let files = store.export("{clip}_{frame:04}.png", &out, "shot").unwrap();
    assert_eq!(files, vec![out.join("shot_0007.png"), out.join("shot_0012.png")]);
    let decoder = png::Decoder::new(fs::File::open(&files[0]).unwrap());
    let mut reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().color_type, reader.info().bit_depth), (png::ColorType::Grayscale, png::BitDepth::Sixteen));
    let mut buffer = vec![0; reader.output_buffer_size()];
    reader.next_frame(&mut buffer).unwrap();
    let values: Vec<u16> = buffer.chunks_exact(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect();
    assert_eq!(values, mask.coverage);
    assert!(matches!(store.export("{clip}.png", &out, "shot"), Err(StoreError::Template(_))));
}

#[test]
fn cancel_at_frame_30_keeps_frames_0_to_30_consistent() {
    let scene = Scene::new(60);
    let (cx, cy, _) = scene.object(0);
    let prompts = BTreeMap::from([(0, vec![Prompt::Point { x: cx, y: cy, positive: true }])]);
    let hash = prompt_hash(&prompts);
    let root = common::scratch("cancel");
    let mut store = MaskStore::open(&root, "clip").unwrap();
    let mut progress = Vec::new();
    let report = common::tracker()
        .track(|f| Ok(scene.frame(f)), 0..=59, Direction::Forward, &prompts, |f, mask| {
            store.write(f, mask, MODEL, QUALITY, &hash, Direction::Forward).unwrap();
            progress.push(f);
            if f == 30 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert!(report.cancelled);
    assert_eq!(progress, (0..=30).collect::<Vec<_>>(), "progress is reported for every frame");
    let reopened = MaskStore::open(&root, "clip").unwrap();
    assert_eq!(reopened.frames().map(|(f, _)| f).collect::<Vec<_>>(), (0..=30).collect::<Vec<_>>());
    for f in 0..=30 {
        let mask = reopened.read(f).unwrap();
        assert_eq!((mask.width, mask.height), (scene.width, scene.height));
        assert_eq!(reopened.record(f).unwrap().prompt_hash, hash);
    }
    let leftovers: Vec<_> = fs::read_dir(reopened.folder()).unwrap().filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "tmp")).collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

#[test]
fn an_edit_retracks_only_the_runs_that_came_through_it() {
    let root = common::scratch("retrack");
    let mut store = MaskStore::open(&root, "s").unwrap();
    let mask = Mask { width: 2, height: 2, coverage: vec![0; 4] };
    // Prompts on 10 (tracked forward to 30) and on 50 (tracked backward to 31).
    for f in 10..=30 {
        store.write(f, &mask, MODEL, QUALITY, "h", Direction::Forward).unwrap();
    }
    for f in 31..=50 {
        store.write(f, &mask, MODEL, QUALITY, "h", Direction::Backward).unwrap();
    }
    assert_eq!(retrack_plan(&store, 20), vec![(20..=30, Direction::Forward)]);
    assert_eq!(retrack_plan(&store, 40), vec![(31..=40, Direction::Backward)]);
    assert_eq!(retrack_plan(&store, 10), vec![(10..=30, Direction::Forward)]);
    assert_eq!(retrack_plan(&store, 5), vec![(5..=5, Direction::Forward)]);
    store.forget(31..=40).unwrap();
    assert_eq!(MaskStore::open(&root, "s").unwrap().frames().count(), 21 + 10);
}

/// Everything inside `dir`, recursively (to prove nothing was written elsewhere).
fn listing(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(listing(&path));
        }
        out.push(path);
    }
    out.sort();
    out
}

#[test]
fn an_id_from_a_project_file_cannot_leave_the_store_folder() {
    let scratch = common::scratch("escape");
    let (root, outside) = (scratch.join("root"), scratch.join("outside"));
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();
    let long = "a".repeat(10_000);
    let absolute = outside.join("x").to_string_lossy().into_owned();
    let hostile = [absolute.as_str(), "../outside/x", "..", ".", "a/b", "a\\b", "x\0y", "C:x", "", long.as_str(), "mm-1 2", "ü"];
    let mask = Mask { width: 2, height: 1, coverage: vec![1, 2] };
    for id in hostile {
        match MaskStore::open(&root, id) {
            Err(StoreError::BadId(shown)) => assert!(shown.chars().count() <= 80, "the id is not echoed whole"),
            Ok(mut store) => {
                let _ = store.write(0, &mask, MODEL, QUALITY, "h", Direction::Forward);
                panic!("id {id:?} was accepted (store folder {})", store.folder().display());
            }
            Err(other) => panic!("id {id:?}: {other}"),
        }
    }
    assert!(listing(&scratch).iter().all(|p| p == &root || p == &outside), "nothing created: {:?}", listing(&scratch));
    // The ids the plugin makes, and plain names, still work.
    for id in ["mm-0123456789abcdef", "shot_1"] {
        let mut store = MaskStore::open(&root, id).unwrap();
        store.write(0, &mask, MODEL, QUALITY, "h", Direction::Forward).unwrap();
        assert_eq!(store.folder(), root.join(id));
    }
}

#[test]
fn export_templates_cannot_leave_the_export_folder() {
    let scratch = common::scratch("export-escape");
    let (root, export, outside) = (scratch.join("root"), scratch.join("export"), scratch.join("outside"));
    for d in [&root, &export, &outside] {
        fs::create_dir_all(d).unwrap();
    }
    let mut store = MaskStore::open(&root, "s").unwrap();
    store.write(3, &Mask { width: 2, height: 2, coverage: vec![0, 1, 2, 3] }, MODEL, QUALITY, "h", Direction::Forward).unwrap();
    let absolute = format!("{}/{{frame}}.png", outside.display());
    let long = format!("{}{{frame}}", "n".repeat(1000));
    for template in [absolute.as_str(), "../outside/{frame}.png", "..\\outside\\{frame}.png", "C:{frame}.png", "{frame}\0.png", long.as_str()] {
        let err = store.export(template, &export, "clip").unwrap_err();
        assert!(matches!(err, StoreError::Template(_)), "{template:?}: {err}");
    }
    assert!(fs::read_dir(&outside).unwrap().next().is_none(), "nothing written outside");
    assert!(fs::read_dir(&export).unwrap().next().is_none(), "nothing written at all");
    assert_eq!(store.export("{clip}.{frame:04}.png", &export, "clip").unwrap(), vec![export.join("clip.0003.png")]);
}
