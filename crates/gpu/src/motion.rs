//! Temporal Stability on the device (`kernels/flow.cu`): the optical flow, its confidence and the
//! warp of `imaging::flow`, the two-way alignment of `depth::motion::align`, and the per-pixel
//! steps of `depth::stabilize` (curve matching, the motion-aligned average), each written once for
//! any [`Exec`] and tested against its CPU twin through the emulation. Planes are f32, rows
//! top-down; every buffer is the caller's or a scratch buffer freed on return.

use imaging::flow::{pyramid_sizes, DAMPING, PHOTOMETRIC_SIGMA, ROUND_TRIP_SIGMA, STEPS_COARSE, STEPS_FINE, WINDOW};
use imaging::resize::Filter;

use crate::exec::{Arg, Exec, GpuError, Grid, Scratch};
use crate::ops::{resize_plane, shrink_plane};

/// A flow field on the device: `w × h` f32 displacements each (`imaging::Flow`'s `dx`, `dy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowBuffers {
    pub dx: u64,
    pub dy: u64,
}

/// A frame aligned into a neighbour on the device: the flow and, per pixel, how well it explains
/// the frame (`depth::Alignment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlignmentBuffers {
    pub flow: FlowBuffers,
    pub weight: u64,
}

fn dims((w, h): (usize, usize)) -> [Arg; 2] {
    [Arg::I32(w as i32), Arg::I32(h as i32)]
}

/// [`imaging::optical_flow`] of `from` into `to` (both `size`), written to `out`. The flow is
/// kept as one buffer (dx then dy) while it is refined, so each box pass filters both in one
/// launch; `out` gets its two halves at the end.
pub fn optical_flow<E: Exec + ?Sized>(e: &E, from: u64, to: u64, size: (usize, usize), out: FlowBuffers) -> Result<(), GpuError> {
    let n = size.0 * size.1;
    if n == 0 {
        return Ok(());
    }
    let sizes = pyramid_sizes(size.0, size.1);
    // Level 0 is the caller's planes; each coarser one is made from the one above.
    let mut levels: Vec<(Scratch<'_, E>, Scratch<'_, E>)> = Vec::with_capacity(sizes.len() - 1);
    for (l, &(w, h)) in sizes.iter().enumerate().skip(1) {
        let (a, b) = (Scratch::new(e, 4 * w * h)?, Scratch::new(e, 4 * w * h)?);
        let (above_a, above_b) = if l == 1 { (from, to) } else { (levels[l - 2].0.ptr, levels[l - 2].1.ptr) };
        let above = sizes[l - 1];
        for (src, dst) in [(above_a, a.ptr), (above_b, b.ptr)] {
            e.launch("pyramid_down", Grid::d2(w, h), &[&[Arg::Ptr(src)][..], &dims(above), &[Arg::Ptr(dst)], &dims((w, h))].concat())?;
        }
        levels.push((a, b));
    }
    let plane_at = |l: usize| if l == 0 { (from, to) } else { (levels[l - 1].0.ptr, levels[l - 1].1.ptr) };
    let coarsest = sizes.len() - 1;
    let (w, h) = sizes[coarsest];
    let mut flow = Scratch::new(e, 8 * w * h)?;
    e.fill_bytes(flow.ptr, 0, 8 * w * h)?;
    for l in (0..sizes.len()).rev() {
        if l != coarsest {
            let (w, h) = sizes[l];
            let finer = Scratch::new(e, 8 * w * h)?;
            resize_flow(e, halves(flow.ptr, sizes[l + 1]), sizes[l + 1], halves(finer.ptr, sizes[l]), sizes[l])?;
            flow = finer;
        }
        let (i0, i1) = plane_at(l);
        refine(e, i0, i1, flow.ptr, sizes[l], if l == 0 { STEPS_FINE } else { STEPS_COARSE })?;
    }
    let done = halves(flow.ptr, size);
    for (from, to) in [(done.dx, out.dx), (done.dy, out.dy)] {
        // `blend` with a fraction of 0 is a copy.
        e.launch("blend", Grid::d1(n), &[Arg::Ptr(from), Arg::Ptr(from), Arg::Ptr(to), Arg::I64(n as i64), Arg::F32(0.0)])?;
    }
    Ok(())
}

