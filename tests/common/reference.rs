//! Brute-force references for the matte refinements, written from their definitions (square
//! windows, clamped edges, He et al.'s guided filter) and sharing no code with `imaging`: the
//! bundle's fast passes (running sums, van Herk/Gil-Werman) are checked against them.

/// A top-down single-channel image in f64.
#[derive(Clone, Debug)]
pub struct Grid {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f64>,
}

impl Grid {
    /// The value at (x, y), coordinates clamped into the grid (edges repeat outwards).
    pub fn at(&self, x: isize, y: isize) -> f64 {
        let x = x.clamp(0, self.width as isize - 1) as usize;
        let y = y.clamp(0, self.height as isize - 1) as usize;
        self.data[y * self.width + x]
    }

    /// Each pixel replaced by `f` of the (2r+1)² window around it.
    fn window(&self, r: usize, f: impl Fn(&mut dyn Iterator<Item = f64>) -> f64) -> Grid {
        let r = r as isize;
        let mut out = self.clone();
        for y in 0..self.height as isize {
            for x in 0..self.width as isize {
                let mut it = (-r..=r).flat_map(|dy| (-r..=r).map(move |dx| (dx, dy))).map(|(dx, dy)| self.at(x + dx, y + dy));
                out.data[y as usize * self.width + x as usize] = f(&mut it);
            }
        }
        out
    }

    /// Mean over the (2r+1)² window.
    pub fn box_mean(&self, r: usize) -> Grid {
        let n = ((2 * r + 1) * (2 * r + 1)) as f64;
        self.window(r, |it| it.sum::<f64>() / n)
    }

    fn zip(&self, other: &Grid, f: impl Fn(f64, f64) -> f64) -> Grid {
        Grid { width: self.width, height: self.height, data: self.data.iter().zip(&other.data).map(|(&a, &b)| f(a, b)).collect() }
    }
}

/// Grow (r > 0) or shrink (r < 0) by a square window; a fractional radius mixes the two whole
/// radii around it linearly.
pub fn expand_contract(g: &Grid, radius: f64) -> Grid {
    if radius == 0.0 {
        return g.clone();
    }
    let whole = |r: usize| {
        if radius > 0.0 {
            g.window(r, |it| it.fold(f64::MIN, f64::max))
        } else {
            g.window(r, |it| it.fold(f64::MAX, f64::min))
        }
    };
    let (lo, frac) = (radius.abs().floor() as usize, radius.abs().fract());
    let low = whole(lo);
    if frac == 0.0 {
        return low;
    }
    low.zip(&whole(lo + 1), |a, b| a + (b - a) * frac)
}

/// The control's "blur radius" (about two standard deviations) as three box means whose total
/// variance is the Gaussian's: a box of radius r has variance r(r+1)/3, so each of the three
/// gets σ²/3 (Wells 1986). Radii under one standard deviation of 0.5 do nothing.
pub fn blur(g: &Grid, radius: f64) -> Grid {
    let sigma = radius / 2.0;
    if sigma < 0.5 {
        return g.clone();
    }
    // r(r+1)/3 = σ²/3  ⇔  r = (−1 + √(1 + 4σ²)) / 2, rounded, at least 1.
    let r = ((-1.0 + (1.0 + 4.0 * sigma * sigma).sqrt()) / 2.0).round().max(1.0) as usize;
    g.box_mean(r).box_mean(r).box_mean(r)
}

/// He et al.'s guided filter of `p` by `guide`, window radius r, regulariser eps, then clamped to
/// 0..1 as a matte.
pub fn guided_matte(p: &Grid, guide: &Grid, r: usize, eps: f64) -> Grid {
    let mean_i = guide.box_mean(r);
    let mean_p = p.box_mean(r);
    let corr_ip = guide.zip(p, |a, b| a * b).box_mean(r);
    let var_i = guide.zip(guide, |a, b| a * b).box_mean(r).zip(&mean_i, |c, m| c - m * m);
    let cov_ip = corr_ip.zip(&mean_i.zip(&mean_p, |a, b| a * b), |c, m| c - m);
    let a = cov_ip.zip(&var_i, |c, v| c / (v + eps));
    let b = mean_p.zip(&a.zip(&mean_i, |a, m| a * m), |p, am| p - am);
    let (a, b) = (a.box_mean(r), b.box_mean(r));
    let out = a.zip(guide, |a, i| a * i).zip(&b, |ai, b| ai + b);
    Grid { data: out.data.iter().map(|v| v.clamp(0.0, 1.0)).collect(), ..out }
}

/// Rec. 709 luma of RGB.
pub fn luma709(rgb: [f64; 3]) -> f64 {
    0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
}

/// The refinement chain as documented: expand/contract, blur, then the edge-aware pass guided by
/// the source's luma (eps 1e-3), radii in pixels at full resolution.
pub fn finesse(matte: &Grid, luma: &Grid, expand: f64, blur_radius: f64, edge_radius: f64) -> Grid {
    let m = blur(&expand_contract(matte, expand), blur_radius);
    let r = edge_radius.round() as usize;
    if r == 0 {
        return m;
    }
    guided_matte(&m, luma, r, 1e-3)
}
