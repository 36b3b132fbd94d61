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
    /// MLT (Shotcut, Kdenlive): a whole Load…Unload cycle per frame, no temporal access,
    /// clip formats unset during CreateInstance, negative row bytes, no progress or abort.
    Mlt,
}

pub(crate) const ALL: [HostProfile; 6] =
    [HostProfile::Generic, HostProfile::Resolve, HostProfile::ResolveCuda, HostProfile::Nuke, HostProfile::Natron, HostProfile::Mlt];

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
            HostProfile::Natron => "fr.inria.Natron",
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
            HostProfile::Mlt => "MLT",
        }
    }

    fn version(self) -> [i32; 3] {
        match self {
            HostProfile::Generic => [1, 0, 0],
            HostProfile::Resolve | HostProfile::ResolveCuda => [19, 1, 0],
            HostProfile::Nuke => [15, 1, 0],
            HostProfile::Natron => [2, 5, 0],
            HostProfile::Mlt => [7, 28, 0],
        }
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
        matches!(self, HostProfile::Generic | HostProfile::Nuke | HostProfile::Natron)
    }

    /// How many horizontal strips a render is split into by default.
    pub(crate) fn default_tiles(self) -> usize {
        match self {
            HostProfile::Nuke => 4,
            HostProfile::Natron => 3,
            _ => 1,
        }
    }

    /// Whether render scales other than 1 are supported.
    pub fn supports_multi_resolution(self) -> bool {
        matches!(self, HostProfile::Generic | HostProfile::Nuke | HostProfile::Natron)
    }

    /// Whether images at other times than the render time can be fetched.
    pub fn supports_temporal_access(self) -> bool {
        self != HostProfile::Mlt
    }

    /// Whether overlay interacts are drawn.
    pub fn supports_overlays(self) -> bool {
        self != HostProfile::Mlt
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

    /// MLT runs Load → … → Unload around every frame.
    pub(crate) fn cycles_per_frame(self) -> bool {
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
        p.set_ints(ofx_str(sys::kOfxPropAPIVersion), &[1, 4]);
        p.set_ints(ofx_str(sys::kOfxPropVersion), &self.version());
        let v = self.version();
        p.set_str(ofx_str(sys::kOfxPropVersionLabel), &format!("{}.{}.{}", v[0], v[1], v[2]));
        p.set_ptr(ofx_str(sys::kOfxPropHostOSHandle), 0);
        p.set_int(ofx_str(sys::kOfxImageEffectHostPropIsBackground), yes(self == HostProfile::Mlt));
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
        let multi_depth = matches!(self, HostProfile::Generic | HostProfile::Natron);
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
        if self == HostProfile::Natron {
            p.set_int("NatronOfxHostIsNatron", 1);
        }
        p
    }
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
        assert!(Arc::ptr_eq(&HostProfile::Natron.properties(), &HostProfile::Natron.properties()));
    }
}