/// The two halves of a flow kept as one buffer of `size`: dx, then dy.
fn halves(flow: u64, (w, h): (usize, usize)) -> FlowBuffers {
    FlowBuffers { dx: flow, dy: flow + 4 * (w * h) as u64 }
}

/// `imaging::Flow::resized` from `src` (`from` size) into `out` (`to` size).
fn resize_flow<E: Exec + ?Sized>(e: &E, src: FlowBuffers, from: (usize, usize), out: FlowBuffers, to: (usize, usize)) -> Result<(), GpuError> {
    let (sx, sy) = (to.0 as f32 / from.0 as f32, to.1 as f32 / from.1 as f32);
    for (s, o, scale) in [(src.dx, out.dx, sx), (src.dy, out.dy, sy)] {
        let args = [&[Arg::Ptr(s)][..], &dims(from), &[Arg::Ptr(o)], &dims(to), &[Arg::F32(sx), Arg::F32(sy), Arg::F32(scale)]].concat();
        e.launch("flow_resize", Grid::d2(to.0, to.1), &args)?;
    }
    Ok(())
}

/// The Lucas–Kanade window (`imaging::flow`'s `window_mean`: the box twice) of `planes` planes of
/// `size` stacked at `src`, each on its own, into `dst` (which may be `src`) through `tmp` (two
/// buffers of the same size).
fn window_mean<E: Exec + ?Sized>(e: &E, src: u64, dst: u64, tmp: (u64, u64), size: (usize, usize), planes: usize) -> Result<(), GpuError> {
    let grid = Grid::d2(size.0, size.1 * planes);
    for (axis, (a, b)) in [(src, tmp.0), (tmp.0, tmp.1), (tmp.1, tmp.0), (tmp.0, dst)].into_iter().enumerate() {
        let args = [&[Arg::Ptr(a), Arg::Ptr(b)][..], &dims(size), &[Arg::I32(WINDOW as i32), Arg::I32((axis % 2) as i32), Arg::I32(planes as i32)]].concat();
        e.launch("box_mean_pass", grid, &args)?;
    }
    Ok(())
}

/// The structure tensor's terms per pixel: gx², gx·gy, gy², gx·e, gy·e.
const TERMS: usize = 5;

/// `imaging::flow`'s `refine`: `steps` Gauss–Newton steps of the flow (one buffer, dx then dy)
/// on one level: 10 launches a step.
fn refine<E: Exec + ?Sized>(e: &E, i0: u64, i1: u64, flow: u64, size: (usize, usize), steps: usize) -> Result<(), GpuError> {
    let n = size.0 * size.1;
    let buf = |planes: usize| Scratch::new(e, 4 * n * planes);
    let grid = Grid::d2(size.0, size.1);
    let (gx0, gy0, gx1, gy1) = (buf(1)?, buf(1)?, buf(1)?, buf(1)?);
    for (plane, gx, gy) in [(i0, &gx0, &gy0), (i1, &gx1, &gy1)] {
        e.launch("plane_gradients", grid, &[&[Arg::Ptr(plane)][..], &dims(size), &[Arg::Ptr(gx.ptr), Arg::Ptr(gy.ptr)]].concat())?;
    }
    let terms = buf(TERMS)?;
    let term = |k: usize| Arg::Ptr(terms.ptr + (4 * n * k) as u64);
    let (tmp, tmp2) = (buf(TERMS)?, buf(TERMS)?);
    let tmps = (tmp.ptr, tmp2.ptr);
    let FlowBuffers { dx, dy } = halves(flow, size);
    for _ in 0..steps {
        window_mean(e, flow, flow, tmps, size, 2)?;
        let mut args = [i0, i1, gx0.ptr, gy0.ptr, gx1.ptr, gy1.ptr, dx, dy].map(Arg::Ptr).to_vec();
        args.extend(dims(size));
        args.extend((0..TERMS).map(term));
        e.launch("lk_terms", grid, &args)?;
        window_mean(e, terms.ptr, terms.ptr, tmps, size, TERMS)?;
        let mut args: Vec<Arg> = (0..TERMS).map(term).collect();
        args.extend([Arg::Ptr(dx), Arg::Ptr(dy), Arg::I64(n as i64), Arg::F32(DAMPING)]);
        e.launch("lk_update", Grid::d1(n), &args)?;
    }
    Ok(())
}

