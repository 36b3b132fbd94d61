//! The host-side objects behind the plugin's handles: a loaded plugin, image effects
//! (descriptors and instances), their clips, parameter sets and parameters, with the
//! default properties OFX gives each.

use crate::actions::MainEntry;
use crate::image::{BitDepth, Components};
use crate::instance::ClipSource;
use crate::journal::Journal;
use crate::ofx_str;
use crate::params::{Curve, ParamInfo, ParamKind, ParamValue, Storage};
use crate::profile::HostProfile;
use crate::properties::{PropertySet, Values};
use crate::registry::{register, Handle, Object};
use crate::render::RenderCtx;
use crate::status::{self, OfxStatus};
use openfx_sys as sys;
use std::collections::HashMap;
use std::ffi::{c_char, CString};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, RwLock, Weak};

/// The property holding a choice's stable option ids (set by DeepMatte's plugin side).
pub(crate) const CHOICE_IDS: &str = "DeepMatteParamPropChoiceIds";

pub(crate) fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One plugin of a loaded binary.
pub(crate) struct Plugin {
    pub id: String,
    pub version: (u32, u32),
    pub entry: MainEntry,
    pub profile: HostProfile,
    pub bundle_dir: PathBuf,
    /// Messages posted while loading and describing.
    pub journal: Arc<Journal>,
    /// Serialises every render of a plugin that declares `kOfxImageEffectRenderUnsafe`.
    pub unsafe_render: Mutex<()>,
    /// Whether this plugin holds one of the process-wide Load counts (sends Unload when last).
    pub counted: AtomicBool,
    /// Keeps the binary mapped while anything made from it lives.
    pub _library: Arc<libloading::Library>,
}

/// What an instance needs at run time (unused in descriptors).
#[derive(Default)]
pub(crate) struct Runtime {
    pub inputs: RwLock<HashMap<String, ClipSource>>,
    pub frame_range: RwLock<Option<(f64, f64)>>,
    pub time: Mutex<f64>,
    /// Images the plugin holds: handle → (render id, image).
    pub images: Mutex<HashMap<usize, (u64, Arc<PropertySet>)>>,
    /// True between CreateInstance and DestroyInstance.
    pub live: AtomicBool,
    /// Depth of host-sent InstanceChanged caused by the plugin's own edits.
    pub plugin_edits: AtomicUsize,
    /// Renders not on a host thread (the plugin's own pool) fall back to the latest one.
    pub last_render: Mutex<Option<Arc<RenderCtx>>>,
    /// Serialises renders of an instance-safe plugin.
    pub instance_render: Mutex<()>,
    /// How the inputs' pixels relate to canonical coordinates outside the render options.
    pub footage: Mutex<Footage>,
    /// Parameter kinds whose values this host cannot read (an incomplete host).
    pub unreadable: RwLock<Vec<ParamKind>>,
}

/// The inputs' pixel shape and the viewer's proxy scale, set per instance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Footage {
    /// `kOfxImagePropPixelAspectRatio` of every input and the output (2 for 2:1 anamorphic).
    pub pixel_aspect: f64,
    /// The render scale of calls outside a render (InstanceChanged, overlay): Nuke's and
    /// Natron's proxy mode hand images at this scale there.
    pub proxy_scale: (f64, f64),
}

impl Default for Footage {
    fn default() -> Self {
        Footage { pixel_aspect: 1.0, proxy_scale: (1.0, 1.0) }
    }
}

/// An image effect: a descriptor (per context) or an instance.
pub(crate) struct Effect {
    pub handle: Handle,
    pub props: Arc<PropertySet>,
    pub param_set: Arc<ParamSet>,
    pub clips: RwLock<Vec<Arc<Clip>>>,
    pub plugin: Arc<Plugin>,
    pub journal: Arc<Journal>,
    pub runtime: Runtime,
}

impl Effect {
    /// A new effect with the given properties and no clips or parameters.
    pub fn new(plugin: Arc<Plugin>, props: Arc<PropertySet>, journal: Arc<Journal>) -> Arc<Effect> {
        Arc::new_cyclic(|weak: &Weak<Effect>| Effect {
            handle: register(Object::Effect(weak.clone())),
            props,
            param_set: ParamSet::new(weak.clone(), plugin.profile),
            clips: RwLock::new(Vec::new()),
            plugin,
            journal,
            runtime: Runtime::default(),
        })
    }

