//! The widest SIMD the CPU running the plugin has, for the loops that are arithmetic-bound (Luma
//! Matte Extract's gamma). The binaries target the x86-64 baseline (SSE2, 4 floats a step) so
//! they load in every host; [`widest`] runs a loop compiled again with AVX2 enabled (8 floats a
//! step) where the CPU has it, chosen once at run time by `pulp`, which keeps the `unsafe` of a
//! `target_feature` call inside itself. The operations are the same IEEE ones in the same order
//! (Rust never contracts a·b+c into an FMA), so both give the same bits; only speed differs.

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
    pulp::Arch::new().dispatch(Run(f))
}
