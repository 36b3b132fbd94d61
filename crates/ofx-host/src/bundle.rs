//! Loading a `*.ofx.bundle`: the binary, its plugins, Load and Describe, context
//! descriptions, and instances. Load/Unload are reference-counted per plugin across
//! bundles in the process (a real host loads a plugin once; MLT too, which then describes
//! and creates a fresh instance for every frame).

use crate::actions::{call, call_entry, Frame, MainEntry};
use crate::image::{BitDepth, Components};
use crate::instance::Instance;
use crate::journal::Journal;
use crate::objects::{lock, read, Effect, Plugin};
use crate::ofx_str;
use crate::params::ParamInfo;
use crate::profile::HostProfile;
use crate::properties::PropertySet;
use crate::render::check;
use crate::status::{self, OfxStatus};
use crate::suites::{c_str, ofx_host};
use crate::HostError;
use openfx_sys as sys;
use std::collections::HashMap;
use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// The OFX contexts the host can instantiate an effect in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    /// One `Source` input and the `Output`.
    Filter,
    /// Any inputs the plugin declares.
    General,
}

impl Context {
    /// The `kOfxImageEffectContext*` string.
    pub fn ofx_name(self) -> &'static str {
        match self {
            Context::Filter => ofx_str(sys::kOfxImageEffectContextFilter),
            Context::General => ofx_str(sys::kOfxImageEffectContextGeneral),
        }
    }

    fn from_ofx_name(name: &str) -> Option<Context> {
        [Context::Filter, Context::General].into_iter().find(|c| c.ofx_name() == name)
    }
}

/// What a plugin says about itself in Describe.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginInfo {
    /// `pluginIdentifier`, e.g. `org.deepmatte.LumaMatteExtract`.
    pub id: String,
    /// Kebab-case of the part after the last '.', e.g. `luma-matte-extract`.
    pub short_name: String,
    /// `kOfxPropLabel`.
    pub label: String,
    /// `kOfxImageEffectPluginPropGrouping` (the menu it appears in).
    pub grouping: String,
    /// `kOfxPropPluginDescription`.
    pub description: String,
    /// (major, minor) from the OfxPlugin struct.
    pub version: (u32, u32),
    /// Supported contexts this host implements.
    pub contexts: Vec<Context>,
    /// Every supported context string, including ones this host does not implement.
    pub context_names: Vec<String>,
    /// `kOfxImageEffectPropSupportedPixelDepths`.
    pub supported_depths: Vec<BitDepth>,
    /// `kOfxImageEffectPropSupportsTiles`.
    pub supports_tiles: bool,
    /// `kOfxImageEffectPropSupportsMultiResolution`.
    pub supports_multi_resolution: bool,
    /// `kOfxImageEffectPropTemporalClipAccess`.
    pub temporal_clip_access: bool,
    /// `kOfxImageEffectPluginRenderThreadSafety`.
    pub render_thread_safety: String,
    /// Whether the plugin has an overlay interact.
    pub has_overlay: bool,
    /// `OfxImageEffectPropCudaRenderSupported` = "true": the plugin renders on CUDA when asked.
    pub cuda_render: bool,
}

/// A clip as declared in DescribeInContext.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipInfo {
    /// Clip name (`Source`, `Matte`, `Output`, …).
    pub name: String,
    /// `kOfxPropLabel`.
    pub label: String,
    /// `kOfxImageClipPropOptional`.
    pub optional: bool,
    /// `kOfxImageClipPropIsMask`.
    pub is_mask: bool,
    /// `kOfxImageEffectPropSupportedComponents`.
    pub supported_components: Vec<Components>,
    /// `kOfxImageEffectPropTemporalClipAccess`.
    pub temporal_access: bool,
}

/// A plugin described in one context: its controls and clips.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectDescription {
    /// The plugin.
    pub plugin: PluginInfo,
    /// The context described.
    pub context: Context,
    /// Parameters in definition order.
    pub params: Vec<ParamInfo>,
    /// Clips in definition order.
    pub clips: Vec<ClipInfo>,
}

/// One plugin of the bundle.
pub(crate) struct LoadedPlugin {
    pub plugin: Arc<Plugin>,
    pub info: PluginInfo,
    /// The main descriptor (kept loaded; `None` under MLT).
    main: Option<Arc<Effect>>,
    contexts: Mutex<HashMap<Context, Arc<Effect>>>,
}

pub(crate) struct BundleCore {
    pub profile: HostProfile,
    pub plugins: Vec<LoadedPlugin>,
}

