//! What a clip's frames come from (a still, a numbered sequence, a video) and where rendered frames
//! go, chosen from the path: a `#`/`%d` placeholder means a sequence, `.mp4/.mov/.mkv` a video; image
//! files are any of [`formats`](crate::formats).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use ofx_host::{BitDepth, ClipSource, Image};

use crate::formats;
use crate::sequence::{extension, Pattern};
use crate::video::{self, VideoInput, VideoOutput};

fn check_extension(path: &Path, ext: &str, video_ok: bool, images: &[&str]) -> Result<()> {
    if images.contains(&ext) || (video_ok && video::EXTENSIONS.contains(&ext)) {
        return Ok(());
    }
    let mut known: Vec<&str> = images.to_vec();
    if video_ok {
        known.extend(video::EXTENSIONS);
    }
    let known: Vec<String> = known.iter().map(|e| format!(".{e}")).collect();
    bail!("{}: unsupported format {:?} (supported: {})", path.display(), format!(".{ext}"), known.join(", "))
}

/// An input clip's frames.
pub enum Media {
    /// One image, served for every frame.
    Still(Image),
    /// Numbered files; `first` is the first existing frame, loaded to learn the format.
    Sequence { pattern: Pattern, frames: Vec<i32>, first: Image },
    /// A decoded video, frames numbered from 0.
    Video(Arc<VideoInput>),
}

impl Media {
    /// Opens `path`, failing clearly on a missing file, an empty pattern or an unknown format.
    pub fn open(path: &Path) -> Result<Media> {
        if let Some(pattern) = Pattern::parse(path)? {
            check_extension(path, &pattern.extension(), false, formats::READ)?;
            let frames = pattern.existing_frames()?;
            let first = load(&pattern.path(frames[0]))?;
            return Ok(Media::Sequence { pattern, frames, first });
        }
        let ext = extension(path);
        check_extension(path, &ext, true, formats::READ)?;
        if video::EXTENSIONS.contains(&ext.as_str()) {
            return Ok(Media::Video(Arc::new(VideoInput::open(path)?)));
        }
        Ok(Media::Still(load(path)?))
    }

    /// The frames this input has; `None` for a still, which has them all.
    pub fn frames(&self) -> Option<Vec<i32>> {
        match self {
            Media::Still(_) => None,
            Media::Sequence { frames, .. } => Some(frames.clone()),
            Media::Video(video) => Some((0..video.frames as i32).collect()),
        }
    }

    /// The pixel depth of the input (video decodes to 16 bits).
    pub fn depth(&self) -> BitDepth {
        match self {
            Media::Still(image) | Media::Sequence { first: image, .. } => image.depth(),
            Media::Video(_) => BitDepth::U16,
        }
    }

    /// The frame rate of a video input.
    pub fn rate(&self) -> Option<&str> {
        match self {
            Media::Video(video) => Some(&video.rate),
            _ => None,
        }
    }

    /// The clip source the host reads frames from; sequence and video frames load on demand.
    pub fn clip_source(&self) -> ClipSource {
        match self {
            Media::Still(image) => ClipSource::Still(image.clone()),
            Media::Sequence { pattern, .. } => {
                let pattern = pattern.clone();
                let ext = pattern.extension();
                ClipSource::Func(Arc::new(move |time| formats::load(&pattern.path(time.round() as i32), &ext).ok()))
            }
            Media::Video(video) => {
                let video = Arc::clone(video);
                ClipSource::Func(Arc::new(move |time| video.frame(time.round() as i32)))
            }
        }
    }
}

fn load(path: &Path) -> Result<Image> {
    if !path.is_file() {
        bail!("input file not found: {}", path.display());
    }
    formats::load(path, &extension(path))
}

/// Where rendered frames go.
pub enum Sink {
    /// One file: exactly one frame.
    File(PathBuf),
    /// One file per frame.
    Sequence(Pattern),
    /// A video, started at the first frame (whose size it takes).
    Video { path: PathBuf, rate: String, encoder: Option<VideoOutput> },
}

impl Sink {
    /// Checks the output's format before anything renders; `rate` is the video frame rate.
    pub fn open(path: &Path, rate: &str) -> Result<Sink> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create folder {}", parent.display()))?;
        }
        if let Some(pattern) = Pattern::parse(path)? {
            check_extension(path, &pattern.extension(), false, formats::WRITE)?;
            return Ok(Sink::Sequence(pattern));
        }
        let ext = extension(path);
        check_extension(path, &ext, true, formats::WRITE)?;
        if video::EXTENSIONS.contains(&ext.as_str()) {
            video::require_ffmpeg(path)?;
            return Ok(Sink::Video { path: path.to_path_buf(), rate: rate.to_string(), encoder: None });
        }
        Ok(Sink::File(path.to_path_buf()))
    }

    /// True when the output holds a single frame.
    pub fn is_single_file(&self) -> bool {
        matches!(self, Sink::File(_))
    }

    /// Writes frame `frame`; PNGs get `png_bits` (8 or 16) per channel, EXR float.
    pub fn write(&mut self, frame: i32, image: &Image, png_bits: u8) -> Result<()> {
        let save = |path: &Path| formats::save(image, path, &extension(path), png_bits);
        match self {
            Sink::File(path) => save(path),
            Sink::Sequence(pattern) => save(&pattern.path(frame)),
            Sink::Video { path, rate, encoder } => {
                if encoder.is_none() {
                    *encoder = Some(VideoOutput::create(path, image.width(), image.height(), rate)?);
                }
                encoder.as_mut().expect("encoder was just created").write(image)
            }
        }
    }

    /// Finishes a video; nothing to do for files.
    pub fn finish(self) -> Result<()> {
        match self {
            Sink::Video { encoder: Some(encoder), .. } => encoder.finish(),
            _ => Ok(()),
        }
    }
}
