//! Host profiles: what each real host reports and the quirks it has (see
//! `shared/HOSTS.md`), so one plugin binary can be checked against all of them.

use crate::image::{BitDepth, Components};
use crate::ofx_str;
use crate::properties::PropertySet;
use openfx_sys as sys;
use std::sync::{Arc, LazyLock};

/// Which host to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostProfile {
    /// Everything supported, no quirks: bounds at (0, 0), positive row bytes, one tile.
    Generic,
    /// DaVinci Resolve: no tiles, no multi-resolution, every clip "connected" (unset ones
    /// give NULL images), doubles without a display range clamped to (-1, 1).
    Resolve,
    /// DaVinci Resolve rendering on CUDA: Resolve's quirks, and for a plugin that declares CUDA
    /// render, packed RGBA float images in device memory, `kOfxImageEffectPropCudaEnabled` = 1 and
    /// a stream in `kOfxImageEffectPropCudaStream`; the output is read back once the stream is done.
    /// Loading a bundle fails on a machine without a CUDA device.
    ResolveCuda,
    /// Nuke: float RGBA only, renders in horizontal strips.
    Nuke,
    /// Natron: tiles, RGB inputs converted to RGBA unless the plugin declares RGB.
    Natron,
    /// NatronRenderer, Natron's headless renderer: Natron in the background
    /// (`kOfxImageEffectHostPropIsBackground` = 1), which shows persistent messages nowhere —
    /// only ordinary messages reach the user (its console) — and draws no overlays.
    NatronRenderer,
    /// MLT 7.41 (Shotcut, Kdenlive): Load once, then Describe → CreateInstance → Render →
    /// DestroyInstance for every frame; choices set by label (unknown text = the default);
    /// no secret parameters, push buttons or InstanceChanged; output forced to straight alpha;
    /// no temporal access, clip formats unset during CreateInstance, negative row bytes, no
    /// progress or abort; OFX API 1.5.
    Mlt,
}

/// Every profile.
pub(crate) const ALL: [HostProfile; 7] = [
    HostProfile::Generic,
    HostProfile::Resolve,
    HostProfile::ResolveCuda,
    HostProfile::Nuke,
    HostProfile::Natron,
    HostProfile::NatronRenderer,
    HostProfile::Mlt,
];

/// Resolve does not know these effect properties (setting them fails with ErrUnknown).
const RESOLVE_EFFECT_UNKNOWN: &[&str] = &[ofx_str(sys::kOfxImageEffectInstancePropSequentialRender)];
/// Resolve does not support normalised default coordinates.
const RESOLVE_PARAM_UNKNOWN: &[&str] = &[ofx_str(sys::kOfxParamPropDefaultCoordinateSystem)];