/// A loaded bundle. The binary stays loaded while the bundle or any instance made from it
/// lives. Several bundles of the same path share one copy of the binary (and so its
/// globals): see the crate documentation.
pub struct Bundle {
    core: Arc<BundleCore>,
}

/// Load counts per plugin entry point across the process.
static LOADS: LazyLock<Mutex<HashMap<usize, usize>>> = LazyLock::new(Default::default);

fn plugin_frame(plugin: &Plugin) -> Frame {
    Frame { journal: plugin.journal.clone(), effect: None, render: None }
}

/// kOfxActionLoad (sent by the first bundle of a plugin in the process).
pub(crate) fn load_action(plugin: &Plugin) -> Result<(), HostError> {
    let mark = plugin.journal.message_count();
    let st = call_entry(plugin.entry, plugin_frame(plugin), sys::kOfxActionLoad, std::ptr::null(), None, None);
    match st {
        status::OK | status::REPLY_DEFAULT => Ok(()),
        status => {
            Err(HostError::Action { action: "Load".into(), status, messages: plugin.journal.messages_since(mark) })
        }
    }
}

/// kOfxActionUnload.
pub(crate) fn unload_action(plugin: &Plugin) {
    let st = call_entry(plugin.entry, plugin_frame(plugin), sys::kOfxActionUnload, std::ptr::null(), None, None);
    if !matches!(st, status::OK | status::REPLY_DEFAULT) {
        plugin.journal.warn(format!("Unload returned {}", status::status_name(st)));
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        if !self.counted.load(Ordering::SeqCst) {
            return;
        }
        // Under the lock, so another bundle's Load cannot overtake this Unload.
        let mut loads = lock(&LOADS);
        let key = self.entry as usize;
        let n = loads.entry(key).or_insert(1);
        *n -= 1;
        if *n == 0 {
            loads.remove(&key);
            unload_action(self);
        }
    }
}

/// kOfxActionDescribe on a fresh main descriptor.
pub(crate) fn describe(plugin: &Arc<Plugin>) -> Result<Arc<Effect>, HostError> {
    let main = Effect::descriptor(plugin.clone(), plugin.journal.clone());
    let mark = plugin.journal.message_count();
    let st = call(&main, sys::kOfxActionDescribe, None, None);
    check(&main, "Describe", st, mark)?;
    Ok(main)
}

/// kOfxImageEffectActionDescribeInContext on a fresh context descriptor.
pub(crate) fn describe_in_context(main: &Effect, context: Context) -> Result<Arc<Effect>, HostError> {
    let desc = Effect::for_context(main, context.ofx_name());
    let in_args = PropertySet::new(&[]);
    in_args.set_str(ofx_str(sys::kOfxImageEffectPropContext), context.ofx_name());
    let mark = main.journal.message_count();
    let st = call(&desc, sys::kOfxImageEffectActionDescribeInContext, Some(&in_args), None);
    check(&desc, "DescribeInContext", st, mark)?;
    Ok(desc)
}

