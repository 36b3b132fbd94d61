//! `deepmatte gpu install` end to end against an HTTP server on 127.0.0.1 (a few lines of std::net)
//! serving small wheels this test writes (zip files shaped like the real ones: shared libraries
//! under `nvidia/cu13/lib/` and `onnxruntime/capi/`, beside headers, Python files and metadata).
//! The right wheels install only their shared libraries where the plugin looks; a wrong hash
//! refuses and leaves nothing; a cut-off download resumes with a `Range` request; offline, the
//! message names the URL and `--from`, and `--from` installs from wheels brought by hand.
//! The real wheels (1.2 GB) are never downloaded here.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;

use sha2::{Digest, Sha256};

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes no wrong implementation produces by accident (`seed` makes each library differ).
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = 0x9E37_79B9u32 ^ seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// A zip with `members` (name, bytes), deflated like a real wheel.
fn wheel(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

const NVRTC_WHEEL: &str = "nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.whl";
const ORT_WHEEL: &str = "onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_28_x86_64.whl";

/// The two test wheels and the libraries each should install (relative path, bytes).
struct Wheels {
    nvrtc: Vec<u8>,
    ort: Vec<u8>,
    libraries: Vec<(&'static str, Vec<u8>)>,
}

fn wheels() -> Wheels {
    let builtins = noise(150_000, 1);
    let nvrtc = noise(400_000, 2);
    let ort = noise(250_000, 3);
    let providers = noise(20_000, 4);
    Wheels {
        nvrtc: wheel(&[
            ("nvidia/__init__.py", b"".to_vec()),
            ("nvidia/cu13/include/nvrtc.h", b"/* header */".to_vec()),
            ("nvidia/cu13/lib/libnvrtc-builtins.so.13.0", builtins.clone()),
            ("nvidia/cu13/lib/libnvrtc.alt.so.13", noise(1000, 9)),
            ("nvidia/cu13/lib/libnvrtc.so.13", nvrtc.clone()),
            ("nvidia_cuda_nvrtc-13.0.88.dist-info/METADATA", b"Name: nvidia-cuda-nvrtc".to_vec()),
        ]),
        ort: wheel(&[
            ("onnxruntime/__init__.py", b"".to_vec()),
            ("onnxruntime/capi/libonnxruntime.so.1.31.1", ort.clone()),
            ("onnxruntime/capi/libonnxruntime_providers_shared.so", providers.clone()),
            ("onnxruntime/capi/onnxruntime_pybind11_state.cpython-312-x86_64-linux-gnu.so", noise(5000, 8)),
            ("onnxruntime_gpu-1.31.1.dist-info/RECORD", b"...".to_vec()),
        ]),
        libraries: vec![
            ("nvrtc/libnvrtc-builtins.so.13.0", builtins),
            ("nvrtc/libnvrtc.so.13", nvrtc),
            ("onnxruntime/libonnxruntime.so.1.31.1", ort),
            ("onnxruntime/libonnxruntime_providers_shared.so", providers),
        ],
    }
}

fn write_manifest(dir: &Path, base: &str, nvrtc_sha: &str, ort_sha: &str) -> PathBuf {
    let path = dir.join("gpu-runtime.toml");
    let text = format!(
        r#"[[wheel]]
package = "nvidia-cuda-nvrtc"
version = "13.0.88"
url = "{base}/{NVRTC_WHEEL}"
sha256 = "{nvrtc_sha}"
into = "nvrtc"
keep = ["nvidia/cu13/lib/libnvrtc-builtins.so.13.0", "nvidia/cu13/lib/libnvrtc.so.13"]

[[wheel]]
package = "onnxruntime-gpu"
version = "1.31.1"
url = "{base}/{ORT_WHEEL}"
sha256 = "{ort_sha}"
into = "onnxruntime"
keep = ["onnxruntime/capi/libonnxruntime.so.1.31.1", "onnxruntime/capi/libonnxruntime_providers_shared.so"]
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// How the server answers one request.
#[derive(Clone, Copy)]
enum Behaviour {
    /// The whole file, honouring `Range`.
    Whole,
    /// Announces the whole length but closes after `n` bytes.
    CutAfter(usize),
}

/// One (path, Range header) per request.
type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Serves `files` (URL path → bytes) for at most `max` connections, each answered per `script` in
/// turn (the last repeats).
fn serve(files: Vec<(String, Vec<u8>)>, script: Vec<Behaviour>, max: usize) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    thread::spawn(move || {
        for (i, stream) in listener.incoming().take(max).enumerate() {
            let Ok(stream) = stream else { continue };
            answer(stream, &files, script[i.min(script.len() - 1)], &seen);
        }
    });
    (base, log)
}

fn answer(mut stream: TcpStream, files: &[(String, Vec<u8>)], behaviour: Behaviour, log: &Log) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let path = first.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_owned());
            }
        }
    }
    log.lock().unwrap().push((path.clone(), range.clone()));
    let Some((_, body)) = files.iter().find(|(p, _)| *p == path) else {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let start = range.as_deref().and_then(|r| r.strip_prefix("bytes=")).and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
    let (head, part) = match start.filter(|&s| s <= body.len()) {
        Some(s) => (
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {s}-{}/{}\r\nConnection: close\r\n\r\n",
                body.len() - s,
                body.len() - 1,
                body.len()
            ),
            &body[s..],
        ),
        None => (format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()), &body[..]),
    };
    let part = match behaviour {
        Behaviour::Whole => part,
        Behaviour::CutAfter(n) => &part[..n.min(part.len())],
    };
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(part);
    let _ = stream.flush();
}

