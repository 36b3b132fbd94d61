//! The mask store: one lossless 16-bit grayscale PNG per tracked frame in `<root>/<id>/`, plus
//! `manifest.json` saying, per frame, which file, model, quality, prompts and direction made it.
//!
//! Rendering reads masks from here and never runs a model, so reopening a project, or another
//! machine pointed at the same folder, shows every tracked frame. Each write replaces the PNG and then
//! the manifest through a temporary file, `fsync` and a rename, so a cancelled or crashed run (or a
//! power cut) leaves every frame listed in the manifest complete. Writers — two instances, two host
//! processes, two machines on a share — take an advisory lock on `<id>/.lock`, re-read the manifest
//! and merge their change into it, so none loses another's frames. Reading never writes (nor locks):
//! a read-only store still renders.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::template::{render_template, TemplateError};
use crate::Mask;

const MANIFEST: &str = "manifest.json";
/// The advisory lock writers hold while they read, merge and replace the manifest.
const LOCK: &str = ".lock";
const FORMAT: u32 = 1;

/// Tracking direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Increasing frame numbers.
    Forward,
    /// Decreasing frame numbers.
    Backward,
}

impl Direction {
    /// "forward" or "backward".
    pub fn name(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }
}

/// What the manifest says about one stored frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRecord {
    /// The PNG's file name inside the store folder.
    pub file: String,
    /// The model that made it (e.g. "sam2.1-hiera-tiny").
    pub model: String,
    /// The effect's quality setting when it was made.
    pub quality: String,
    /// [`crate::prompt_hash`] of the prompts it was tracked from.
    pub prompt_hash: String,
    /// The direction of the run that made it.
    pub direction: Direction,
    /// Mask width.
    pub width: usize,
    /// Mask height.
    pub height: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    frames: BTreeMap<i32, FrameRecord>,
}

