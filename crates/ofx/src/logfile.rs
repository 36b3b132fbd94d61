//! The plugin's log: a file in the user's cache folder, because hosts swallow stderr.
//!
//! `$XDG_CACHE_HOME/DeepMatte/deepmatte.log` (or `~/.cache/DeepMatte/deepmatte.log`; on macOS
//! `~/Library/Caches/DeepMatte`, on Windows `%LOCALAPPDATA%\DeepMatte`). `DEEPMATTE_LOG` sets the
//! level (error, warn, info, debug; default info). A logger someone else installed in the
//! process first wins; logging never fails a render.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, Once};

struct FileLogger {
    file: Mutex<File>,
    level: log::LevelFilter,
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
        if let Ok(mut f) = self.file.lock() {
            let _ = writeln!(f, "{secs:.3} {} [{}] {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {
        if let Ok(mut f) = self.file.lock() {
            let _ = f.flush();
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
        let Ok(file) = OpenOptions::new().create(true).append(true).open(dir.join("deepmatte.log")) else {
            return;
        };
        let level = match std::env::var("DEEPMATTE_LOG").as_deref() {
            Ok("error") => log::LevelFilter::Error,
            Ok("warn") => log::LevelFilter::Warn,
            Ok("debug") => log::LevelFilter::Debug,
            Ok("trace") => log::LevelFilter::Trace,
            _ => log::LevelFilter::Info,
        };
        let logger = Box::leak(Box::new(FileLogger { file: Mutex::new(file), level }));
        if log::set_logger(logger).is_ok() {
            log::set_max_level(level);
            log::info!("DeepMatte {} loaded", env!("CARGO_PKG_VERSION"));
        }
    });
}
