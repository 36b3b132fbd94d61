//! Frame-numbered file names: `shot.####.png` (one `#` per digit, zero-padded) or printf style
//! `shot.%04d.png` / `shot.%d.png`, and finding which frames of such a pattern exist on disk.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// A file name with a frame number in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    dir: PathBuf,
    prefix: String,
    /// Minimum number of digits (zero-padded); 0 for `%d`.
    width: usize,
    suffix: String,
}

impl Pattern {
    /// Parses `path` when its file name holds a frame placeholder; `None` for a plain file name.
    pub fn parse(path: &Path) -> Result<Option<Pattern>> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if dir.to_string_lossy().contains(['#']) || dir.to_string_lossy().contains("%0") {
            bail!("{}: a frame placeholder (# or %d) may only be in the file name", path.display());
        }
        if let Some(start) = name.find('#') {
            let width = name[start..].chars().take_while(|&c| c == '#').count();
            let (prefix, suffix) = (&name[..start], &name[start + width..]);
            if suffix.contains('#') {
                bail!("{}: only one run of # is allowed", path.display());
            }
            return Ok(Some(Pattern { dir, prefix: prefix.into(), width, suffix: suffix.into() }));
        }
        if let Some(start) = name.find('%') {
            let rest = &name[start + 1..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Some(suffix) = rest[digits.len()..].strip_prefix('d') {
                let width = if digits.is_empty() { 0 } else { digits.parse().context("bad %d width")? };
                return Ok(Some(Pattern { dir, prefix: name[..start].into(), width, suffix: suffix.into() }));
            }
        }
        Ok(None)
    }

    /// The file of one frame.
    pub fn path(&self, frame: i32) -> PathBuf {
        let number = if frame < 0 {
            format!("-{:0width$}", -frame, width = self.width)
        } else {
            format!("{frame:0width$}", width = self.width)
        };
        self.dir.join(format!("{}{number}{}", self.prefix, self.suffix))
    }

    /// The frames whose files exist, in order; an error when there are none.
    pub fn existing_frames(&self) -> Result<Vec<i32>> {
        let dir = if self.dir.as_os_str().is_empty() { Path::new(".") } else { &self.dir };
        let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))?;
        let mut frames: Vec<i32> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|name| self.frame_of(&name))
            .collect();
        frames.sort_unstable();
        frames.dedup();
        if frames.is_empty() {
            bail!("no files match {} in {}", self.display(), dir.display());
        }
        Ok(frames)
    }

    /// The frame number in a file name that matches the pattern.
    fn frame_of(&self, name: &str) -> Option<i32> {
        let number = name.strip_prefix(&self.prefix)?.strip_suffix(&self.suffix)?;
        let digits = number.strip_prefix('-').unwrap_or(number);
        let padded_right = digits.len() == self.width || (digits.len() > self.width && !digits.starts_with('0'));
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || !padded_right {
            return None;
        }
        number.parse().ok()
    }

    /// The pattern as the user would write it with `#`.
    pub fn display(&self) -> String {
        format!("{}{}{}", self.prefix, "#".repeat(self.width.max(1)), self.suffix)
    }

    /// The extension of the files, lower case.
    pub fn extension(&self) -> String {
        // Not Path::extension: a suffix like ".exr" reads as a hidden file with no extension.
        self.suffix.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default()
    }
}

/// A path's extension, lower case ("" when it has none).
pub fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase()
}

/// Parses `--frames`: `a-b` (inclusive) or a single frame `a`; negative frames allowed (`-5--1`).
pub fn parse_range(text: &str) -> Result<(i32, i32)> {
    let bad = || format!("--frames {text:?}: expected FIRST-LAST (e.g. 1-48) or one frame number");
    let split = text.char_indices().skip(1).find(|&(_, c)| c == '-').map(|(i, _)| i);
    let (first, last) = match split {
        Some(i) => (text[..i].trim().parse().with_context(bad)?, text[i + 1..].trim().parse().with_context(bad)?),
        None => {
            let f = text.trim().parse().with_context(bad)?;
            (f, f)
        }
    };
    if last < first {
        bail!("--frames {text:?}: the last frame comes before the first");
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hashes_and_printf() {
        let p = Pattern::parse(Path::new("out/shot.####.png")).unwrap().unwrap();
        assert_eq!(p.path(7), Path::new("out/shot.0007.png"));
        assert_eq!(p.path(12345), Path::new("out/shot.12345.png"));
        let p = Pattern::parse(Path::new("shot_%03d.exr")).unwrap().unwrap();
        assert_eq!(p.path(5), Path::new("shot_005.exr"));
        assert_eq!(p.extension(), "exr");
        let p = Pattern::parse(Path::new("f%d.png")).unwrap().unwrap();
        assert_eq!(p.path(42), Path::new("f42.png"));
        assert_eq!(Pattern::parse(Path::new("plain.png")).unwrap(), None);
        assert_eq!(Pattern::parse(Path::new("100%.png")).unwrap(), None);
    }

    #[test]
    fn matches_frame_numbers() {
        let p = Pattern::parse(Path::new("a.##.png")).unwrap().unwrap();
        assert_eq!(p.frame_of("a.07.png"), Some(7));
        assert_eq!(p.frame_of("a.123.png"), Some(123));
        assert_eq!(p.frame_of("a.7.png"), None);
        assert_eq!(p.frame_of("a.0x.png"), None);
        assert_eq!(p.frame_of("b.07.png"), None);
    }

    #[test]
    fn parses_ranges() {
        assert_eq!(parse_range("1-48").unwrap(), (1, 48));
        assert_eq!(parse_range("7").unwrap(), (7, 7));
        assert_eq!(parse_range("-5--1").unwrap(), (-5, -1));
        assert!(parse_range("9-3").is_err());
        assert!(parse_range("x").is_err());
    }
}