/// Why the store could not do what was asked; each names the file or folder.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The folder the store (or an export) lives in does not exist.
    #[error("the mask store folder {0} does not exist: choose an existing folder")]
    MissingFolder(PathBuf),
    /// The folder exists but cannot be written.
    #[error("the folder {0} is read-only: masks cannot be saved there; choose a writable folder")]
    ReadOnly(PathBuf),
    /// The frame is not in the manifest: it was never tracked (or tracked with another store id).
    #[error("frame {0} has not been tracked")]
    NotTracked(i32),
    /// The manifest lists the frame but its PNG is gone.
    #[error("frame {frame}: mask file {} is missing; track the frame again", file.display())]
    MissingFile {
        /// The frame.
        frame: i32,
        /// The file that should hold it.
        file: PathBuf,
    },
    /// The PNG is there but damaged or not what the manifest says.
    #[error("frame {frame}: mask file {} is damaged ({detail}); track the frame again", file.display())]
    Corrupt {
        /// The frame.
        frame: i32,
        /// The damaged file.
        file: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// `manifest.json` cannot be read as a manifest.
    #[error("the mask store manifest {} is damaged ({detail}); its frames must be tracked again", file.display())]
    CorruptManifest {
        /// The manifest file.
        file: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The store id is not a plain folder name (it came from a project file, which anyone can edit).
    #[error("the mask store id {0:?} is not a plain folder name (letters, digits, '-' and '_', at most 64)")]
    BadId(String),
    /// The export naming template is not valid.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Any other file system failure, with the path it concerned.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}

/// What a store's manifest looked like when last seen: any write changes it (a write by this
/// process always; one by another process through the manifest's size or modification time), so
/// caches of rendered masks key on it instead of reading the manifest again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StoreStamp {
    len: u64,
    modified: Option<SystemTime>,
    writes_here: u64,
}

/// Manifest writes by this process, to any store.
static WRITES: AtomicU64 = AtomicU64::new(0);

/// The masks of one Magic Mask instance (see the module documentation).
#[derive(Debug)]
pub struct MaskStore {
    folder: PathBuf,
    manifest: Manifest,
}

impl MaskStore {
    /// The store `<root>/<id>`. `root` (the user's store folder) must exist; the store's own folder
    /// is created on the first write, and a store not written yet has no frames.
    pub fn open(root: &Path, id: &str) -> Result<MaskStore, StoreError> {
        if !is_plain_name(id) {
            let shown: String = id.chars().take(80).collect();
            return Err(StoreError::BadId(shown));
        }
        if !root.is_dir() {
            return Err(StoreError::MissingFolder(root.to_path_buf()));
        }
        let folder = root.join(id);
        let manifest = read_manifest(&folder)?;
        Ok(MaskStore { folder, manifest })
    }

    /// The store in `folder` (`<root>/<id>`), as [`MaskStore::open`] opens it.
    pub fn open_folder(folder: &Path) -> Result<MaskStore, StoreError> {
        let root = folder.parent().unwrap_or(Path::new("."));
        let id = folder.file_name().ok_or_else(|| StoreError::MissingFolder(folder.to_path_buf()))?;
        MaskStore::open(root, &id.to_string_lossy())
    }

    /// The stamp of the store in `folder`, `None` while it has no manifest.
    pub fn stamp(folder: &Path) -> Option<StoreStamp> {
        let metadata = fs::metadata(folder.join(MANIFEST)).ok()?;
        Some(StoreStamp { len: metadata.len(), modified: metadata.modified().ok(), writes_here: WRITES.load(Ordering::SeqCst) })
    }

    /// The store's folder, `<root>/<id>`.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The stored frames and their records, in frame order.
    pub fn frames(&self) -> impl Iterator<Item = (i32, &FrameRecord)> {
        self.manifest.frames.iter().map(|(&f, r)| (f, r))
    }

    /// The record of `frame`, if it was tracked.
    pub fn record(&self, frame: i32) -> Option<&FrameRecord> {
        self.manifest.frames.get(&frame)
    }

    /// Saves `frame`'s mask with its provenance (the record's `file`, `width` and `height` are set
    /// here), then the manifest.
    pub fn write(&mut self, frame: i32, mask: &Mask, model: &str, quality: &str, prompt_hash: &str, direction: Direction) -> Result<(), StoreError> {
        self.ensure_writable()?;
        let file = format!("frame_{frame:06}.png");
        let path = self.folder.join(&file);
        let record = FrameRecord {
            file,
            model: model.to_owned(),
            quality: quality.to_owned(),
            prompt_hash: prompt_hash.to_owned(),
            direction,
            width: mask.width,
            height: mask.height,
        };
        // The PNG is replaced under the lock too, so the file and its record come from one writer.
        self.update_manifest(|manifest| {
            write_atomically(&path, |out| encode_png(out, mask))?;
            manifest.frames.insert(frame, record);
            Ok(())
        })
    }

    /// Removes frames from the manifest (their PNGs are left to be overwritten), e.g. before a re-track
    /// that may be cancelled, so no stale mask is shown as current.
    pub fn forget(&mut self, frames: impl IntoIterator<Item = i32>) -> Result<(), StoreError> {
        let frames: Vec<i32> = frames.into_iter().filter(|f| self.manifest.frames.contains_key(f)).collect();
        if frames.is_empty() {
            return Ok(());
        }
        self.ensure_writable()?;
        self.update_manifest(|manifest| {
            for frame in &frames {
                manifest.frames.remove(frame);
            }
            Ok(())
        })
    }

    /// Records that the stored frames `keep` selects among those tracked from prompts of hash `from`
    /// are current under the prompts of hash `to` too (an edit that does not reach them).
    pub fn restamp(&mut self, from: &str, to: &str, keep: impl Fn(i32) -> bool) -> Result<(), StoreError> {
        let restamped = |manifest: &Manifest| manifest.frames.iter().any(|(&f, r)| r.prompt_hash == from && keep(f));
        if from == to || !restamped(&self.manifest) {
            return Ok(());
        }
        self.ensure_writable()?;
        self.update_manifest(|manifest| {
            for (_, record) in manifest.frames.iter_mut().filter(|(&f, r)| r.prompt_hash == from && keep(f)) {
                to.clone_into(&mut record.prompt_hash);
            }
            Ok(())
        })
    }

    /// Reads `frame`'s mask (no model involved).
    pub fn read(&self, frame: i32) -> Result<Mask, StoreError> {
        let record = self.manifest.frames.get(&frame).ok_or(StoreError::NotTracked(frame))?;
        let path = self.folder.join(&record.file);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::MissingFile { frame, file: path }),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let corrupt = |detail: String| StoreError::Corrupt { frame, file: path.clone(), detail };
        decode_png(&bytes, (record.width, record.height)).map_err(corrupt)
    }

    /// Writes every stored frame to `folder` as a 16-bit grayscale PNG luma matte named by `template`
    /// (`{clip}`, `{frame}`, `{frame:04}`); returns the files written. Stops at the first damaged frame.
    pub fn export(&self, template: &str, folder: &Path, clip: &str) -> Result<Vec<PathBuf>, StoreError> {
        if !folder.is_dir() {
            return Err(StoreError::MissingFolder(folder.to_path_buf()));
        }
        check_writable(folder)?;
        let mut written = Vec::new();
        for &frame in self.manifest.frames.keys() {
            let mask = self.read(frame)?;
            let name = render_template(template, clip, frame)?;
            let path = folder.join(&name);
            // render_template gives one file name; check the joined path anyway, so no template
            // (or a platform's idea of a path: `C:x`, `\\?\…`) writes outside the folder.
            if path.parent() != Some(folder) || Path::new(&name).components().count() != 1 {
                return Err(StoreError::Template(TemplateError::NotAFileName(template.to_owned())));
            }
            write_atomically(&path, |out| encode_png(out, &mask))?;
            written.push(path);
        }
        Ok(written)
    }

    fn ensure_writable(&self) -> Result<(), StoreError> {
        let root = self.folder.parent().unwrap_or(Path::new("."));
        if !root.is_dir() {
            return Err(StoreError::MissingFolder(root.to_path_buf()));
        }
        if !self.folder.is_dir() {
            check_writable(root)?;
            // Another writer (instance, process, machine) may create it between the check and here.
            match fs::create_dir(&self.folder) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists || !self.folder.is_dir() => return Err(io_error(&self.folder, e)),
                _ => {}
            }
        }
        check_writable(&self.folder)
    }

    /// Applies `change` to the manifest as it is on disk now, under the store's lock, and saves it:
    /// frames other writers stored since this store was opened are kept (and seen from now on).
    fn update_manifest(&mut self, change: impl FnOnce(&mut Manifest) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let lock_path = self.folder.join(LOCK);
        let lock = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(|e| io_error(&lock_path, e))?;
        lock.lock().map_err(|e| io_error(&lock_path, e))?;
        let mut manifest = read_manifest(&self.folder)?;
        change(&mut manifest)?;
        let path = self.folder.join(MANIFEST);
        let saved = write_atomically(&path, |out| serde_json::to_writer_pretty(out, &manifest).map_err(io::Error::other));
        WRITES.fetch_add(1, Ordering::SeqCst);
        self.manifest = manifest;
        // The lock is released when `lock` closes, after the rename.
        drop(lock);
        saved
    }
}