/// `org.deepmatte.LumaMatteExtract` → `luma-matte-extract`.
pub(crate) fn short_name(id: &str) -> String {
    let tail = id.rsplit('.').next().unwrap_or(id);
    let chars: Vec<char> = tail.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('-');
            }
        }
        match c {
            '_' | ' ' => out.push('-'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

fn plugin_info(plugin: &Plugin, main: &Effect) -> PluginInfo {
    let p = &main.props;
    let k = |b: &'static [u8]| ofx_str(b);
    let context_names = p.strs(k(sys::kOfxImageEffectPropSupportedContexts));
    let host_contexts = plugin.profile.contexts();
    PluginInfo {
        id: plugin.id.clone(),
        short_name: short_name(&plugin.id),
        label: p.str(k(sys::kOfxPropLabel)).unwrap_or_default(),
        grouping: p.str(k(sys::kOfxImageEffectPluginPropGrouping)).unwrap_or_default(),
        description: p.str(k(sys::kOfxPropPluginDescription)).unwrap_or_default(),
        version: plugin.version,
        contexts: context_names
            .iter()
            .filter(|c| host_contexts.contains(&c.as_str()))
            .filter_map(|c| Context::from_ofx_name(c))
            .collect(),
        context_names,
        supported_depths: p
            .strs(k(sys::kOfxImageEffectPropSupportedPixelDepths))
            .iter()
            .filter_map(|d| BitDepth::from_ofx_name(d))
            .collect(),
        supports_tiles: main.prop_int(sys::kOfxImageEffectPropSupportsTiles, 1) == 1,
        supports_multi_resolution: main.prop_int(sys::kOfxImageEffectPropSupportsMultiResolution, 1) == 1,
        temporal_clip_access: main.prop_int(sys::kOfxImageEffectPropTemporalClipAccess, 0) == 1,
        render_thread_safety: main.prop_str(sys::kOfxImageEffectPluginRenderThreadSafety),
        has_overlay: p.ptr(k(sys::kOfxImageEffectPluginPropOverlayInteractV1)).is_some_and(|v| v != 0),
        cuda_render: p.str(k(sys::kOfxImageEffectPropCudaRenderSupported)).is_some_and(|v| v == "true"),
    }
}

/// The bundle folder holding the binary for the platform this host was built for (OFX 1.4 §
/// "Installation Location").
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const ARCH_DIR: &str = "Linux-x86-64";
/// The bundle folder holding the binary for the platform this host was built for.
#[cfg(all(windows, target_arch = "x86_64"))]
const ARCH_DIR: &str = "Win64";
/// The bundle folder holding the binary for the platform this host was built for.
#[cfg(target_os = "macos")]
const ARCH_DIR: &str = "MacOS";

/// Where the binary of a bundle lives: `Contents/<arch>/<Name>.ofx` (`Linux-x86-64`, `Win64`, `MacOS`).
pub(crate) fn binary_path(bundle_dir: &Path) -> Result<PathBuf, HostError> {
    let dir = bundle_dir.join("Contents").join(ARCH_DIR);
    let file = bundle_dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let name = file.strip_suffix(".bundle").unwrap_or(file);
    let name = if name.ends_with(".ofx") { name.to_string() } else { format!("{name}.ofx") };
    let expected = dir.join(&name);
    if expected.is_file() {
        return Ok(expected);
    }
    let others: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "ofx")).collect()
        })
        .unwrap_or_default();
    match others.as_slice() {
        [only] => Ok(only.clone()),
        _ => Err(HostError::MissingBinary { path: expected }),
    }
}

type GetNumber = unsafe extern "C" fn() -> c_int;
type GetPlugin = unsafe extern "C" fn(c_int) -> *mut sys::OfxPlugin;
type SetHostFn = unsafe extern "C" fn(*const sys::OfxHost) -> OfxStatus;

/// What `OfxGetPlugin(i)` returned, read into Rust values.
struct RawPlugin {
    id: String,
    api: String,
    version: (u32, u32),
    set_host: Option<unsafe extern "C" fn(*mut sys::OfxHost)>,
    entry: Option<MainEntry>,
}

/// An exported function, typed with its OFX signature; `None` when not exported.
fn optional_symbol<T: Copy>(library: &libloading::Library, name: &str) -> Option<T> {
    // SAFETY: the symbol is looked up by its OFX name and typed with its OFX signature.
    unsafe { library.get::<T>(name.as_bytes()) }.ok().map(|s| *s)
}

/// A mandatory exported function.
fn symbol<T: Copy>(library: &libloading::Library, binary: &Path, name: &str) -> Result<T, HostError> {
    optional_symbol(library, name)
        .ok_or_else(|| HostError::MissingSymbol { path: binary.to_path_buf(), symbol: name.to_string() })
}

fn raw_plugins(
    library: &libloading::Library,
    binary: &Path,
    profile: HostProfile,
) -> Result<Vec<RawPlugin>, HostError> {
    if let Some(set_host) = optional_symbol::<SetHostFn>(library, "OfxSetHost") {
        // SAFETY: OfxSetHost(const OfxHost*) with the host that lives for the process.
        unsafe { set_host(ofx_host(profile)) };
    }
    let count = symbol::<GetNumber>(library, binary, "OfxGetNumberOfPlugins")?;
    let get = symbol::<GetPlugin>(library, binary, "OfxGetPlugin")?;
    // SAFETY: the two mandatory OFX entry points, called as the spec says.
    let n = unsafe { count() };
    let mut plugins = Vec::new();
    for i in 0..n.max(0) {
        // SAFETY: i < OfxGetNumberOfPlugins(); the result is NULL or a static OfxPlugin.
        let Some(p) = (unsafe { get(i).as_ref() }) else { continue };
        // SAFETY: OfxPlugin strings are static C strings (or NULL).
        let (id, api) = unsafe { (c_str(p.pluginIdentifier), c_str(p.pluginApi)) };
        plugins.push(RawPlugin {
            id: id.unwrap_or("").to_string(),
            api: api.unwrap_or("").to_string(),
            version: (p.pluginVersionMajor, p.pluginVersionMinor),
            set_host: p.setHost,
            entry: p.mainEntry,
        });
    }
    Ok(plugins)
}