    /// A descriptor: the properties every image effect starts with.
    pub fn descriptor(plugin: Arc<Plugin>, journal: Arc<Journal>) -> Arc<Effect> {
        let props = PropertySet::new(plugin.profile.unknown_effect_props());
        let p = &props;
        p.set_str(ofx_str(sys::kOfxPropType), ofx_str(sys::kOfxTypeImageEffect));
        for name in [sys::kOfxPropLabel as &[u8], sys::kOfxPropShortLabel, sys::kOfxPropLongLabel] {
            p.set_str(ofx_str(name), &plugin.id);
        }
        p.set_str(ofx_str(sys::kOfxPluginPropFilePath), &plugin.bundle_dir.to_string_lossy());
        p.set_ints(ofx_str(sys::kOfxPropVersion), &[plugin.version.0 as i32, plugin.version.1 as i32]);
        p.set_str(ofx_str(sys::kOfxPropVersionLabel), &format!("{}.{}", plugin.version.0, plugin.version.1));
        p.set_str(ofx_str(sys::kOfxPropPluginDescription), "");
        p.set_str(ofx_str(sys::kOfxImageEffectPluginPropGrouping), "");
        p.set_strs(ofx_str(sys::kOfxImageEffectPropSupportedContexts), &[]);
        p.set_strs(ofx_str(sys::kOfxImageEffectPropSupportedPixelDepths), &[]);
        p.set_int(ofx_str(sys::kOfxImageEffectPluginPropSingleInstance), 0);
        p.set_str(
            ofx_str(sys::kOfxImageEffectPluginRenderThreadSafety),
            ofx_str(sys::kOfxImageEffectRenderInstanceSafe),
        );
        p.set_int(ofx_str(sys::kOfxImageEffectPluginPropHostFrameThreading), 1);
        p.set_ptr(ofx_str(sys::kOfxImageEffectPluginPropOverlayInteractV1), 0);
        p.set_int(ofx_str(sys::kOfxImageEffectPropSupportsMultiResolution), 1);
        p.set_int(ofx_str(sys::kOfxImageEffectPropSupportsTiles), 1);
        p.set_int(ofx_str(sys::kOfxImageEffectPropTemporalClipAccess), 0);
        p.set_int(ofx_str(sys::kOfxImageEffectPluginPropFieldRenderTwiceAlways), 1);
        p.set_int(ofx_str(sys::kOfxImageEffectPropSupportsMultipleClipDepths), 0);
        p.set_int(ofx_str(sys::kOfxImageEffectPropSupportsMultipleClipPARs), 0);
        p.set_strs(ofx_str(sys::kOfxImageEffectPropClipPreferencesSlaveParam), &[]);
        p.set_str(ofx_str(sys::kOfxImageEffectPropOpenGLRenderSupported), "false");
        if !plugin.profile.is_resolve() {
            p.set_int(ofx_str(sys::kOfxImageEffectInstancePropSequentialRender), 0);
        }
        Effect::new(plugin, props, journal)
    }

    /// A context descriptor: the plugin-wide properties of `main` plus the context.
    pub fn for_context(main: &Effect, context: &str) -> Arc<Effect> {
        let props = PropertySet::from_values(main.props.snapshot(), main.props.unknown(), None);
        props.set_str(ofx_str(sys::kOfxImageEffectPropContext), context);
        Effect::new(main.plugin.clone(), props, main.journal.clone())
    }

