//! Magic Mask's link to the SAM 2 engine and the mask store: frames from the host, prompts in
//! the engine's coordinates, tracking runs with progress and cancel, and where masks live.

use super::prompts::{PromptShape, Prompts};
use crate::effects::runtime::{model_search, runtime, user_error};
use imaging::{Rect, SourceColour};
use inference::SessionOptions;
use ofx::{Clip, Error, Instance, Result};
use segment::{Direction, Frame, MaskStore, Prompt, StoreError, Tracker};
use std::collections::BTreeMap;
use std::ops::{ControlFlow, RangeInclusive};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where an instance's masks live: `<store folder>/<id>`; the default store folder is the user's
/// DeepMatte data folder (`<user data>/masks`, see [`inference::user_masks_dir`]), not a cache
/// folder: users and cleaning tools empty caches, and tracked masks are work.
pub fn store_root(store_folder: &str) -> Result<PathBuf> {
    let folder = store_folder.trim();
    if !folder.is_empty() {
        return Ok(PathBuf::from(folder));
    }
    let root = inference::user_masks_dir().ok_or_else(|| Error::failed("no per-user data folder (neither HOME nor APPDATA is set): set Store Folder"))?;
    std::fs::create_dir_all(&root).map_err(|e| Error::failed(format!("cannot create {}: {e}", root.display())))?;
    Ok(root)
}

/// Opens the store folder `name` (the instance's `id`, or a name made from it for one Quality),
/// turning its errors into messages that name the folder.
pub fn open_store(store_folder: &str, id: &str, name: &str) -> Result<MaskStore> {
    if !is_store_id(id) || !name.starts_with(id) {
        return Err(bad_store_id(id));
    }
    MaskStore::open(&store_root(store_folder)?, name).map_err(store_error)
}

/// The hash recorded with every mask tracked from `prompts`: of the prompts as saved (canonical
/// coordinates), so it is the same at every render scale and tells a frame tracked from other
/// prompts from a current one.
pub fn prompts_hash(prompts: &Prompts) -> String {
    let canonical = PixelGrid { bounds: Rect::default(), scale: (1.0, 1.0), pixel_aspect: 1.0 };
    segment::prompt_hash(&engine_prompts(prompts, &canonical))
}

/// Which live instances use which store folder, with the hash of their prompts: copy and paste in
/// the host duplicates a node with its hidden store id, and two nodes writing one folder would
/// overwrite each other's frames.
static SHARERS: Mutex<Vec<Sharer>> = Mutex::new(Vec::new());

struct Sharer {
    folder: PathBuf,
    owner: u64,
    prompts: String,
}

/// Notes that instance `owner` uses `folder` with prompts of hash `prompts` (renders and writes do).
pub fn note_use(folder: &Path, owner: u64, prompts: &str) {
    let mut sharers = SHARERS.lock().unwrap_or_else(|p| p.into_inner());
    match sharers.iter_mut().find(|s| s.owner == owner) {
        Some(s) if s.folder == folder => prompts.clone_into(&mut s.prompts),
        Some(s) => *s = Sharer { folder: folder.to_path_buf(), owner, prompts: prompts.to_owned() },
        None => sharers.push(Sharer { folder: folder.to_path_buf(), owner, prompts: prompts.to_owned() }),
    }
}

/// Forgets instance `owner` (it was destroyed).
pub fn release(owner: u64) {
    SHARERS.lock().unwrap_or_else(|p| p.into_inner()).retain(|s| s.owner != owner);
}

/// Whether another live instance uses `folder` with other prompts than `prompts`: then a write by
/// `owner` would change masks that instance shows as its own.
pub fn shared_with_others(folder: &Path, owner: u64, prompts: &str) -> bool {
    SHARERS.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|s| s.owner != owner && s.folder == folder && s.prompts != prompts)
}

