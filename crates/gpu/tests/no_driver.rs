//! Without a usable CUDA driver the CUDA path says why and nothing panics: on this machine (no
//! libcuda at all), and with a stand-in `libcuda.so.1` whose `cuInit` fails (built here from C and
//! put on the library path of a child process, which is where the loader finds a driver).

use std::path::PathBuf;
use std::process::Command;

use gpu::{probe, Device, Probe};

fn skip(test: &str, reason: &str) {
    let line = format!("{test}: {reason}\n");
    eprintln!("SKIPPED {line}");
    if let Some(log) = std::env::var_os("DEEPMATTE_SKIP_LOG") {
        use std::io::Write;
        let _ = std::fs::OpenOptions::new().create(true).append(true).open(log).and_then(|mut f| f.write_all(line.as_bytes()));
    }
}

fn nvrtc_dir() -> Option<PathBuf> {
    std::env::var_os("DEEPMATTE_NVRTC_DIR").map(PathBuf::from)
}

/// Run as a child by the stand-in test: probes with whatever libcuda the loader finds and prints
/// the outcome on one line.
#[test]
fn child_probe() {
    if std::env::var_os("DEEPMATTE_STANDIN_CHILD").is_none() {
        return;
    }
    println!("PROBE {:?}", probe(nvrtc_dir().as_deref()));
    println!("DEVICE {:?}", Device::current(0).err());
}

#[test]
fn no_driver_means_no_cuda_and_a_reason() {
    if gpu::device::driver_present() {
        return skip("gpu::no_driver::no_driver_means_no_cuda_and_a_reason", "this machine has a CUDA driver");
    }
    match probe(nvrtc_dir().as_deref()) {
        Probe::Off(why) => assert!(why.contains("no CUDA driver"), "{why}"),
        ready => panic!("probed {ready:?} without a driver"),
    }
    let err = Device::current(0).err().expect("no device without a driver");
    assert!(err.to_string().contains("no CUDA driver"), "{err}");
}

#[test]
fn cuda_can_be_turned_off() {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe).args(["--exact", "child_probe", "--nocapture"]).env("DEEPMATTE_STANDIN_CHILD", "1").env("DEEPMATTE_CUDA", "0").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PROBE Off(\"CUDA turned off by DEEPMATTE_CUDA=0\")"), "{text}");
}

#[test]
fn a_driver_whose_cuinit_fails_is_no_cuda_and_no_crash() {
    if gpu::device::driver_present() {
        return skip("gpu::no_driver::a_driver_whose_cuinit_fails_is_no_cuda_and_no_crash", "this machine has a real CUDA driver, which the stand-in cannot shadow");
    }
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("standin.c");
    // CUDA_ERROR_NO_DEVICE (100) from cuInit, as a driver without a GPU answers; nothing else exported.
    std::fs::write(&c, "int cuInit(unsigned int flags) { (void)flags; return 100; }\n").unwrap();
    let lib = dir.path().join("libcuda.so.1");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc).args(["-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o"]).arg(&lib).arg(&c).status().expect("a C compiler (cc)");
    assert!(status.success(), "building the stand-in libcuda");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", "child_probe", "--nocapture", "--test-threads=1"])
        .env("DEEPMATTE_STANDIN_CHILD", "1")
        .env("LD_LIBRARY_PATH", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(out.status.success(), "the child crashed: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("PROBE Off(\"the CUDA driver does not start") && text.contains("CUDA_ERROR_NO_DEVICE"), "{text}");
    // The stand-in lacks cuCtxGetDevice: cudarc's panic on the missing symbol is caught.
    assert!(text.contains("DEVICE Some(Unavailable(\"cuCtxGetDevice:"), "{text}");
}