    /// An instance of this context descriptor, with its own copies of clips and
    /// parameters (values at their defaults) and its own journal.
    pub fn instantiate(&self, inputs: &HashMap<String, ClipSource>, journal: Arc<Journal>) -> Arc<Effect> {
        let props = PropertySet::from_values(self.props.snapshot(), self.props.unknown(), None);
        props.set_int(ofx_str(sys::kOfxPropIsInteractive), 0);
        props.set_ptr(ofx_str(sys::kOfxPropInstanceData), 0);
        props.set_doubles(ofx_str(sys::kOfxImageEffectPropProjectSize), &[1920.0, 1080.0]);
        props.set_doubles(ofx_str(sys::kOfxImageEffectPropProjectExtent), &[1920.0, 1080.0]);
        props.set_doubles(ofx_str(sys::kOfxImageEffectPropProjectOffset), &[0.0, 0.0]);
        props.set_double(ofx_str(sys::kOfxImageEffectPropProjectPixelAspectRatio), 1.0);
        props.set_double(ofx_str(sys::kOfxImageEffectInstancePropEffectDuration), 1.0);
        props.set_double(ofx_str(sys::kOfxImageEffectPropFrameRate), 24.0);
        props.set_doubles(ofx_str(sys::kOfxImageEffectPropFrameRange), &[0.0, 0.0]);
        let effect = Effect::new(self.plugin.clone(), props, journal);
        for param in read(&self.param_set.params).iter() {
            effect.param_set.adopt(param);
        }
        for clip in read(&self.clips).iter() {
            let c = Clip::new(&effect, &clip.name, clip.props.snapshot());
            write(&effect.clips).push(c);
        }
        *write(&effect.runtime.inputs) = inputs.clone();
        effect
    }

    pub fn clip(&self, name: &str) -> Option<Arc<Clip>> {
        read(&self.clips).iter().find(|c| c.name == name).cloned()
    }

    pub fn clip_names(&self) -> Vec<String> {
        read(&self.clips).iter().map(|c| c.name.clone()).collect()
    }

    /// `clipDefine`.
    pub fn define_clip(self: &Arc<Self>, name: &str) -> Result<Arc<Clip>, OfxStatus> {
        if self.clip(name).is_some() {
            return Err(status::ERR_EXISTS);
        }
        let clip = Clip::new(self, name, clip_defaults(name));
        write(&self.clips).push(clip.clone());
        Ok(clip)
    }

    /// The string property of the effect (e.g. render thread safety).
    pub fn prop_str(&self, name: &[u8]) -> String {
        self.props.str(ofx_str_dyn(name)).unwrap_or_default()
    }

    /// The int property of the effect, with a fallback.
    pub fn prop_int(&self, name: &[u8], default: i32) -> i32 {
        self.props.int(ofx_str_dyn(name)).unwrap_or(default)
    }
}

/// `ofx_str` for constants passed by reference at run time.
pub(crate) fn ofx_str_dyn(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes.strip_suffix(&[0]).unwrap_or(bytes)).unwrap_or("")
}

/// A clip (input or output) of an effect.
pub(crate) struct Clip {
    pub handle: Handle,
    pub name: String,
    pub props: Arc<PropertySet>,
    pub effect: Weak<Effect>,
}

impl Clip {
    fn new(effect: &Arc<Effect>, name: &str, values: HashMap<String, Values>) -> Arc<Clip> {
        let props = PropertySet::from_values(values, &[], None);
        Arc::new_cyclic(|weak| Clip {
            handle: register(Object::Clip(weak.clone())),
            name: name.to_string(),
            props,
            effect: Arc::downgrade(effect),
        })
    }

    pub fn is_output(&self) -> bool {
        self.name == ofx_str(sys::kOfxImageEffectOutputClipName)
    }

    /// Component layouts the plugin accepts on this clip.
    pub fn supported_components(&self) -> Vec<Components> {
        let names = self.props.strs(ofx_str(sys::kOfxImageEffectPropSupportedComponents));
        names.iter().filter_map(|n| Components::from_ofx_name(n)).collect()
    }

    /// The format the host hands over on this clip, once clip preferences are known.
    pub fn format(&self) -> Option<(BitDepth, Components)> {
        let depth = BitDepth::from_ofx_name(&self.props.str(ofx_str(sys::kOfxImageEffectPropPixelDepth))?)?;
        let comps = Components::from_ofx_name(&self.props.str(ofx_str(sys::kOfxImageEffectPropComponents))?)?;
        Some((depth, comps))
    }
}

