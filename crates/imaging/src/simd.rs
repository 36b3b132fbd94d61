//! The widest SIMD the CPU running the plugin has, for the loops that are arithmetic-bound (Luma
//! Matte Extract's gamma). The binaries target the x86-64 baseline (SSE2, 4 floats a step) so
//! they load in every host; [`widest`] runs a loop compiled again with AVX-512 (16 floats a step)
//! or AVX2 (8) enabled where the CPU has it, chosen once at run time by `pulp`, which keeps the
//! `unsafe` of a `target_feature` call inside itself. The operations are the same IEEE ones in the
//! same order (Rust never contracts a·b+c into an FMA), so all give the same bits; only speed
//! differs. [`widest_fused`] is for loops that may use fused multiply-adds where the instruction
//! set has them (every one `widest` picks over the baseline), which round once instead of twice:
//! their results may differ in the last bit between a CPU with AVX2 and one without.

/// Runs `f` compiled for the widest instruction set available. `f` and what it calls must be
/// `#[inline(always)]` for the wider code to reach them.
#[inline(always)]
pub(crate) fn widest<R>(f: impl FnOnce() -> R) -> R {
    struct Run<F>(F);
    impl<R, F: FnOnce() -> R> pulp::WithSimd for Run<F> {
        type Output = R;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) -> R {
            (self.0)()
        }
    }
    arch().dispatch(Run(f))
}

/// The environment variable that caps the instruction set at AVX2 (`DEEPMATTE_SIMD=avx2`): for a
/// host on a CPU whose clock drops while AVX-512 runs, and for measuring both on one machine.
pub const SIMD_ENV: &str = "DEEPMATTE_SIMD";

/// The instruction set loops run with, chosen once per process: the widest the CPU has, unless
/// [`SIMD_ENV`] caps it.
fn arch() -> pulp::Arch {
    static ARCH: std::sync::OnceLock<pulp::Arch> = std::sync::OnceLock::new();
    *ARCH.get_or_init(|| {
        let widest = pulp::Arch::new();
        #[cfg(target_arch = "x86_64")]
        if matches!(widest, pulp::Arch::V4(_)) && std::env::var(SIMD_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("avx2")) {
            if let Some(v3) = pulp::x86::V3::try_new() {
                return pulp::Arch::V3(v3);
            }
        }
        widest
    })
}

/// The instruction set [`widest`] runs loops with, in words (for benchmarks and logs).
pub fn instruction_set() -> &'static str {
    match arch() {
        #[cfg(target_arch = "x86_64")]
        pulp::Arch::V4(_) => "AVX-512",
        #[cfg(target_arch = "x86_64")]
        pulp::Arch::V3(_) => "AVX2",
        _ => "baseline (no AVX2)",
    }
}

/// A loop written once for both kinds of multiply-add (see [`madd`]).
pub(crate) trait FusedLoop {
    type Output;
    fn run<const FMA: bool>(self) -> Self::Output;
}

/// Runs `l` compiled for the widest instruction set available, with fused multiply-adds on every
/// set wider than the baseline (AVX2 and AVX-512 have them; the SSE2 baseline does not, and would
/// call the C library for each). `run` and what it calls must be `#[inline(always)]`.
#[inline(always)]
pub(crate) fn widest_fused<L: FusedLoop>(l: L) -> L::Output {
    struct Run<L>(L);
    impl<L: FusedLoop> pulp::WithSimd for Run<L> {
        type Output = L::Output;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) -> L::Output {
            if S::IS_SCALAR {
                self.0.run::<false>()
            } else {
                self.0.run::<true>()
            }
        }
    }
    arch().dispatch(Run(l))
}

/// `a · b + c`, rounded once (an FMA instruction) when `FMA`, else twice.
#[inline(always)]
pub(crate) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}