/// [`imaging::confidence`] of `forward` (`from` into `to`) checked by `backward`, into `out`.
pub fn confidence<E: Exec + ?Sized>(e: &E, from: u64, to: u64, forward: FlowBuffers, backward: FlowBuffers, size: (usize, usize), out: u64) -> Result<(), GpuError> {
    let (photo, trip) = (1.0 / (PHOTOMETRIC_SIGMA * PHOTOMETRIC_SIGMA), 1.0 / (ROUND_TRIP_SIGMA * ROUND_TRIP_SIGMA));
    let mut args = [from, to, forward.dx, forward.dy, backward.dx, backward.dy].map(Arg::Ptr).to_vec();
    args.extend(dims(size));
    args.extend([Arg::F32(photo), Arg::F32(trip), Arg::Ptr(out)]);
    e.launch("flow_confidence", Grid::d2(size.0, size.1), &args)
}

/// [`imaging::warp`] of `plane` along `flow` into `out` (all `size`).
pub fn warp<E: Exec + ?Sized>(e: &E, plane: u64, flow: FlowBuffers, size: (usize, usize), out: u64) -> Result<(), GpuError> {
    e.launch("warp_cubic", Grid::d2(size.0, size.1), &[&[Arg::Ptr(plane), Arg::Ptr(flow.dx), Arg::Ptr(flow.dy)][..], &dims(size), &[Arg::Ptr(out)]].concat())
}

/// `depth::motion::align`: `a` into `b` (`forward`) and `b` into `a` (`backward`), both `size`;
/// with `at_half` (what `depth::motion::aligns_at_half` says for the size) computed on the
/// area-shrunk half-size frames and brought back up, as the CPU does.
pub fn align<E: Exec + ?Sized>(e: &E, a: u64, b: u64, size: (usize, usize), at_half: bool, forward: AlignmentBuffers, backward: AlignmentBuffers) -> Result<(), GpuError> {
    if !at_half {
        return align_at_size(e, a, b, size, forward, backward);
    }
    let half = (size.0 / 2, size.1 / 2);
    let m = half.0 * half.1;
    let buf = || Scratch::new(e, 4 * m);
    let (small_a, small_b) = (buf()?, buf()?);
    shrink_plane(e, a, size, small_a.ptr, half)?;
    shrink_plane(e, b, size, small_b.ptr, half)?;
    let (fdx, fdy, fw, bdx, bdy, bw) = (buf()?, buf()?, buf()?, buf()?, buf()?, buf()?);
    let small_forward = AlignmentBuffers { flow: FlowBuffers { dx: fdx.ptr, dy: fdy.ptr }, weight: fw.ptr };
    let small_backward = AlignmentBuffers { flow: FlowBuffers { dx: bdx.ptr, dy: bdy.ptr }, weight: bw.ptr };
    align_at_size(e, small_a.ptr, small_b.ptr, half, small_forward, small_backward)?;
    for (small, full) in [(small_forward, forward), (small_backward, backward)] {
        resize_flow(e, small.flow, half, full.flow, size)?;
        resize_plane(e, small.weight, half, full.weight, size, Filter::Bilinear)?;
    }
    Ok(())
}

fn align_at_size<E: Exec + ?Sized>(e: &E, a: u64, b: u64, size: (usize, usize), forward: AlignmentBuffers, backward: AlignmentBuffers) -> Result<(), GpuError> {
    optical_flow(e, a, b, size, forward.flow)?;
    optical_flow(e, b, a, size, backward.flow)?;
    confidence(e, a, b, forward.flow, backward.flow, size, forward.weight)?;
    confidence(e, b, a, backward.flow, forward.flow, size, backward.weight)
}

/// One frame of a Temporal Stability window on the device: its raw depth (`size`, model
/// resolution), its tone-curve knots onto the window's reference (`depth::stabilize::Plan`) and
/// its weight in the average.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub raw: u64,
    pub size: (usize, usize),
    pub knots: Vec<(f32, f32)>,
    pub weight: f32,
}

