//! The plugin's log: a file in the user's cache folder, because hosts swallow stderr.
//!
//! `$XDG_CACHE_HOME/DeepMatte/deepmatte.log` (or `~/.cache/DeepMatte/deepmatte.log`; on macOS
//! `~/Library/Caches/DeepMatte`, on Windows `%LOCALAPPDATA%\DeepMatte`). `DEEPMATTE_LOG` sets the
//! level (error, warn, info, debug; default info). The file rotates at 4 MB into
//! `deepmatte.log.1`, so it never grows without end. A logger someone else installed in the
//! process first wins; logging never fails a render, and nothing goes to stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

/// The log's size cap: past it the file becomes `deepmatte.log.1` (replacing the previous one)
/// and a new log starts, so the log never takes more than about twice this.
const MAX_LOG_BYTES: u64 = 4 << 20;

/// The open log and how many bytes it holds.
struct Current {
    file: File,
    bytes: u64,
}

struct FileLogger {
    path: PathBuf,
    max_bytes: u64,
    current: Mutex<Option<Current>>,
    level: log::LevelFilter,
}

impl FileLogger {
    /// A logger appending to `path`, rotating it past `max_bytes`; None when it cannot be opened.
    fn open(path: &Path, max_bytes: u64, level: log::LevelFilter) -> Option<FileLogger> {
        let current = open_log(path)?;
        Some(FileLogger { path: path.to_path_buf(), max_bytes, current: Mutex::new(Some(current)), level })
    }

    /// Writes one line, first moving a full log aside. The file is closed before the rename
    /// (Windows cannot rename an open file); a failed rename or reopen drops the line, never
    /// the render.
    fn write_line(&self, line: &str) {
        let Ok(mut current) = self.current.lock() else { return };
        if current.as_ref().is_some_and(|c| c.bytes + line.len() as u64 > self.max_bytes) {
            *current = None;
            let mut old = self.path.as_os_str().to_owned();
            old.push(".1");
            let _ = std::fs::remove_file(&old);
            let _ = std::fs::rename(&self.path, &old);
        }
        if current.is_none() {
            *current = open_log(&self.path);
        }
        if let Some(c) = current.as_mut() {
            if c.file.write_all(line.as_bytes()).is_ok() {
                c.bytes += line.len() as u64;
            }
        }
    }
}

fn open_log(path: &Path) -> Option<Current> {
    let file = OpenOptions::new().create(true).append(true).open(path).ok()?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    Some(Current { file, bytes })
}

impl log::Log for FileLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.write_line(&format!("{secs:.3} {} [{}] {}\n", record.level(), record.target(), record.args()));
    }

    fn flush(&self) {
        if let Ok(mut current) = self.current.lock() {
            if let Some(c) = current.as_mut() {
                let _ = c.file.flush();
            }
        }
    }
}

/// The folder the log (and other per-user caches) live in.
pub fn cache_dir() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = if cfg!(target_os = "windows") {
        env("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Caches"))
    } else {
        env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))
    };
    base.map(|b| b.join("DeepMatte"))
}

/// Installs the file logger once per process.
pub(crate) fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Some(dir) = cache_dir() else { return };
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        let level = match std::env::var("DEEPMATTE_LOG").as_deref() {
            Ok("error") => log::LevelFilter::Error,
            Ok("warn") => log::LevelFilter::Warn,
            Ok("debug") => log::LevelFilter::Debug,
            Ok("trace") => log::LevelFilter::Trace,
            _ => log::LevelFilter::Info,
        };
        let Some(logger) = FileLogger::open(&dir.join("deepmatte.log"), MAX_LOG_BYTES, level) else { return };
        let logger = Box::leak(Box::new(logger));
        if log::set_logger(logger).is_ok() {
            log::set_max_level(level);
            log::info!("DeepMatte {} loaded", env!("CARGO_PKG_VERSION"));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_at_its_cap_and_keeps_one_old_file() {
        let dir = std::env::temp_dir().join(format!("deepmatte-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("deepmatte.log");
        let logger = FileLogger::open(&path, 1000, log::LevelFilter::Info).unwrap();
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..1000 {
            logger.write_line(&line);
        }
        logger.write_line("last\n");
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let old = dir.join("deepmatte.log.1");
        assert!(size(&path) <= 1000 && size(&old) <= 1000, "{} and {} bytes", size(&path), size(&old));
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("last\n"), "the newest line is in the current file");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2, "one old file, not one per rotation");
        // A log left over from an earlier session counts towards the cap.
        drop(logger);
        let again = FileLogger::open(&path, 1000, log::LevelFilter::Info).unwrap();
        assert_eq!(again.current.lock().unwrap().as_ref().unwrap().bytes, size(&path));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