impl HostProfile {
    /// `kOfxPropName` of the host, which plugins test to enable workarounds.
    pub fn host_name(self) -> &'static str {
        match self {
            HostProfile::Generic => "org.deepmatte.ofxhost",
            HostProfile::Resolve | HostProfile::ResolveCuda => "DaVinciResolve",
            HostProfile::Nuke => "uk.co.thefoundry.nuke",
            HostProfile::Natron | HostProfile::NatronRenderer => "fr.inria.Natron",
            HostProfile::Mlt => "MLT",
        }
    }

    /// `kOfxPropLabel` of the host.
    pub fn label(self) -> &'static str {
        match self {
            HostProfile::Generic => "DeepMatte headless host",
            HostProfile::Resolve => "DaVinci Resolve",
            HostProfile::ResolveCuda => "DaVinci Resolve (CUDA)",
            HostProfile::Nuke => "Nuke",
            HostProfile::Natron => "Natron",
            HostProfile::NatronRenderer => "NatronRenderer",
            HostProfile::Mlt => "MLT",
        }
    }

    fn version(self) -> [i32; 3] {
        match self {
            HostProfile::Generic => [1, 0, 0],
            HostProfile::Resolve | HostProfile::ResolveCuda => [19, 1, 0],
            HostProfile::Nuke => [15, 1, 0],
            HostProfile::Natron | HostProfile::NatronRenderer => [2, 5, 0],
            HostProfile::Mlt => [7, 41, 0],
        }
    }

    /// Natron, with or without its user interface.
    fn is_natron(self) -> bool {
        matches!(self, HostProfile::Natron | HostProfile::NatronRenderer)
    }

    /// A renderer without a user interface (`kOfxImageEffectHostPropIsBackground`).
    pub fn is_background(self) -> bool {
        matches!(self, HostProfile::NatronRenderer | HostProfile::Mlt)
    }

    /// Whether persistent messages reach the user (NatronRenderer shows only ordinary ones).
    pub fn shows_persistent_messages(self) -> bool {
        self != HostProfile::NatronRenderer
    }

    /// Resolve, with or without CUDA render: the same quirks.
    pub fn is_resolve(self) -> bool {
        matches!(self, HostProfile::Resolve | HostProfile::ResolveCuda)
    }

    /// Whether the host hands CUDA-capable plugins device images.
    pub fn cuda(self) -> bool {
        self == HostProfile::ResolveCuda
    }

    /// Whether the host renders in tiles at all.
    pub fn supports_tiles(self) -> bool {
        self.is_natron() || matches!(self, HostProfile::Generic | HostProfile::Nuke)
    }

    /// How many horizontal strips a render is split into by default.
    pub(crate) fn default_tiles(self) -> usize {
        match self {
            HostProfile::Nuke => 4,
            HostProfile::Natron | HostProfile::NatronRenderer => 3,
            _ => 1,
        }
    }

    /// Whether render scales other than 1 are supported.
    pub fn supports_multi_resolution(self) -> bool {
        self.is_natron() || matches!(self, HostProfile::Generic | HostProfile::Nuke)
    }

    /// Whether images at other times than the render time can be fetched.
    pub fn supports_temporal_access(self) -> bool {
        self != HostProfile::Mlt
    }

    /// Whether overlay interacts are drawn.
    pub fn supports_overlays(self) -> bool {
        !matches!(self, HostProfile::Mlt | HostProfile::NatronRenderer)
    }

    /// Contexts the host can instantiate effects in.
    pub(crate) fn contexts(self) -> Vec<&'static str> {
        let all = [
            ofx_str(sys::kOfxImageEffectContextFilter),
            ofx_str(sys::kOfxImageEffectContextGeneral),
            ofx_str(sys::kOfxImageEffectContextGenerator),
            ofx_str(sys::kOfxImageEffectContextTransition),
        ];
        match self {
            HostProfile::Mlt => all[..1].to_vec(),
            HostProfile::Nuke => all[..3].to_vec(),
            _ => all.to_vec(),
        }
    }

    /// Pixel depths the host can hand over, deepest last.
    pub(crate) fn depths(self) -> &'static [BitDepth] {
        match self {
            HostProfile::Nuke => &[BitDepth::F32],
            _ => &[BitDepth::U8, BitDepth::U16, BitDepth::F32],
        }
    }

    /// Component layouts the host can hand over.
    pub(crate) fn components(self) -> &'static [Components] {
        match self {
            HostProfile::Resolve | HostProfile::ResolveCuda => &[Components::Rgba, Components::Alpha],
            HostProfile::Mlt => &[Components::Rgba, Components::Rgb],
            HostProfile::Nuke => &[Components::Rgba, Components::Alpha],
            _ => &[Components::Rgba, Components::Rgb, Components::Alpha],
        }
    }

    /// Resolve reports every declared clip as connected.
    pub(crate) fn all_clips_connected(self) -> bool {
        self.is_resolve()
    }

    /// Resolve clamps parameters without a display range to (-1, 1) (integers to 0).
    pub(crate) fn clamps_missing_display_range(self) -> bool {
        self.is_resolve()
    }

    /// MLT creates and destroys the instance around every frame (after one Load for the
    /// process: its frame-threaded mode).
    pub(crate) fn cycles_per_frame(self) -> bool {
        self == HostProfile::Mlt
    }

    /// `kOfxPropAPIVersion`: MLT 7.41 reports OFX 1.5, the others 1.4.
    pub fn api_version(self) -> [i32; 2] {
        if self == HostProfile::Mlt {
            [1, 5]
        } else {
            [1, 4]
        }
    }

    /// MLT maps every parameter to a property holding text; a choice is matched against its
    /// labels (exactly), and text that matches none silently selects the default.
    pub fn choices_by_label(self) -> bool {
        self == HostProfile::Mlt
    }

    /// MLT drops secret parameters from its property mapping: they cannot be set.
    pub fn supports_secret_params(self) -> bool {
        self != HostProfile::Mlt
    }

    /// MLT has no push buttons and never sends InstanceChanged.
    pub fn supports_push_buttons(self) -> bool {
        self != HostProfile::Mlt
    }

    /// MLT never sends Begin/InstanceChanged/End (not for parameters, not for clips).
    pub(crate) fn sends_instance_changed(self) -> bool {
        self != HostProfile::Mlt
    }

    /// MLT composites the output as straight alpha whatever the plugin asks for.
    pub(crate) fn forces_straight_output(self) -> bool {
        self == HostProfile::Mlt
    }

    /// MLT hands over images with negative row bytes.
    pub(crate) fn negative_row_bytes(self) -> bool {
        self == HostProfile::Mlt
    }

    /// MLT ignores progress calls and never signals abort.
    pub(crate) fn has_progress(self) -> bool {
        self != HostProfile::Mlt
    }

    /// Effect properties this host does not know.
    pub(crate) fn unknown_effect_props(self) -> &'static [&'static str] {
        if self.is_resolve() {
            RESOLVE_EFFECT_UNKNOWN
        } else {
            &[]
        }
    }

    /// Parameter properties this host does not know.
    pub(crate) fn unknown_param_props(self) -> &'static [&'static str] {
        if self.is_resolve() {
            RESOLVE_PARAM_UNKNOWN
        } else {
            &[]
        }
    }

    /// The host property set (`OfxHost::host`), one per profile for the process's life.
    pub(crate) fn properties(self) -> Arc<PropertySet> {
        static SETS: LazyLock<Vec<Arc<PropertySet>>> =
            LazyLock::new(|| ALL.iter().map(|p| p.build_properties()).collect());
        SETS[ALL.iter().position(|p| *p == self).unwrap_or(0)].clone()
    }

    fn build_properties(self) -> Arc<PropertySet> {
        let p = PropertySet::new(self.unknown_effect_props());
        let yes = |b: bool| b as i32;
        p.set_str(ofx_str(sys::kOfxPropType), ofx_str(sys::kOfxTypeImageEffectHost));
        p.set_str(ofx_str(sys::kOfxPropName), self.host_name());
        p.set_str(ofx_str(sys::kOfxPropLabel), self.label());
        p.set_ints(ofx_str(sys::kOfxPropAPIVersion), &self.api_version());
        p.set_ints(ofx_str(sys::kOfxPropVersion), &self.version());
        let v = self.version();
        p.set_str(ofx_str(sys::kOfxPropVersionLabel), &format!("{}.{}.{}", v[0], v[1], v[2]));
        p.set_ptr(ofx_str(sys::kOfxPropHostOSHandle), 0);
        p.set_int(ofx_str(sys::kOfxImageEffectHostPropIsBackground), yes(self.is_background()));
        p.set_int(ofx_str(sys::kOfxImageEffectPropSupportsOverlays), yes(self.supports_overlays()));
        p.set_int(ofx_str(sys::kOfxImageEffectPropSupportsMultiResolution), yes(self.supports_multi_resolution()));
        p.set_int(ofx_str(sys::kOfxImageEffectPropSupportsTiles), yes(self.supports_tiles()));
        p.set_int(ofx_str(sys::kOfxImageEffectPropTemporalClipAccess), yes(self.supports_temporal_access()));
        p.set_strs(
            ofx_str(sys::kOfxImageEffectPropSupportedComponents),
            &self.components().iter().map(|c| c.ofx_name()).collect::<Vec<_>>(),
        );
        p.set_strs(ofx_str(sys::kOfxImageEffectPropSupportedContexts), &self.contexts());
        p.set_strs(
            ofx_str(sys::kOfxImageEffectPropSupportedPixelDepths),
            &self.depths().iter().map(|d| d.ofx_name()).collect::<Vec<_>>(),
        );
        let multi_depth = self.is_natron() || self == HostProfile::Generic;
        p.set_int(ofx_str(sys::kOfxImageEffectPropSupportsMultipleClipDepths), yes(multi_depth));
        p.set_int(ofx_str(sys::kOfxImageEffectPropSupportsMultipleClipPARs), 0);
        p.set_int(ofx_str(sys::kOfxImageEffectPropSetableFrameRate), 0);
        p.set_int(ofx_str(sys::kOfxImageEffectPropSetableFielding), 0);
        p.set_str(ofx_str(sys::kOfxImageEffectHostPropNativeOrigin), "kOfxHostNativeOriginBottomLeft");
        let custom_interact = matches!(self, HostProfile::Generic | HostProfile::Nuke | HostProfile::Natron);
        p.set_int(ofx_str(sys::kOfxParamHostPropSupportsCustomInteract), yes(custom_interact));
        p.set_int(ofx_str(sys::kOfxParamHostPropSupportsStringAnimation), 0);
        p.set_int(ofx_str(sys::kOfxParamHostPropSupportsChoiceAnimation), 1);
        p.set_int(ofx_str(sys::kOfxParamHostPropSupportsBooleanAnimation), 1);
        p.set_int(ofx_str(sys::kOfxParamHostPropSupportsCustomAnimation), 0);
        p.set_int(ofx_str(sys::kOfxParamHostPropSupportsParametricAnimation), 0);
        p.set_int(ofx_str(sys::kOfxParamHostPropMaxParameters), -1);
        p.set_int(ofx_str(sys::kOfxParamHostPropMaxPages), 0);
        p.set_ints(ofx_str(sys::kOfxParamHostPropPageRowColumnCount), &[0, 0]);
        p.set_str(ofx_str(sys::kOfxImageEffectPropOpenGLRenderSupported), "false");
        p.set_int(ofx_str(sys::kOfxImageEffectPropRenderQualityDraft), 0);
        if !self.is_resolve() {
            // Resolve lacks it; elsewhere 1 = "may render sequentially when asked".
            p.set_int(ofx_str(sys::kOfxImageEffectInstancePropSequentialRender), 1);
        }
        if self.is_resolve() {
            // Plain Resolve stands for Resolve on a machine without CUDA; resolve-cuda has it.
            let cuda = if self.cuda() { "true" } else { "false" };
            p.set_str(ofx_str(sys::kOfxImageEffectPropCudaRenderSupported), cuda);
            p.set_str(ofx_str(sys::kOfxImageEffectPropCudaStreamSupported), cuda);
        }
        if self.is_natron() {
            p.set_int("NatronOfxHostIsNatron", 1);
        }
        p
    }
}