fn clip_defaults(name: &str) -> HashMap<String, Values> {
    let p = PropertySet::new(&[]);
    p.set_str(ofx_str(sys::kOfxPropType), ofx_str(sys::kOfxTypeClip));
    for key in [sys::kOfxPropName as &[u8], sys::kOfxPropLabel, sys::kOfxPropShortLabel, sys::kOfxPropLongLabel] {
        p.set_str(ofx_str(key), name);
    }
    p.set_strs(ofx_str(sys::kOfxImageEffectPropSupportedComponents), &[]);
    p.set_int(ofx_str(sys::kOfxImageEffectPropTemporalClipAccess), 0);
    p.set_int(ofx_str(sys::kOfxImageClipPropOptional), 0);
    p.set_int(ofx_str(sys::kOfxImageClipPropIsMask), 0);
    p.set_str(ofx_str(sys::kOfxImageClipPropFieldExtraction), ofx_str(sys::kOfxImageFieldDoubled));
    p.set_int(ofx_str(sys::kOfxImageEffectPropSupportsTiles), 1);
    p.snapshot()
}

/// The parameters of an effect.
pub(crate) struct ParamSet {
    pub handle: Handle,
    pub props: Arc<PropertySet>,
    pub params: RwLock<Vec<Arc<Param>>>,
    pub effect: Weak<Effect>,
    profile: HostProfile,
}

impl ParamSet {
    pub(crate) fn new(effect: Weak<Effect>, profile: HostProfile) -> Arc<ParamSet> {
        Arc::new_cyclic(|weak| ParamSet {
            handle: register(Object::ParamSet(weak.clone())),
            props: PropertySet::new(&[]),
            params: RwLock::new(Vec::new()),
            effect,
            profile,
        })
    }

    pub fn get(&self, name: &str) -> Option<Arc<Param>> {
        read(&self.params).iter().find(|p| p.name == name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        read(&self.params).iter().map(|p| p.name.clone()).collect()
    }

    /// `paramDefine`.
    pub fn define(self: &Arc<Self>, kind: ParamKind, name: &str) -> Result<Arc<Param>, OfxStatus> {
        if self.get(name).is_some() {
            return Err(status::ERR_EXISTS);
        }
        let props = PropertySet::from_values(param_defaults(kind, name), self.profile.unknown_param_props(), None);
        let param = Param::new(self, kind, name, props);
        write(&self.params).push(param.clone());
        Ok(param)
    }

    /// Adds an instance copy of a descriptor's parameter, valued at its default.
    fn adopt(self: &Arc<Self>, desc: &Param) {
        let props = PropertySet::from_values(desc.props.snapshot(), desc.props.unknown(), None);
        let param = Param::new(self, desc.kind, &desc.name, props);
        let default = param.clamped(param.info().default);
        *write(&param.curve) = Curve::constant(default);
        write(&self.params).push(param);
    }
}

/// One parameter: its properties and its value curve.
pub(crate) struct Param {
    pub handle: Handle,
    pub name: String,
    pub kind: ParamKind,
    pub props: Arc<PropertySet>,
    pub curve: RwLock<Curve>,
    /// C copies of string values handed to the plugin (valid for the parameter's life).
    texts: Mutex<HashMap<String, CString>>,
    pub set: Weak<ParamSet>,
}

impl Param {
    fn new(set: &Arc<ParamSet>, kind: ParamKind, name: &str, props: Arc<PropertySet>) -> Arc<Param> {
        Arc::new_cyclic(|weak| Param {
            handle: register(Object::Param(weak.clone())),
            name: name.to_string(),
            kind,
            props,
            curve: RwLock::new(Curve::constant(kind.zero())),
            texts: Mutex::new(HashMap::new()),
            set: Arc::downgrade(set),
        })
    }

    pub fn effect(&self) -> Option<Arc<Effect>> {
        self.set.upgrade()?.effect.upgrade()
    }