impl Bundle {
    /// Loads the bundle's binary, sets the host, and sends Load and Describe to every
    /// image-effect plugin in it (under MLT: Load, Describe, Unload, keeping only
    /// plugins with the Filter context, as MLT lists them).
    pub fn load(bundle_dir: &Path, profile: HostProfile) -> Result<Bundle, HostError> {
        if profile.cuda() {
            crate::cuda::host().map_err(|why| HostError::Unsupported(format!("the resolve-cuda profile needs a CUDA device: {why}")))?;
        }
        let binary = binary_path(bundle_dir)?;
        // SAFETY: loading an OFX plugin binary runs its initialisers; that is what a host does.
        let library = unsafe { libloading::Library::new(&binary) }
            .map_err(|e| HostError::Library { path: binary.clone(), reason: e.to_string() })?;
        let library = Arc::new(library);
        let mut plugins = Vec::new();
        for raw in raw_plugins(&library, &binary, profile)? {
            let (Some(entry), Some(set_host)) = (raw.entry, raw.set_host) else { continue };
            if raw.api != ofx_str(sys::kOfxImageEffectPluginApi) {
                log::info!("skipping {} ({}): not an image effect", raw.id, raw.api);
                continue;
            }
            // SAFETY: setHost with the host struct that lives for the process.
            unsafe { set_host(ofx_host(profile)) };
            let plugin = Arc::new(Plugin {
                id: raw.id,
                version: raw.version,
                entry,
                profile,
                bundle_dir: bundle_dir.to_path_buf(),
                journal: Arc::new(Journal::default()),
                unsafe_render: Mutex::new(()),
                counted: AtomicBool::new(false),
                _library: library.clone(),
            });
            match Bundle::load_plugin(&plugin) {
                Ok(loaded) => plugins.extend(loaded),
                Err(e) => log::warn!("plugin {} failed to load: {e}", plugin.id),
            }
        }
        Ok(Bundle { core: Arc::new(BundleCore { profile, plugins }) })
    }

    fn load_plugin(plugin: &Arc<Plugin>) -> Result<Option<LoadedPlugin>, HostError> {
        let cycles = plugin.profile.cycles_per_frame();
        {
            // Every host, MLT included, loads a plugin once for the process.
            let mut loads = lock(&LOADS);
            let n = loads.entry(plugin.entry as usize).or_insert(0);
            if *n == 0 {
                load_action(plugin)?;
            }
            *n += 1;
            plugin.counted.store(true, Ordering::SeqCst);
        }
        let main = describe(plugin)?;
        let info = plugin_info(plugin, &main);
        if cycles && !info.contexts.contains(&Context::Filter) {
            return Ok(None);
        }
        let main = (!cycles).then_some(main);
        Ok(Some(LoadedPlugin { plugin: plugin.clone(), info, main, contexts: Mutex::new(HashMap::new()) }))
    }

    /// The host profile the bundle was loaded with.
    pub fn profile(&self) -> HostProfile {
        self.core.profile
    }

    /// Every plugin the host accepted, in the binary's order.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.core.plugins.iter().map(|p| p.info.clone()).collect()
    }

    /// What the plugins said while loading and describing (errors about missing
    /// runtimes, for instance).
    pub fn messages(&self) -> Vec<crate::HostMessage> {
        self.core.plugins.iter().flat_map(|p| p.plugin.journal.messages()).collect()
    }

    /// The full id for an id or short name (case-insensitive).
    pub fn resolve_id(&self, id_or_short_name: &str) -> Result<String, HostError> {
        self.core.index(id_or_short_name).map(|i| self.core.plugins[i].info.id.clone())
    }

    /// Describes a plugin in a context (DescribeInContext runs once per context and
    /// bundle; under MLT afresh every time).
    pub fn describe(&self, id: &str, context: Context) -> Result<EffectDescription, HostError> {
        let index = self.core.index(id)?;
        let desc = self.core.context_descriptor(index, context)?;
        let entry = &self.core.plugins[index];
        let clips = read(&desc.clips)
            .iter()
            .map(|c| ClipInfo {
                name: c.name.clone(),
                label: c.props.str(ofx_str(sys::kOfxPropLabel)).unwrap_or_default(),
                optional: c.props.int(ofx_str(sys::kOfxImageClipPropOptional)) == Some(1),
                is_mask: c.props.int(ofx_str(sys::kOfxImageClipPropIsMask)) == Some(1),
                supported_components: c.supported_components(),
                temporal_access: c.props.int(ofx_str(sys::kOfxImageEffectPropTemporalClipAccess)) == Some(1),
            })
            .collect();
        let params = read(&desc.param_set.params).iter().map(|p| p.info()).collect();
        Ok(EffectDescription { plugin: entry.info.clone(), context, params, clips })
    }

    /// Creates an instance (CreateInstance; under MLT the plugin instance only exists
    /// inside each frame's cycle).
    pub fn create_instance(&self, id: &str, context: Context) -> Result<Instance, HostError> {
        let index = self.core.index(id)?;
        let desc = self.core.context_descriptor(index, context)?;
        Instance::create(self.core.clone(), index, context, &desc)
    }
}