/// The per-pixel part of `depth::stabilize` at the working size `work`, into `out`: each member's
/// raw depth through its knots and to `work`, the neighbours pulled along `follow` (the
/// alignment of the frame into each member; the frame's own entry is not read) or taken in place,
/// and the weighted average (`min_weight`, `depth_sigma`: the CPU's constants).
pub fn stabilize<E: Exec + ?Sized>(
    e: &E,
    members: &[Member],
    own: usize,
    follow: Option<&[AlignmentBuffers]>,
    work: (usize, usize),
    (min_weight, depth_sigma): (f32, f32),
    out: u64,
) -> Result<(), GpuError> {
    let n = work.0 * work.1;
    if own >= members.len() || follow.is_some_and(|f| f.len() != members.len()) {
        return Err(GpuError::Failed("stabilise: the frame or an alignment is missing".into()));
    }
    if n == 0 {
        return Ok(());
    }
    let mut matched = Vec::with_capacity(members.len());
    for m in members {
        let plane = Scratch::new(e, 4 * n)?;
        let values = Scratch::new(e, 4 * m.size.0 * m.size.1)?;
        match_curve(e, m.raw, m.size.0 * m.size.1, &m.knots, values.ptr)?;
        resize_plane(e, values.ptr, m.size, plane.ptr, work, Filter::Bilinear)?;
        matched.push(plane);
    }
    let mut pulled = Vec::new();
    let (mut planes, mut explained, mut weights) = (Vec::new(), Vec::new(), Vec::new());
    for (k, m) in members.iter().enumerate().filter(|&(k, _)| k != own) {
        let plane = match follow {
            Some(alignments) => {
                let p = Scratch::new(e, 4 * n)?;
                warp(e, matched[k].ptr, alignments[k].flow, work, p.ptr)?;
                explained.push(alignments[k].weight);
                let ptr = p.ptr;
                pulled.push(p);
                ptr
            }
            None => matched[k].ptr,
        };
        planes.push(plane);
        weights.push(m.weight);
    }
    let count = planes.len();
    // The neighbours' tables (none when the frame is alone in its shot: nothing to copy then).
    let table = |bytes: Vec<u8>| -> Result<Scratch<'_, E>, GpuError> {
        let t = Scratch::new(e, bytes.len())?;
        if !bytes.is_empty() {
            e.upload(t.ptr, &bytes)?;
        }
        Ok(t)
    };
    let plane_table = table(planes.iter().flat_map(|v| v.to_le_bytes()).collect())?;
    let explained_table = table(explained.iter().flat_map(|v| v.to_le_bytes()).collect())?;
    let weight_table = table(weights.iter().flat_map(|v| v.to_le_bytes()).collect())?;
    let args = [
        Arg::Ptr(matched[own].ptr),
        Arg::Ptr(plane_table.ptr),
        Arg::Ptr(explained_table.ptr),
        Arg::Ptr(weight_table.ptr),
        Arg::I32(count as i32),
        Arg::I32(follow.is_some() as i32),
        Arg::F32(min_weight),
        Arg::F32(depth_sigma),
        Arg::I64(n as i64),
        Arg::Ptr(out),
    ];
    e.launch("temporal_average", Grid::d1(n), &args)
}

/// `depth::stabilize`'s curve matching: `n` raw values at `values` through `knots` (x ascending,
/// ties merged) into `out`.
pub fn match_curve<E: Exec + ?Sized>(e: &E, values: u64, n: usize, knots: &[(f32, f32)], out: u64) -> Result<(), GpuError> {
    if knots.is_empty() {
        return Err(GpuError::Failed("match curve: no knots".into()));
    }
    let (xs, ys) = (Scratch::new(e, 4 * knots.len())?, Scratch::new(e, 4 * knots.len())?);
    e.upload(xs.ptr, &knots.iter().flat_map(|k| k.0.to_le_bytes()).collect::<Vec<u8>>())?;
    e.upload(ys.ptr, &knots.iter().flat_map(|k| k.1.to_le_bytes()).collect::<Vec<u8>>())?;
    let args = [Arg::Ptr(values), Arg::I64(n as i64), Arg::Ptr(xs.ptr), Arg::Ptr(ys.ptr), Arg::I32(knots.len() as i32), Arg::Ptr(out)];
    e.launch("match_curve", Grid::d1(n), &args)
}
