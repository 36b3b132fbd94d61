//! Video files through an `ffmpeg` subprocess: decoding spools every frame as raw 16-bit RGB
//! (`rgb48le`) into a temporary file the render reads frames from in any order, in constant
//! memory; encoding pipes rendered frames as raw 16-bit RGBA (`rgba64le`) into ffmpeg's stdin.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{bail, Context, Result};
use ofx_host::{BitDepth, Components, Image, Rect};

/// Extensions read and written as video.
pub const EXTENSIONS: &[&str] = &["mp4", "mov", "mkv"];

/// Frame rate given to ffmpeg when the frames do not come from a video.
pub const DEFAULT_RATE: &str = "25";

/// Fails with a clear message when ffmpeg (or ffprobe) cannot be run.
pub fn require_ffmpeg(path: &Path) -> Result<()> {
    for tool in ["ffmpeg", "ffprobe"] {
        let found = Command::new(tool).arg("-version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !found.is_ok_and(|s| s.success()) {
            bail!(
                "{}: video needs {tool}, which was not found on PATH (install ffmpeg, e.g. `apt-get install ffmpeg`), \
                 or use image sequences (shot.####.png)",
                path.display()
            );
        }
    }
    Ok(())
}

/// A decoded video: its frames spooled to a temporary file, numbered from 0.
pub struct VideoInput {
    spool: Spool,
    pub width: usize,
    pub height: usize,
    pub frames: usize,
    /// Frame rate as ffprobe gives it (`30000/1001`), passed on to the encoder.
    pub rate: String,
}

impl VideoInput {
    /// Decodes the first video stream of `path`.
    pub fn open(path: &Path) -> Result<VideoInput> {
        require_ffmpeg(path)?;
        if !path.is_file() {
            bail!("input file not found: {}", path.display());
        }
        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height,r_frame_rate"])
            .args(["-of", "csv=p=0"])
            .arg(path)
            .output()
            .context("cannot run ffprobe")?;
        let text = String::from_utf8_lossy(&probe.stdout);
        let fields: Vec<&str> = text.trim().split(',').collect();
        let (Some(w), Some(h), Some(rate)) = (fields.first(), fields.get(1), fields.get(2)) else {
            bail!("{}: no video stream found ({})", path.display(), String::from_utf8_lossy(&probe.stderr).trim());
        };
        let (width, height): (usize, usize) = (w.parse()?, h.parse()?);

        let spool = Spool::new()?;
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-y", "-i"])
            .arg(path)
            .args(["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb48le"])
            .arg(&spool.file)
            .output()
            .context("cannot run ffmpeg")?;
        if !out.status.success() {
            bail!("ffmpeg could not decode {}: {}", path.display(), String::from_utf8_lossy(&out.stderr).trim());
        }
        let bytes = std::fs::metadata(&spool.file)?.len() as usize;
        let frames = bytes / (width * height * 6);
        if frames == 0 {
            bail!("{}: the video has no frames", path.display());
        }
        Ok(VideoInput { spool, width, height, frames, rate: rate.to_string() })
    }

    /// Frame `index` (from 0) as a 16-bit RGB image, or `None` past the end.
    pub fn frame(&self, index: i32) -> Option<Image> {
        let index = usize::try_from(index).ok().filter(|&i| i < self.frames)?;
        let frame_bytes = self.width * self.height * 6;
        let mut bytes = vec![0u8; frame_bytes];
        let mut file = std::fs::File::open(&self.spool.file).ok()?;
        file.seek(SeekFrom::Start((index * frame_bytes) as u64)).ok()?;
        file.read_exact(&mut bytes).ok()?;
        let mut image = Image::new(Rect::from_size(self.width, self.height), BitDepth::U16, Components::Rgb);
        for (i, sample) in bytes.chunks_exact(2).enumerate() {
            let (pixel, channel) = (i / 3, i % 3);
            // Video rows come top first; OFX counts y upwards.
            let (x, y) = (pixel % self.width, self.height - 1 - pixel / self.width);
            image.set_raw(x as i32, y as i32, channel, u16::from_le_bytes([sample[0], sample[1]]) as u32);
        }
        Some(image)
    }
}

/// An ffmpeg process encoding the frames written to it.
pub struct VideoOutput {
    child: Child,
    stdin: Option<ChildStdin>,
    path: PathBuf,
    width: usize,
    height: usize,
}

impl VideoOutput {
    /// Starts ffmpeg for `path`; the codec follows the extension: `.mov` ProRes 4444 (keeps
    /// alpha), `.mkv` FFV1 (lossless, keeps alpha), `.mp4` H.264 (no alpha).
    pub fn create(path: &Path, width: usize, height: usize, rate: &str) -> Result<VideoOutput> {
        require_ffmpeg(path)?;
        let codec: &[&str] = match crate::sequence::extension(path).as_str() {
            "mov" => &["-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le"],
            "mkv" => &["-c:v", "ffv1", "-level", "3"],
            _ => &["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"],
        };
        let mut child = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba64le"])
            .args(["-s", &format!("{width}x{height}"), "-r", rate, "-i", "-"])
            .args(codec)
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run ffmpeg")?;
        let stdin = child.stdin.take();
        Ok(VideoOutput { child, stdin, path: path.to_path_buf(), width, height })
    }

    /// Appends one frame; it must have the size of the first.
    pub fn write(&mut self, image: &Image) -> Result<()> {
        if (image.width(), image.height()) != (self.width, self.height) {
            bail!(
                "{}: frame is {}x{}, the video is {}x{}",
                self.path.display(),
                image.width(),
                image.height(),
                self.width,
                self.height
            );
        }
        let rgba = image.converted(BitDepth::U16, Components::Rgba);
        let b = rgba.bounds();
        let mut bytes = Vec::with_capacity(self.width * self.height * 8);
        for y in (b.y1..b.y2).rev() {
            for x in b.x1..b.x2 {
                for c in 0..4 {
                    bytes.extend_from_slice(&(rgba.raw(x, y, c) as u16).to_le_bytes());
                }
            }
        }
        let stdin = self.stdin.as_mut().context("ffmpeg input already closed")?;
        if stdin.write_all(&bytes).is_err() {
            // ffmpeg quit early: its own message says why.
            self.finish_inner()?;
            bail!("ffmpeg stopped reading frames for {}", self.path.display());
        }
        Ok(())
    }

    /// Closes the stream and waits for ffmpeg to write the file.
    pub fn finish(mut self) -> Result<()> {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> Result<()> {
        drop(self.stdin.take());
        let mut message = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut message)?;
        }
        let status = self.child.wait()?;
        if !status.success() {
            bail!("ffmpeg could not write {}: {}", self.path.display(), message.trim());
        }
        Ok(())
    }
}

/// A temporary file, removed (with its folder) when dropped.
struct Spool {
    dir: PathBuf,
    file: PathBuf,
}

impl Spool {
    fn new() -> Result<Spool> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("deepmatte-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Spool { file: dir.join("frames.rgb48"), dir })
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