    /// The declaration as the plugin left it in the properties.
    pub fn info(&self) -> ParamInfo {
        let p = &self.props;
        let numeric = matches!(self.kind.storage(), Storage::Double | Storage::Int);
        let nums = |key: &[u8]| if numeric { p.numbers(ofx_str_dyn(key)) } else { Vec::new() };
        let default_text = p.str(ofx_str(sys::kOfxParamPropDefault)).unwrap_or_default();
        ParamInfo {
            name: self.name.clone(),
            label: p.str(ofx_str(sys::kOfxPropLabel)).unwrap_or_default(),
            hint: p.str(ofx_str(sys::kOfxParamPropHint)).unwrap_or_default(),
            kind: self.kind,
            default: self.kind.value_from(&p.numbers(ofx_str(sys::kOfxParamPropDefault)), &default_text),
            min: nums(sys::kOfxParamPropMin),
            max: nums(sys::kOfxParamPropMax),
            display_min: nums(sys::kOfxParamPropDisplayMin),
            display_max: nums(sys::kOfxParamPropDisplayMax),
            animates: p.int(ofx_str(sys::kOfxParamPropAnimates)) == Some(1),
            parent: p.str(ofx_str(sys::kOfxParamPropParent)).filter(|s| !s.is_empty()),
            secret: p.int(ofx_str(sys::kOfxParamPropSecret)) == Some(1),
            choice_ids: p.strs(CHOICE_IDS),
            choice_labels: p.strs(ofx_str(sys::kOfxParamPropChoiceOption)),
            string_mode: if self.kind == ParamKind::String {
                p.str(ofx_str(sys::kOfxParamPropStringMode)).unwrap_or_default()
            } else {
                String::new()
            },
        }
    }

    /// True when Resolve would clamp this parameter to (-1, 1) / 0 for lack of a display range.
    pub fn lacks_display_range(&self) -> bool {
        let info = self.info();
        let huge = |v: &[f64]| v.is_empty() || v.iter().any(|x| x.abs() >= i32::MAX as f64);
        matches!(self.kind.storage(), Storage::Double | Storage::Int)
            && !matches!(self.kind, ParamKind::Boolean | ParamKind::Choice | ParamKind::Rgb | ParamKind::Rgba)
            && (huge(&info.display_min) || huge(&info.display_max))
    }

    /// A value limited to `[min, max]` and, under Resolve, to the range it imposes on
    /// parameters without a display range.
    pub fn clamped(&self, value: ParamValue) -> ParamValue {
        let info = self.info();
        let mut v = value.numbers();
        if v.is_empty() || matches!(self.kind, ParamKind::Boolean | ParamKind::Choice) {
            return value;
        }
        for (i, x) in v.iter_mut().enumerate() {
            *x = x.max(info.min.get(i).copied().unwrap_or(f64::MIN)).min(info.max.get(i).copied().unwrap_or(f64::MAX));
        }
        let profile = self.set.upgrade().map(|s| s.profile);
        if profile.is_some_and(|p| p.clamps_missing_display_range()) && self.lacks_display_range() {
            let limit = if self.kind.storage() == Storage::Int { 0.0 } else { 1.0 };
            v.iter_mut().for_each(|x| *x = x.clamp(-limit, limit));
        }
        self.kind.value_from(&v, value.text())
    }

    /// Mirrors the curve's keys into `kOfxParamPropIsAnimating`.
    pub fn sync_animating(&self) {
        let animating = !read(&self.curve).keys.is_empty();
        self.props.set_int(ofx_str(sys::kOfxParamPropIsAnimating), animating as i32);
    }

    pub fn value_at(&self, time: f64) -> ParamValue {
        read(&self.curve).at(time)
    }

