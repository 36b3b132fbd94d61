//! Each way a model can fail to open gives its own message, naming the file and the fix.

mod common;

use inference::{u2netp, Contract, Dim, InferenceError, SessionOptions, TensorSpec};

/// The Depth Anything V2 contract as the depth engine declares it (crates/depth owns the real one).
const DEPTH_LIKE: Contract = Contract {
    name: "Depth Anything V2",
    inputs: &[TensorSpec {
        names: &["image", "pixel_values"],
        dims: &[("batch", Dim::Fixed(1)), ("channels", Dim::Fixed(3)), ("H", Dim::Dynamic), ("W", Dim::Dynamic)],
    }],
    outputs: &[TensorSpec {
        names: &["depth", "predicted_depth"],
        dims: &[("batch", Dim::Fixed(1)), ("H", Dim::Dynamic), ("W", Dim::Dynamic)],
    }],
};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("deepmatte-inference-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn missing_model_names_file_folder_and_install_command() {
    let folder = scratch("empty");
    let err = common::runtime().open(&folder.join("depth_anything_v2_small.onnx"), &DEPTH_LIKE, &SessionOptions::default()).unwrap_err();
    assert!(matches!(err, InferenceError::ModelMissing { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("`depth_anything_v2_small.onnx` was not found in"), "{msg}");
    assert!(msg.contains(&folder.display().to_string()), "{msg}");
    assert!(msg.contains("`deepmatte models install depth`") && msg.contains("Download Model"), "{msg}");
    assert!(!msg.contains("cargo"), "{msg}");
}

#[test]
fn wrong_tensor_names_are_a_contract_mismatch() {
    let path = common::cached("models/depth_standin_wrong_names.onnx");
    let err = common::runtime().open(&path, &DEPTH_LIKE, &SessionOptions::default()).unwrap_err();
    let InferenceError::ContractMismatch { problems, .. } = &err else { panic!("{err:?}") };
    assert_eq!(
        problems,
        &vec![
            "input 0 is named `input`, expected `image` or `pixel_values`".to_owned(),
            "output 0 is named `output`, expected `depth` or `predicted_depth`".to_owned(),
        ]
    );
    assert!(err.to_string().contains("does not match the Depth Anything V2 contract"), "{err}");
}

#[test]
fn right_names_wrong_shapes_are_a_contract_mismatch() {
    // The depth stand-in opened as U²-Netp: dynamic H/W where 320 is needed is fine, but the output
    // has rank 3 and the input is not called `input.1`.
    let path = common::cached("models/depth_standin_exact.onnx");
    let err = common::runtime().open(&path, &u2netp::CONTRACT, &SessionOptions::default()).unwrap_err();
    let InferenceError::ContractMismatch { problems, .. } = &err else { panic!("{err:?}") };
    let all = problems.join("\n");
    assert!(all.contains("input 0 is named `image`, expected `input.1`"), "{all}");
    assert!(all.contains("output 0 `depth` has rank 3 [1, -1, -1], expected rank 4 [batch,channels,H,W]"), "{all}");
    assert_eq!(problems.len(), 2, "{all}");
}

#[test]
fn random_bytes_are_a_corrupt_model() {
    let path = scratch("corrupt").join("depth_anything_v2_small.onnx");
    // Deterministic "random" bytes (a linear congruential generator): no protobuf parses them.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect();
    std::fs::write(&path, bytes).unwrap();
    let err = common::runtime().open(&path, &DEPTH_LIKE, &SessionOptions::default()).unwrap_err();
    assert!(matches!(err, InferenceError::CorruptModel { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("could not be read as an ONNX model"), "{msg}");
    assert!(msg.contains("Delete it, then install it again") && msg.contains("`deepmatte models install depth`"), "{msg}");
    assert!(!msg.contains("cargo"), "{msg}");
    println!("{msg}");
}
