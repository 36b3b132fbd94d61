//! `deepmatte models install` end to end: the built binary downloads a generated file from an HTTP
//! server on 127.0.0.1 (a few lines of std::net) through a test manifest, into the per-user models
//! folder by default; unreachable, it fails naming the URL and the folder, and writes nothing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::thread;

use inference::paths::Platform;
use sha2::{Digest, Sha256};

fn payload() -> Vec<u8> {
    (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Serves `body` to at most `n` requests.
fn serve(body: Vec<u8>, n: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for mut stream in listener.incoming().take(n).flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    base
}

fn write_manifest(dir: &Path, url: &str, sha: &str) -> std::path::PathBuf {
    let path = dir.join("manifest.toml");
    let text = format!(
        "[[model]]\nname = \"Test Model\"\nfile = \"test_model.onnx\"\ninstall = \"depth\"\nlicence = \"none\"\n\n[[model.source]]\nurl = \"{url}\"\nsha256 = \"{sha}\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn deepmatte(args: &[&str], user_data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deepmatte"))
        .args(args)
        .env("XDG_DATA_HOME", user_data)
        .env("HOME", user_data)
        .env("APPDATA", user_data)
        .output()
        .expect("cannot run deepmatte")
}

#[test]
fn install_downloads_into_the_per_user_models_folder_and_verifies_it() {
    let body = payload();
    let base = serve(body.clone(), 2);
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &format!("{base}/m.onnx"), &sha_hex(&body));
    let user = dir.path().join("user");
    let out = deepmatte(&["models", "install", "depth", "--manifest", manifest.to_str().unwrap()], &user);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    // HOME, XDG_DATA_HOME and APPDATA all point at `user`: the folder this platform's rule gives.
    let user_data = inference::paths::user_data_dir_for(Platform::CURRENT, |_| Some(user.clone().into_os_string())).unwrap();
    let installed = user_data.join("models").join("test_model.onnx");
    if cfg!(target_os = "linux") {
        assert_eq!(installed, user.join("DeepMatte/models/test_model.onnx"));
    }
    assert_eq!(std::fs::read(&installed).unwrap(), body, "installed where the plugin looks: {stdout}");
    assert!(stdout.contains("sha256 verified"), "{stdout}");
    println!("{stdout}");

    let again = deepmatte(&["models", "install", "--manifest", manifest.to_str().unwrap()], &user);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already installed"), "{again:?}");

    let listed = deepmatte(&["models", "where"], &user);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains(&user_data.join("models").display().to_string()) && text.contains("test_model.onnx"), "{text}");
}

#[test]
fn offline_install_names_the_url_and_the_folder_and_writes_nothing() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/m.onnx");
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &url, &sha_hex(&payload()));
    let dest = dir.path().join("dest");
    let out = deepmatte(&["models", "install", "--dest", dest.to_str().unwrap(), "--manifest", manifest.to_str().unwrap()], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&url) && err.contains("offline") && err.contains(&format!("put it in {}", dest.display())), "{err}");
    assert!(!err.contains("cargo"), "{err}");
    assert_eq!(std::fs::read_dir(&dest).map(|d| d.count()).unwrap_or(0), 0, "nothing written");

    let unknown = deepmatte(&["models", "install", "sam2"], dir.path());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("choose one of: depth, all"), "{unknown:?}");
}