/// The manifest in `folder` as it is on disk; none yet is an empty one.
fn read_manifest(folder: &Path) -> Result<Manifest, StoreError> {
    let file = folder.join(MANIFEST);
    match fs::read(&file) {
        Ok(bytes) => {
            let manifest: Manifest =
                serde_json::from_slice(&bytes).map_err(|e| StoreError::CorruptManifest { file: file.clone(), detail: e.to_string() })?;
            if manifest.format != FORMAT {
                let detail = format!("format {} where {FORMAT} is expected", manifest.format);
                return Err(StoreError::CorruptManifest { file, detail });
            }
            Ok(manifest)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Manifest { format: FORMAT, frames: BTreeMap::new() }),
        Err(source) => Err(StoreError::Io { path: file, source }),
    }
}

/// The longest store id: ids the plugin makes are 19 characters.
const MAX_ID_LEN: usize = 64;

/// True when `id` names one folder directly inside the root whatever the platform: no separator,
/// no `.` or `..`, no drive letter, NUL or other character a file system treats specially.
/// Joining anything else onto the root could reach any folder the user can write.
pub fn is_plain_name(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A folder whose permissions forbid writing is reported as read-only before anything is attempted
/// (an administrator's process would otherwise write through them), as is one the OS refuses.
fn check_writable(folder: &Path) -> Result<(), StoreError> {
    let metadata = fs::metadata(folder).map_err(|e| io_error(folder, e))?;
    if metadata.permissions().readonly() {
        return Err(StoreError::ReadOnly(folder.to_path_buf()));
    }
    Ok(())
}

fn io_error(path: &Path, source: io::Error) -> StoreError {
    match source.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => StoreError::ReadOnly(path.to_path_buf()),
        _ => StoreError::Io { path: path.to_path_buf(), source },
    }
}

