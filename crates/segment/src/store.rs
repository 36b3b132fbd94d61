//! The mask store: one lossless 16-bit grayscale PNG per tracked frame in `<root>/<id>/`, plus
//! `manifest.json` saying, per frame, which file, model, quality, prompts and direction made it.
//!
//! Rendering reads masks from here and never runs a model, so reopening a project, or another
//! machine pointed at the same folder, shows every tracked frame. Each write replaces the PNG and then
//! the manifest through a temporary file and a rename, so a cancelled or crashed run leaves every frame
//! listed in the manifest complete. Reading never writes: a read-only store still renders.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::template::{render_template, TemplateError};
use crate::Mask;

const MANIFEST: &str = "manifest.json";
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
        let file = folder.join(MANIFEST);
        let manifest = match fs::read(&file) {
            Ok(bytes) => {
                let manifest: Manifest = serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::CorruptManifest { file: file.clone(), detail: e.to_string() })?;
                if manifest.format != FORMAT {
                    let detail = format!("format {} where {FORMAT} is expected", manifest.format);
                    return Err(StoreError::CorruptManifest { file, detail });
                }
                manifest
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Manifest { format: FORMAT, frames: BTreeMap::new() },
            Err(source) => return Err(StoreError::Io { path: file, source }),
        };
        Ok(MaskStore { folder, manifest })
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
        write_atomically(&path, |out| encode_png(out, mask))?;
        let record = FrameRecord {
            file,
            model: model.to_owned(),
            quality: quality.to_owned(),
            prompt_hash: prompt_hash.to_owned(),
            direction,
            width: mask.width,
            height: mask.height,
        };
        self.manifest.frames.insert(frame, record);
        self.save_manifest()
    }

    /// Removes frames from the manifest (their PNGs are left to be overwritten), e.g. before a re-track
    /// that may be cancelled, so no stale mask is shown as current.
    pub fn forget(&mut self, frames: impl IntoIterator<Item = i32>) -> Result<(), StoreError> {
        let before = self.manifest.frames.len();
        for frame in frames {
            self.manifest.frames.remove(&frame);
        }
        if self.manifest.frames.len() == before {
            return Ok(());
        }
        self.ensure_writable()?;
        self.save_manifest()
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
        let mask = decode_png(&bytes).map_err(corrupt)?;
        if (mask.width, mask.height) != (record.width, record.height) {
            return Err(corrupt(format!(
                "{}×{} where the manifest says {}×{}",
                mask.width, mask.height, record.width, record.height
            )));
        }
        Ok(mask)
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
            fs::create_dir(&self.folder).map_err(|e| io_error(&self.folder, e))?;
        }
        check_writable(&self.folder)
    }

    fn save_manifest(&self) -> Result<(), StoreError> {
        let path = self.folder.join(MANIFEST);
        write_atomically(&path, |out| {
            serde_json::to_writer_pretty(out, &self.manifest).map_err(io::Error::other)
        })
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

/// Writes `path` through `<path>.tmp` and a rename, so readers see the old file or the new one.
fn write_atomically(path: &Path, fill: impl FnOnce(&mut BufWriter<fs::File>) -> io::Result<()>) -> Result<(), StoreError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    let mut out = BufWriter::new(file);
    fill(&mut out).and_then(|_| io::Write::flush(&mut out)).map_err(|e| io_error(&tmp, e))?;
    drop(out);
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

fn decode_png(bytes: &[u8]) -> Result<Mask, String> {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let info = reader.info();
    if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Sixteen {
        return Err(format!("{:?} {:?} where 16-bit grayscale is expected", info.color_type, info.bit_depth));
    }
    let (width, height) = (info.width as usize, info.height as usize);
    let mut buffer = vec![0; reader.output_buffer_size()];
    reader.next_frame(&mut buffer).map_err(|e| e.to_string())?;
    let coverage = buffer[..width * height * 2].chunks_exact(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect();
    Ok(Mask { width, height, coverage })
}