#[cfg(test)]
impl Bundle {
    /// A bundle around an entry point inside this process: the unit tests' mock plugin.
    pub(crate) fn from_entry(entry: MainEntry, id: &str, profile: HostProfile) -> Bundle {
        let library = libloading::Library::from(libloading::os::unix::Library::this());
        let plugin = Arc::new(Plugin {
            id: id.into(),
            version: (1, 0),
            entry,
            profile,
            bundle_dir: PathBuf::from("/mock.ofx.bundle"),
            journal: Arc::new(Journal::default()),
            unsafe_render: Mutex::new(()),
            counted: AtomicBool::new(false),
            _library: Arc::new(library),
        });
        let plugins = Bundle::load_plugin(&plugin).expect("mock plugin loads").into_iter().collect();
        Bundle { core: Arc::new(BundleCore { profile, plugins }) }
    }
}

impl BundleCore {
    pub(crate) fn index(&self, id: &str) -> Result<usize, HostError> {
        let exact = self.plugins.iter().position(|p| p.info.id == id || p.info.short_name == id);
        let loose = || {
            self.plugins
                .iter()
                .position(|p| p.info.id.eq_ignore_ascii_case(id) || p.info.short_name.eq_ignore_ascii_case(id))
        };
        exact.or_else(loose).ok_or_else(|| HostError::UnknownPlugin {
            id: id.to_string(),
            available: self.plugins.iter().map(|p| format!("{} ({})", p.info.id, p.info.short_name)).collect(),
        })
    }

    /// The plugin's context descriptor, checking both sides support the context.
    pub(crate) fn context_descriptor(&self, index: usize, context: Context) -> Result<Arc<Effect>, HostError> {
        let entry = &self.plugins[index];
        if !entry.info.contexts.contains(&context) {
            return Err(HostError::UnsupportedContext {
                plugin: entry.info.id.clone(),
                context: context.ofx_name().to_string(),
                supported: entry.info.contexts.iter().map(|c| c.ofx_name().to_string()).collect(),
            });
        }
        match &entry.main {
            Some(main) => {
                let mut cache = lock(&entry.contexts);
                if let Some(desc) = cache.get(&context) {
                    return Ok(desc.clone());
                }
                let desc = describe_in_context(main, context)?;
                cache.insert(context, desc.clone());
                Ok(desc)
            }
            None => describe(&entry.plugin).and_then(|main| describe_in_context(&main, context)),
        }
    }

    pub(crate) fn plugin(&self, index: usize) -> &Arc<Plugin> {
        &self.plugins[index].plugin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kebab_case_of_the_last_part() {
        assert_eq!(short_name("org.deepmatte.LumaMatteExtract"), "luma-matte-extract");
        assert_eq!(short_name("org.deepmatte.DepthMap"), "depth-map");
        assert_eq!(short_name("org.deepmatte.SAM2Tracker"), "sam2-tracker");
        assert_eq!(short_name("net.sf.openfx.Blur_CImg"), "blur-c-img");
        assert_eq!(short_name("plain"), "plain");
    }

    #[test]
    fn a_library_that_is_no_plugin_names_the_missing_entry_point() {
        let dir = std::env::temp_dir().join(format!("ofx-host-notaplugin-{}", std::process::id()));
        let bundle = dir.join("NotAPlugin.ofx.bundle");
        let bin_dir = bundle.join("Contents/Linux-x86-64");
        std::fs::create_dir_all(&bin_dir).unwrap();
        std::fs::copy("/lib/x86_64-linux-gnu/libm.so.6", bin_dir.join("NotAPlugin.ofx")).unwrap();
        let text = Bundle::load(&bundle, HostProfile::Generic).err().unwrap().to_string();
        assert!(text.contains("OfxGetNumberOfPlugins") && text.contains("NotAPlugin.ofx"), "{text}");
    }

    #[test]
    fn missing_binaries_name_the_expected_path() {
        let err = Bundle::load(Path::new("/nonexistent/DeepMatte.ofx.bundle"), HostProfile::Generic).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/DeepMatte.ofx.bundle/Contents/Linux-x86-64/DeepMatte.ofx"), "{text}");
    }
}