/// Writes `path` through a temporary file of this writer's own, `fsync` and a rename, so readers
/// see the old file or the new one, complete, even after a crash.
fn write_atomically(path: &Path, fill: impl FnOnce(&mut BufWriter<fs::File>) -> io::Result<()>) -> Result<(), StoreError> {
    static TEMPORARIES: AtomicU64 = AtomicU64::new(0);
    let mut tmp = path.as_os_str().to_owned();
    // Two writers of one frame (two processes, two threads) never share a temporary file.
    tmp.push(format!(".{}-{}.tmp", std::process::id(), TEMPORARIES.fetch_add(1, Ordering::Relaxed)));
    let tmp = PathBuf::from(tmp);
    let file = fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    let mut out = BufWriter::new(file);
    let written = fill(&mut out)
        .and_then(|_| out.into_inner().map_err(|e| e.into_error()))
        .and_then(|file| file.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(&tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

fn encode_png(out: &mut BufWriter<fs::File>, mask: &Mask) -> io::Result<()> {
    let mut encoder = png::Encoder::new(out, mask.width as u32, mask.height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Sixteen);
    let mut writer = encoder.write_header()?;
    let bytes: Vec<u8> = mask.coverage.iter().flat_map(|v| v.to_be_bytes()).collect();
    writer.write_image_data(&bytes)?;
    writer.finish().map_err(io::Error::from)
}

/// Decodes a mask file of the size the manifest records. The header is checked against that size
/// before any pixel buffer is made, so a file claiming a huge image (a damaged or crafted store on
/// a shared folder) is an error, never an allocation that aborts the host.
fn decode_png(bytes: &[u8], (want_width, want_height): (usize, usize)) -> Result<Mask, String> {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let info = reader.info();
    if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Sixteen {
        return Err(format!("{:?} {:?} where 16-bit grayscale is expected", info.color_type, info.bit_depth));
    }
    let (width, height) = (info.width as usize, info.height as usize);
    if (width, height) != (want_width, want_height) {
        return Err(format!("{width}×{height} where the manifest says {want_width}×{want_height}"));
    }
    let mut buffer = Vec::new();
    buffer.try_reserve_exact(reader.output_buffer_size()).map_err(|_| format!("not enough memory for a {width}×{height} mask"))?;
    buffer.resize(reader.output_buffer_size(), 0);
    reader.next_frame(&mut buffer).map_err(|e| e.to_string())?;
    let coverage = buffer[..width * height * 2].chunks_exact(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect();
    Ok(Mask { width, height, coverage })
}