    /// A C string for `text` that stays valid while the parameter lives.
    pub fn text_ptr(&self, text: &str) -> *const c_char {
        let mut texts = lock(&self.texts);
        let c =
            texts.entry(text.to_string()).or_insert_with(|| CString::new(text.replace('\0', "")).unwrap_or_default());
        c.as_ptr()
    }
}

/// The properties a freshly defined parameter of `kind` has (HostSupport's table).
fn param_defaults(kind: ParamKind, name: &str) -> HashMap<String, Values> {
    let p = PropertySet::new(&[]);
    p.set_str(ofx_str(sys::kOfxPropType), ofx_str(sys::kOfxTypeParameter));
    p.set_str(ofx_str(sys::kOfxParamPropType), kind.ofx_type());
    for key in [
        sys::kOfxPropName as &[u8],
        sys::kOfxPropLabel,
        sys::kOfxPropShortLabel,
        sys::kOfxPropLongLabel,
        sys::kOfxParamPropScriptName,
    ] {
        p.set_str(ofx_str(key), name);
    }
    p.set_int(ofx_str(sys::kOfxParamPropSecret), 0);
    p.set_int(ofx_str(sys::kOfxParamPropEnabled), 1);
    p.set_str(ofx_str(sys::kOfxParamPropHint), "");
    p.set_str(ofx_str(sys::kOfxParamPropParent), "");
    p.set_ptr(ofx_str(sys::kOfxParamPropDataPtr), 0);
    p.set_ptr(ofx_str(sys::kOfxParamPropInteractV1), 0);
    let dims = kind.dims();
    match kind.storage() {
        Storage::None => {
            if kind == ParamKind::Page {
                p.set_strs(ofx_str(sys::kOfxParamPropPageChild), &[]);
            }
            if kind == ParamKind::Group {
                p.set_int(ofx_str(sys::kOfxParamPropGroupOpen), 1);
            }
            return p.snapshot();
        }
        Storage::Text => {
            p.set_str(ofx_str(sys::kOfxParamPropDefault), "");
            p.set_str(ofx_str(sys::kOfxParamPropStringMode), ofx_str(sys::kOfxParamStringIsSingleLine));
            p.set_int(ofx_str(sys::kOfxParamPropStringFilePathExists), 1);
        }
        Storage::Int => {
            let (lo, hi) = match kind {
                ParamKind::Boolean => (0, 1),
                ParamKind::Choice => (0, i32::MAX),
                _ => (i32::MIN, i32::MAX),
            };
            p.set_ints(ofx_str(sys::kOfxParamPropDefault), &vec![0; dims]);
            for (key, v) in [
                (sys::kOfxParamPropMin as &[u8], lo),
                (sys::kOfxParamPropDisplayMin, lo),
                (sys::kOfxParamPropMax, hi),
                (sys::kOfxParamPropDisplayMax, hi),
            ] {
                p.set_ints(ofx_str(key), &vec![v; dims]);
            }
            if kind == ParamKind::Choice {
                p.set_strs(ofx_str(sys::kOfxParamPropChoiceOption), &[]);
            }
        }
        Storage::Double => {
            let colour = matches!(kind, ParamKind::Rgb | ParamKind::Rgba);
            let (dlo, dhi) = if colour { (0.0, 1.0) } else { (-f64::MAX, f64::MAX) };
            p.set_doubles(ofx_str(sys::kOfxParamPropDefault), &vec![0.0; dims]);
            p.set_doubles(ofx_str(sys::kOfxParamPropMin), &vec![-f64::MAX; dims]);
            p.set_doubles(ofx_str(sys::kOfxParamPropMax), &vec![f64::MAX; dims]);
            p.set_doubles(ofx_str(sys::kOfxParamPropDisplayMin), &vec![dlo; dims]);
            p.set_doubles(ofx_str(sys::kOfxParamPropDisplayMax), &vec![dhi; dims]);
            if !colour {
                p.set_double(ofx_str(sys::kOfxParamPropIncrement), 1.0);
                p.set_int(ofx_str(sys::kOfxParamPropDigits), 2);
                p.set_str(ofx_str(sys::kOfxParamPropDoubleType), ofx_str(sys::kOfxParamDoubleTypePlain));
                p.set_str(
                    ofx_str(sys::kOfxParamPropDefaultCoordinateSystem),
                    ofx_str(sys::kOfxParamCoordinatesCanonical),
                );
            }
        }
    }
    p.set_int(ofx_str(sys::kOfxParamPropAnimates), kind.animatable() as i32);
    p.set_int(ofx_str(sys::kOfxParamPropIsAnimating), 0);
    p.set_int(ofx_str(sys::kOfxParamPropIsAutoKeying), 0);
    p.set_int(ofx_str(sys::kOfxParamPropPersistant), 1);
    p.set_int(ofx_str(sys::kOfxParamPropEvaluateOnChange), 1);
    p.set_int(ofx_str(sys::kOfxParamPropCanUndo), 1);
    p.set_str(ofx_str(sys::kOfxParamPropCacheInvalidation), ofx_str(sys::kOfxParamInvalidateValueChange));
    p.snapshot()
}