/// Copies the masks of the store in `from` into the new, empty store folder `to`, so a forked
/// instance keeps every frame it showed (those tracked with other prompts are then shown stale).
pub fn copy_store(from: &Path, to: &Path) -> Result<()> {
    let failed = |e: std::io::Error| Error::failed(format!("Magic Mask store: cannot copy {} to {}: {e}", from.display(), to.display()));
    std::fs::create_dir(to).map_err(failed)?;
    let Ok(entries) = std::fs::read_dir(from) else { return Ok(()) };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let text = name.to_string_lossy();
        let wanted = text == "manifest.json" || (text.starts_with("frame_") && text.ends_with(".png"));
        if wanted && entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::copy(entry.path(), to.join(&name)).map_err(failed)?;
        }
    }
    Ok(())
}

/// A store failure as a host message.
pub fn store_error(e: StoreError) -> Error {
    Error::failed(format!("Magic Mask store: {e}"))
}

/// True for the ids [`new_store_id`] makes (`mm-` and 16 lowercase hex digits). The id comes back
/// from a project file, which anyone can edit: nothing else is used as a folder name.
pub fn is_store_id(id: &str) -> bool {
    id.strip_prefix("mm-").is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// Why a saved id is refused, as the user reads it.
pub fn bad_store_id(id: &str) -> Error {
    let shown: String = id.chars().take(40).collect();
    let more = if id.chars().count() > 40 { "…" } else { "" };
    Error::failed(format!(
        "Magic Mask: the project's mask store id {shown:?}{more} is not one Magic Mask makes (mm- and 16 hex digits), \
         so it is not used as a folder; press Clear to start a new mask store"
    ))
}

/// A new store id: unique per instance and machine, saved in the project.
pub fn new_store_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.write_u32(std::process::id());
    format!("mm-{:016x}", h.finish())
}

/// How canonical positions (clicks, the Point control) land on one image's pixels: the image's
/// bounds, render scale and pixel aspect ratio (a proxy render at 0.5, anamorphic footage).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelGrid {
    pub bounds: Rect,
    pub scale: (f64, f64),
    pub pixel_aspect: f64,
}

impl PixelGrid {
    /// The grid of `image`.
    pub fn of(image: &ofx::Image) -> PixelGrid {
        PixelGrid { bounds: image.bounds(), scale: image.render_scale(), pixel_aspect: image.pixel_aspect() }
    }

    /// A canonical position as (column, row) from the top-left corner of the image's pixels.
    /// Canonical to pixel (OFX "Coordinate Systems"): x times render scale over pixel aspect,
    /// y times render scale; then rows counted down from the top.
    pub fn top_down(&self, (x, y): (f64, f64)) -> (f64, f64) {
        let (px, py) = (x * self.scale.0 / self.pixel_aspect, y * self.scale.1);
        (px - f64::from(self.bounds.x1), f64::from(self.bounds.y2) - py)
    }
}

/// The host's image of `frame`.
fn host_image(clip: &Clip, frame: i32) -> std::result::Result<ofx::Image, segment::SegmentError> {
    let unavailable = |detail: String| segment::SegmentError::FrameUnavailable { frame, detail };
    clip.image(f64::from(frame)).map_err(|e| unavailable(e.message))?.ok_or_else(|| unavailable("the host has no image there".into()))
}

/// The frame as the engine wants it: RGBA, top row first, its `colour` encoded for the network
/// in place ([`imaging::encode_for_network`]) before the engine resizes it.
pub fn fetch_frame(clip: &Clip, frame: i32, colour: SourceColour) -> std::result::Result<Frame, segment::SegmentError> {
    let image = host_image(clip, frame)?;
    let view = image.view();
    let b = view.bounds();
    let mut rgba = view.to_rgba_top_down();
    imaging::encode_for_network(&mut rgba, colour);
    Ok(Frame { width: b.width(), height: b.height(), rgba })
}

/// The pixel grid of `frame` (where the prompts land), without reading its pixels.
pub fn frame_grid(clip: &Clip, frame: i32) -> std::result::Result<PixelGrid, segment::SegmentError> {
    Ok(PixelGrid::of(&host_image(clip, frame)?))
}

