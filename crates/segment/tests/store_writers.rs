//! Several writers on one mask store — two instances of the effect, two host processes, two
//! machines on a share — never lose each other's frames, and every listed frame reads back whole.

mod common;

use segment::{Direction, Mask, MaskStore};

fn mask(frame: i32) -> Mask {
    let (width, height) = (24, 16);
    Mask { width, height, coverage: (0..width * height).map(|i| (i as u16).wrapping_mul(frame as u16 + 7)).collect() }
}

#[test]
fn two_stores_opened_before_either_writes_keep_both_frames() {
    let root = common::scratch("two-writers");
    let mut a = MaskStore::open(&root, "mm-00000000000000c1").unwrap();
    let mut b = MaskStore::open(&root, "mm-00000000000000c1").unwrap();
    a.write(1, &mask(1), "sam2.1", "better", "p", Direction::Forward).unwrap();
    b.write(2, &mask(2), "sam2.1", "better", "p", Direction::Forward).unwrap();
    let reopened = MaskStore::open(&root, "mm-00000000000000c1").unwrap();
    assert_eq!(reopened.frames().map(|(f, _)| f).collect::<Vec<_>>(), [1, 2], "b merged its frame into a's manifest");
    assert_eq!(reopened.read(1).unwrap(), mask(1));
    assert_eq!(reopened.read(2).unwrap(), mask(2));
    // b now sees a's frame too, and a forget by a keeps b's.
    assert!(b.record(1).is_some());
    a.forget([1]).unwrap();
    let reopened = MaskStore::open(&root, "mm-00000000000000c1").unwrap();
    assert_eq!(reopened.frames().map(|(f, _)| f).collect::<Vec<_>>(), [2]);
}

#[test]
fn concurrent_writers_lose_nothing() {
    let root = common::scratch("concurrent-writers");
    // All four create the store's folder at once: the first write of each races the others.
    let start = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        for writer in 0..4 {
            let (root, start) = (root.clone(), &start);
            s.spawn(move || {
                let mut store = MaskStore::open(&root, "mm-00000000000000c2").unwrap();
                start.wait();
                for k in 0..12 {
                    let frame = writer * 100 + k;
                    store.write(frame, &mask(frame), "sam2.1", "better", "p", Direction::Forward).unwrap();
                }
            });
        }
    });
    let store = MaskStore::open(&root, "mm-00000000000000c2").unwrap();
    assert_eq!(store.frames().count(), 48, "every writer's frames are listed");
    for (frame, _) in store.frames() {
        assert_eq!(store.read(frame).unwrap(), mask(frame));
    }
    let leftovers: Vec<_> = std::fs::read_dir(store.folder()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");
}
