//! The model installer against a real HTTP server on 127.0.0.1 (a few lines of std::net below,
//! serving a generated file): the right bytes install; a wrong hash, a cut-off body and an unreachable
//! server each fail with their own message and leave no file under the model's name; a cut-off
//! download resumes with a `Range` request for exactly the missing bytes.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use inference::download::{install, sha256_of, DownloadError, DownloadProgress, Installed, Manifest, SourceProblem};
use sha2::{Digest, Sha256};

const FILE: &str = "test_model.onnx";

/// 300 kB of bytes that are not a pattern a wrong implementation could produce by accident.
fn payload() -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..300_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// How the server answers one path.
#[derive(Clone, Copy)]
enum Behaviour {
    /// The whole file, honouring `Range`.
    Whole,
    /// Announces the whole length but closes after `n` bytes (of the requested range).
    CutAfter(usize),
}

/// What the server saw: one (path, Range header) per request, and body bytes sent.
#[derive(Default)]
struct Log {
    requests: Vec<(String, Option<String>)>,
    sent: usize,
}

/// Serves `body` on 127.0.0.1 for at most `max_requests` connections; each request's behaviour is
/// taken in turn from `script` (the last one repeats). Returns the base URL and the log.
fn serve(body: Vec<u8>, script: Vec<Behaviour>, max_requests: usize) -> (String, Arc<Mutex<Log>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Log::default()));
    let seen = Arc::clone(&log);
    thread::spawn(move || {
        for (i, stream) in listener.incoming().take(max_requests).enumerate() {
            let Ok(stream) = stream else { continue };
            let behaviour = script[i.min(script.len() - 1)];
            answer(stream, &body, behaviour, &seen);
        }
    });
    (base, log)
}

fn answer(mut stream: TcpStream, body: &[u8], behaviour: Behaviour, log: &Mutex<Log>) {
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
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok())
        .filter(|&s| s <= body.len());
    log.lock().unwrap().requests.push((path, range.clone()));
    let (head, part) = match start {
        Some(s) => (
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {s}-{}/{}\r\nConnection: close\r\n\r\n",
                body.len() - s,
                body.len() - 1,
                body.len()
            ),
            &body[s..],
        ),
        None => (format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()), body),
    };
    let part = match behaviour {
        Behaviour::Whole => part,
        Behaviour::CutAfter(n) => &part[..n.min(part.len())],
    };
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(part);
    let _ = stream.flush();
    log.lock().unwrap().sent += part.len();
    // Dropping the stream closes it: for CutAfter, before Content-Length bytes were sent.
}

/// A manifest with one model whose sources are `urls`, all pinned to `sha`.
fn manifest(urls: &[String], sha: &str) -> Manifest {
    let sources: String = urls.iter().map(|u| format!("[[model.source]]\nurl = \"{u}\"\nsha256 = \"{sha}\"\n\n")).collect();
    let text = format!("[[model]]\nname = \"Test Model\"\nfile = \"{FILE}\"\ninstall = \"test\"\nlicence = \"none\"\n\n{sources}");
    Manifest::parse(&text).unwrap()
}

/// Records progress; cancels after `cancel_after` reports when set.
#[derive(Default)]
struct Recorder {
    reports: Vec<(u64, Option<u64>)>,
    cancel_after: Option<usize>,
}

impl DownloadProgress for Recorder {
    fn advanced(&mut self, done: u64, total: Option<u64>) -> bool {
        self.reports.push((done, total));
        self.cancel_after.is_none_or(|n| self.reports.len() < n)
    }
}

/// Every file in `folder`, by name.
fn files_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn right_hash_installs_and_a_second_install_downloads_nothing() {
    let body = payload();
    let (base, log) = serve(body.clone(), vec![Behaviour::Whole], 4);
    let manifest = manifest(&[format!("{base}/model.onnx")], &sha_hex(&body));
    let dest = tempfile::tempdir().unwrap();
    let mut progress = Recorder::default();
    let installed = install(&manifest.models[0], dest.path(), &mut progress).unwrap();
    assert_eq!(installed, Installed::Downloaded { path: dest.path().join(FILE), url: format!("{base}/model.onnx") });
    assert_eq!(std::fs::read(dest.path().join(FILE)).unwrap(), body, "installed bytes are the served bytes");
    assert_eq!(files_in(dest.path()), [FILE], "no .part is left after a success");
    let last = *progress.reports.last().unwrap();
    assert_eq!(last, (body.len() as u64, Some(body.len() as u64)), "progress ends at the whole size");
    assert!(progress.reports.len() >= 2, "progress is reported while downloading: {:?}", progress.reports.len());

    let again = install(&manifest.models[0], dest.path(), &mut Recorder::default()).unwrap();
    assert_eq!(again, Installed::AlreadyThere { path: dest.path().join(FILE) });
    assert_eq!(log.lock().unwrap().requests.len(), 1, "a verified file is not downloaded again");
    println!("installed {} bytes in {} progress reports", body.len(), progress.reports.len());
}