/// The prompts in frame pixel coordinates (x right, y down from the top-left of the grid's bounds).
pub fn engine_prompts(prompts: &Prompts, grid: &PixelGrid) -> segment::Prompts {
    let to_px = |x: f64, y: f64| {
        let (px, py) = grid.top_down((x, y));
        (px as f32, py as f32)
    };
    let mut out: segment::Prompts = BTreeMap::new();
    for p in &prompts.0 {
        let prompt = match p.shape {
            PromptShape::Positive(x, y) | PromptShape::Negative(x, y) => {
                let (x, y) = to_px(x, y);
                Prompt::Point { x, y, positive: matches!(p.shape, PromptShape::Positive(..)) }
            }
            PromptShape::Box(x1, y1, x2, y2) => {
                let ((x0, y0), (x1, y1)) = (to_px(x1, y2), to_px(x2, y1));
                Prompt::Box { x0, y0, x1, y1 }
            }
        };
        out.entry(p.frame).or_default().push(prompt);
    }
    out
}

/// One tracking job: the runs to make, in order.
pub struct TrackJob {
    pub runs: Vec<(RangeInclusive<i32>, Direction)>,
    pub quality: &'static str,
    /// The network Quality picked.
    pub size: segment::Sam2Size,
    /// What the source's pixels are (Source Colour): how frames are encoded for the network.
    pub colour: SourceColour,
}

/// What a tracking job did.
pub struct TrackOutcome {
    /// Frames tracked and stored.
    pub done: usize,
    /// Whether the user cancelled (every frame done is kept).
    pub cancelled: bool,
    /// The backend the models ran on, and why not a faster one.
    pub backend: String,
}

/// Runs `job`, storing every frame as soon as it is known, with the host's progress bar; a
/// cancel keeps every frame already stored.
pub fn run(fx: &Instance, clip: &Clip, store: &mut MaskStore, prompts: &Prompts, job: &TrackJob, model_folder: &str) -> Result<TrackOutcome> {
    let runtime = runtime()?;
    let tracker = Tracker::open_size(&runtime, &model_search(model_folder), &SessionOptions::default(), job.size).map_err(|e| Error::failed(e.to_string()))?;
    let grid = frame_grid(clip, *job.runs[0].0.start()).map_err(|e| Error::failed(e.to_string()))?;
    let engine = engine_prompts(prompts, &grid);
    let hash = prompts_hash(prompts);
    let total: usize = job.runs.iter().map(|(r, _)| r.clone().count()).sum();
    let progress = fx.progress("Magic Mask: tracking");
    let (mut done, mut cancelled) = (0usize, false);
    let mut write_error = None;
    for (range, direction) in &job.runs {
        let report = tracker
            .track(|f| fetch_frame(clip, f, job.colour), range.clone(), *direction, &engine, |frame, mask| {
                if let Err(e) = store.write(frame, mask, job.size.model_name(), job.quality, &hash, *direction) {
                    write_error = Some(e);
                    return ControlFlow::Break(());
                }
                done += 1;
                if progress.update(done as f64 / total.max(1) as f64) {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            })
            .map_err(|e| Error::failed(e.to_string()))?;
        if let Some(e) = write_error.take() {
            return Err(store_error(e));
        }
        if report.cancelled {
            cancelled = true;
            break;
        }
    }
    Ok(TrackOutcome { done, cancelled, backend: tracker.backend().to_string() })
}

/// Loads U²-Netp for Auto Subject.
pub fn saliency_model(model_folder: &str) -> Result<std::sync::Arc<inference::Model>> {
    let runtime = runtime()?;
    let path = model_search(model_folder).locate(inference::u2netp::FILE).map_err(user_error)?;
    runtime.open(&path, &inference::u2netp::CONTRACT, &SessionOptions::default()).map_err(user_error)
}