fn deepmatte(args: &[&str], user_data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deepmatte"))
        .args(args)
        .env("XDG_DATA_HOME", user_data)
        .env("HOME", user_data)
        .env("APPDATA", user_data)
        .env_remove("DEEPMATTE_GPU_RUNTIME")
        .env_remove("DEEPMATTE_CUDA")
        .output()
        .expect("cannot run deepmatte")
}

fn text(out: &Output) -> String {
    format!("status {:?}\nstdout:\n{}\nstderr:\n{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Every file under `root`, relative, sorted.
fn files_under(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn right_hashes_install_only_the_shared_libraries_where_the_plugin_looks_and_a_second_install_downloads_nothing() {
    let w = wheels();
    let files = vec![(format!("/{NVRTC_WHEEL}"), w.nvrtc.clone()), (format!("/{ORT_WHEEL}"), w.ort.clone())];
    let (base, log) = serve(files, vec![Behaviour::Whole], 10);
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &base, &sha_hex(&w.nvrtc), &sha_hex(&w.ort));
    let user = dir.path().join("user");
    let out = deepmatte(&["gpu", "install", "--manifest", manifest.to_str().unwrap()], &user);
    assert!(out.status.success(), "{}", text(&out));
    println!("{}", text(&out));
    let root = user.join("DeepMatte").join("gpu-runtime");
    let mut expected: Vec<String> = w.libraries.iter().map(|(p, _)| p.to_string()).collect();
    expected.extend(["installed/nvidia-cuda-nvrtc-13.0.88.sha256".to_owned(), "installed/onnxruntime-gpu-1.31.1.sha256".to_owned()]);
    expected.sort();
    assert_eq!(files_under(&root), expected, "only the listed shared libraries and the stamps; no wheel, header, .py or metadata");
    for (path, bytes) in &w.libraries {
        assert_eq!(&std::fs::read(root.join(path)).unwrap(), bytes, "{path} is byte-exact");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(root.join("nvrtc/libnvrtc.so.13")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }
    assert!(String::from_utf8_lossy(&out.stdout).contains("sha256 verified"), "{}", text(&out));
    assert_eq!(log.lock().unwrap().len(), 2);

    let again = deepmatte(&["gpu", "install", "--manifest", manifest.to_str().unwrap()], &user);
    assert!(again.status.success() && String::from_utf8_lossy(&again.stdout).matches("already installed").count() == 2, "{}", text(&again));
    assert_eq!(log.lock().unwrap().len(), 2, "nothing downloaded the second time");

    let listed = deepmatte(&["gpu", "where"], &user);
    let shown = String::from_utf8_lossy(&listed.stdout);
    assert!(shown.contains(&format!("The plugin uses {}", root.display())), "{}", text(&listed));
}

#[test]
fn a_wrong_hash_refuses_and_installs_nothing() {
    let w = wheels();
    let files = vec![(format!("/{NVRTC_WHEEL}"), w.nvrtc.clone()), (format!("/{ORT_WHEEL}"), w.ort.clone())];
    let (base, _log) = serve(files, vec![Behaviour::Whole], 10);
    let dir = tempfile::tempdir().unwrap();
    let wrong = sha_hex(b"not the wheel");
    let manifest = write_manifest(dir.path(), &base, &wrong, &sha_hex(&w.ort));
    let dest = dir.path().join("dest");
    let out = deepmatte(&["gpu", "install", "--dest", dest.to_str().unwrap(), "--manifest", manifest.to_str().unwrap()], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(err.contains(&sha_hex(&w.nvrtc)) && err.contains("not the pinned one") && err.contains(NVRTC_WHEEL), "{err}");
    assert!(err.contains("deepmatte gpu install --from") && !err.contains("cargo"), "{err}");
    assert_eq!(files_under(&dest), Vec::<String>::new(), "no library, no wheel, no stamp");
    println!("{err}");
}

#[test]
fn a_cut_off_download_resumes_with_a_range_request() {
    let w = wheels();
    let cut = w.nvrtc.len() / 3;
    let files = vec![(format!("/{NVRTC_WHEEL}"), w.nvrtc.clone()), (format!("/{ORT_WHEEL}"), w.ort.clone())];
    let (base, log) = serve(files, vec![Behaviour::CutAfter(cut), Behaviour::Whole], 10);
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &base, &sha_hex(&w.nvrtc), &sha_hex(&w.ort));
    let dest = dir.path().join("dest");
    let args = ["gpu", "install", "--dest", dest.to_str().unwrap(), "--manifest", manifest.to_str().unwrap()];
    let first = deepmatte(&args, dir.path());
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(!first.status.success() && err.contains(&format!("stopped after {cut} of {} bytes", w.nvrtc.len())), "{}", text(&first));
    assert!(err.contains("run the same command again"), "{err}");
    let left = files_under(&dest);
    assert!(left.len() == 1 && left[0].starts_with("downloads/") && left[0].ends_with(".part"), "only the .part stays: {left:?}");

    let second = deepmatte(&args, dir.path());
    assert!(second.status.success(), "{}", text(&second));
    let log = log.lock().unwrap();
    assert_eq!(log[1], (format!("/{NVRTC_WHEEL}"), Some(format!("bytes={cut}-"))), "resumed at the cut: {log:?}");
    for (path, bytes) in &w.libraries {
        assert_eq!(&std::fs::read(dest.join(path)).unwrap(), bytes, "{path}");
    }
    assert!(!dest.join("downloads").exists(), "the wheels are gone once unpacked");
}

#[test]
fn offline_the_message_names_the_url_and_from_and_from_installs_without_a_network() {
    let w = wheels();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &base, &sha_hex(&w.nvrtc), &sha_hex(&w.ort));
    let dest = dir.path().join("dest");
    let args = ["gpu", "install", "--dest", dest.to_str().unwrap(), "--manifest", manifest.to_str().unwrap()];
    let out = deepmatte(&args, dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(err.contains(&format!("{base}/{NVRTC_WHEEL}")) && err.contains("offline") && err.contains("--from FOLDER"), "{err}");
    assert_eq!(files_under(&dest), Vec::<String>::new(), "nothing written");
    println!("{err}");

    // The wheels brought by hand: one is wrong and refused, then both right and installed.
    let wheels_dir = dir.path().join("wheels");
    std::fs::create_dir_all(&wheels_dir).unwrap();
    std::fs::write(wheels_dir.join(NVRTC_WHEEL), &w.ort).unwrap();
    std::fs::write(wheels_dir.join(ORT_WHEEL), &w.ort).unwrap();
    let from = [&args[..], &["--from", wheels_dir.to_str().unwrap()]].concat();
    let refused = deepmatte(&from, dir.path());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && err.contains("is not the pinned nvidia-cuda-nvrtc==13.0.88 wheel"), "{}", text(&refused));
    assert_eq!(files_under(&dest), Vec::<String>::new());
    std::fs::write(wheels_dir.join(NVRTC_WHEEL), &w.nvrtc).unwrap();
    let installed = deepmatte(&from, dir.path());
    assert!(installed.status.success(), "{}", text(&installed));
    for (path, bytes) in &w.libraries {
        assert_eq!(&std::fs::read(dest.join(path)).unwrap(), bytes, "{path}");
    }
    assert!(wheels_dir.join(NVRTC_WHEEL).is_file(), "the user's own wheels are left alone");
    let stdout = String::from_utf8_lossy(&installed.stdout);
    assert!(stdout.contains("DEEPMATTE_GPU_RUNTIME="), "a --dest the plugin does not search is explained: {stdout}");
}