#[test]
fn wrong_hash_fails_and_leaves_nothing() {
    let body = payload();
    let (base, _) = serve(body.clone(), vec![Behaviour::Whole], 2);
    let url = format!("{base}/model.onnx");
    let pinned = sha_hex(b"some other file");
    let manifest = manifest(std::slice::from_ref(&url), &pinned);
    let dest = tempfile::tempdir().unwrap();
    let err = install(&manifest.models[0], dest.path(), &mut Recorder::default()).unwrap_err();
    let DownloadError::Failed { attempts, .. } = &err else { panic!("{err}") };
    assert_eq!(attempts[0].problem, SourceProblem::HashMismatch { got: sha_hex(&body) });
    let msg = err.to_string();
    println!("{msg}");
    assert!(msg.contains(&url) && msg.contains("not the pinned one, so it was deleted"), "{msg}");
    assert!(msg.contains(&format!("put it in {}", dest.path().display())), "names the folder: {msg}");
    assert!(msg.contains(&pinned), "names the pinned sha256: {msg}");
    assert_eq!(files_in(dest.path()), Vec::<String>::new(), "nothing is left, not even a .part");
}

#[test]
fn unreachable_server_fails_and_leaves_nothing() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/model.onnx");
    let manifest = manifest(std::slice::from_ref(&url), &sha_hex(&payload()));
    let dest = tempfile::tempdir().unwrap();
    let err = install(&manifest.models[0], dest.path(), &mut Recorder::default()).unwrap_err();
    let DownloadError::Failed { attempts, .. } = &err else { panic!("{err}") };
    assert!(matches!(attempts[0].problem, SourceProblem::Unreachable(_)), "{:?}", attempts[0].problem);
    let msg = err.to_string();
    println!("{msg}");
    assert!(msg.contains(&url) && msg.contains("cannot connect (is this machine offline?)"), "{msg}");
    assert!(msg.contains(&format!("download {url}")) && msg.contains(&dest.path().display().to_string()), "{msg}");
    assert!(!msg.contains("cargo"), "{msg}");
    assert_eq!(files_in(dest.path()), Vec::<String>::new());
}

#[test]
fn truncated_download_fails_keeps_only_the_part_and_resumes_with_a_range_request() {
    let body = payload();
    let cut = 100_000;
    // First request: cut off after `cut` bytes; second: honest (from the Range start).
    let (base, log) = serve(body.clone(), vec![Behaviour::CutAfter(cut), Behaviour::Whole], 4);
    let manifest = manifest(&[format!("{base}/model.onnx")], &sha_hex(&body));
    let dest = tempfile::tempdir().unwrap();

    let err = install(&manifest.models[0], dest.path(), &mut Recorder::default()).unwrap_err();
    let DownloadError::Failed { attempts, .. } = &err else { panic!("{err}") };
    assert!(
        matches!(attempts[0].problem, SourceProblem::Truncated { got, expected: Some(e) } if got == cut as u64 && e == body.len() as u64),
        "{:?}",
        attempts[0].problem
    );
    let msg = err.to_string();
    println!("{msg}");
    assert!(msg.contains(&format!("stopped after {cut} of {} bytes", body.len())) && msg.contains("try again to resume"), "{msg}");
    let files = files_in(dest.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with(FILE) && files[0].ends_with(".part"), "only the resumable .part stays: {files:?}");
    assert!(!dest.path().join(FILE).exists(), "no file under the model's name");

    let installed = install(&manifest.models[0], dest.path(), &mut Recorder::default()).unwrap();
    assert_eq!(std::fs::read(installed.path()).unwrap(), body, "the resumed file is byte-exact");
    assert_eq!(sha256_of(installed.path()).unwrap(), sha_hex(&body));
    let log = log.lock().unwrap();
    assert_eq!(log.requests[1].1.as_deref(), Some(format!("bytes={cut}-").as_str()), "the second request resumes at the cut");
    assert_eq!(log.sent, body.len(), "every byte crossed the wire exactly once");
    assert_eq!(files_in(dest.path()), [FILE]);
}

#[test]
fn second_source_is_tried_when_the_first_fails_and_cancel_keeps_the_part() {
    let body = payload();
    let (good, _) = serve(body.clone(), vec![Behaviour::Whole], 4);
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = format!("http://127.0.0.1:{port}/model.onnx");
    let manifest = manifest(&[dead, format!("{good}/model.onnx")], &sha_hex(&body));

    let dest = tempfile::tempdir().unwrap();
    let mut cancelling = Recorder { cancel_after: Some(2), ..Recorder::default() };
    let err = install(&manifest.models[0], dest.path(), &mut cancelling).unwrap_err();
    assert!(matches!(err, DownloadError::Cancelled { .. }), "{err}");
    assert!(!dest.path().join(FILE).exists());

    let installed = install(&manifest.models[0], dest.path(), &mut Recorder::default()).unwrap();
    assert_eq!(installed, Installed::Downloaded { path: dest.path().join(FILE), url: format!("{good}/model.onnx") });
    assert_eq!(std::fs::read(dest.path().join(FILE)).unwrap(), body);
    assert_eq!(files_in(dest.path()), [FILE]);
}

#[test]
fn a_model_without_download_says_where_it_comes_from() {
    let manifest = Manifest::embedded();
    let sam = manifest.by_file("sam2_image_encoder.onnx").unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = install(sam, dest.path(), &mut Recorder::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DownloadError::NoDownload { .. }), "{msg}");
    assert!(msg.contains("install.py") && msg.contains("sam2-export") && msg.contains(&dest.path().display().to_string()), "{msg}");
    assert_eq!(files_in(dest.path()), Vec::<String>::new());
}