/// The host property set as seen by the plugin action running on this thread.
///
/// Bundles of one path share one copy of the plugin binary, which keeps only the latest
/// `setHost`; tests run bundles of several profiles side by side in one process. So a read of
/// any profile's host property set during an action answers for the profile of the plugin that
/// action was sent to, as if each host ran alone (as real hosts do, one per process).
pub(crate) fn host_props_for_caller(set: Arc<PropertySet>) -> Arc<PropertySet> {
    let Some(profile) = crate::actions::current().and_then(|f| f.effect).map(|e| e.plugin.profile) else {
        return set;
    };
    let mine = profile.properties();
    if Arc::ptr_eq(&set, &mine) || !ALL.iter().any(|p| Arc::ptr_eq(&set, &p.properties())) {
        return set;
    }
    mine
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_properties_follow_the_profile() {
        let resolve = HostProfile::Resolve.properties();
        assert_eq!(resolve.str(ofx_str(sys::kOfxPropName)).unwrap(), "DaVinciResolve");
        assert_eq!(resolve.int(ofx_str(sys::kOfxImageEffectPropSupportsTiles)), Some(0));
        assert_eq!(
            resolve.get_int(ofx_str(sys::kOfxImageEffectInstancePropSequentialRender), 0),
            Err(crate::status::ERR_UNKNOWN)
        );
        let nuke = HostProfile::Nuke.properties();
        assert_eq!(nuke.strs(ofx_str(sys::kOfxImageEffectPropSupportedPixelDepths)), vec!["OfxBitDepthFloat"]);
        let mlt = HostProfile::Mlt.properties();
        assert_eq!(mlt.strs(ofx_str(sys::kOfxImageEffectPropSupportedContexts)), vec!["OfxImageEffectContextFilter"]);
        assert_eq!(mlt.int(ofx_str(sys::kOfxImageEffectPropTemporalClipAccess)), Some(0));
        assert_eq!(mlt.numbers(ofx_str(sys::kOfxPropAPIVersion)), vec![1.0, 5.0]);
        assert_eq!(mlt.numbers(ofx_str(sys::kOfxPropVersion)), vec![7.0, 41.0, 0.0]);
        assert_eq!(resolve.numbers(ofx_str(sys::kOfxPropAPIVersion)), vec![1.0, 4.0]);
        assert!(Arc::ptr_eq(&HostProfile::Natron.properties(), &HostProfile::Natron.properties()));
    }
}
