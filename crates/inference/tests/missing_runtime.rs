//! A missing ONNX Runtime library is an error naming the path and the fix, not a crash, and loading
//! can be retried once the library is there. Its own test binary: the runtime is process-wide.

mod common;

use inference::{InferenceError, Runtime};

#[test]
fn missing_library_is_reported_then_a_retry_succeeds() {
    let absent = common::cache().join("nowhere").join(inference::ORT_LIBRARY_FILE);
    let err = Runtime::load(&absent).expect_err("an absent library cannot load");
    assert!(matches!(err, InferenceError::RuntimeMissing { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&absent.display().to_string()), "{msg}");
    assert!(msg.contains("reinstall the bundle from the release archive"), "{msg}");
    assert!(!msg.contains("cargo"), "{msg}");
    assert!(msg.contains("DEEPMATTE_ORT_LIB"), "{msg}");

    let not_a_library = common::cached("models/depth_standin_exact.onnx");
    let err = Runtime::load(&not_a_library).expect_err("a model file is not a library");
    assert!(err.to_string().contains("could not be loaded from"), "{err}");

    // Once installed, the next render loads it: nothing of the failures was kept.
    let runtime = common::runtime();
    assert!(runtime.library().ends_with(inference::ORT_LIBRARY_FILE));
    // Hosts call Load again: the same runtime comes back, whatever path is passed.
    let again = Runtime::load(&absent).expect("already loaded");
    assert_eq!(again.library(), runtime.library());
}
