//! Deterministic synthetic "photos" of QR codes (perspective, rotation, blur, noise,
//! uneven light, busy backgrounds) for decode-rate tests and benchmarks. The pseudo-random
//! generator is seeded, so a seed always gives the same image.

use crate::error::Result;
use crate::qr::{LumaImage, render_luma};

/// A small deterministic PRNG (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A float in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// An approximately normal sample (sum of uniforms).
    pub fn normal(&mut self) -> f64 {
        (0..4).map(|_| self.unit()).sum::<f64>() * 1.732 - 3.464
    }
}

/// How to photograph the code.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Canvas width in pixels.
    pub width: usize,
    /// Canvas height in pixels.
    pub height: usize,
    /// Where the code's corners (top-left, top-right, bottom-right, bottom-left, quiet zone
    /// included) land, in pixels.
    pub corners: [(f64, f64); 4],
    /// Box-blur radius in pixels (0 = sharp).
    pub blur: usize,
    /// Standard deviation of additive noise, in gray levels.
    pub noise: f64,
    /// Whether the background is cluttered (random blocks) rather than plain.
    pub busy_background: bool,
    /// Lighting falloff from left to right (0 = even, 0.5 = right side half as bright).
    pub shading: f64,
    /// Seed for background and noise.
    pub seed: u64,
}

impl Scene {
    /// A code of `size` pixels centred on the canvas, rotated by `degrees`.
    #[must_use]
    pub fn centred(width: usize, height: usize, size: f64, degrees: f64) -> Self {
        let (cx, cy) = (width as f64 / 2.0, height as f64 / 2.0);
        let (s, c) = degrees.to_radians().sin_cos();
        let h = size / 2.0;
        let corner = |x: f64, y: f64| (cx + x * c - y * s, cy + x * s + y * c);
        Scene {
            width,
            height,
            corners: [corner(-h, -h), corner(h, -h), corner(h, h), corner(-h, h)],
            blur: 0,
            noise: 0.0,
            busy_background: false,
            shading: 0.0,
            seed: 1,
        }
    }

    /// A camera-like photo: 1280×960 (1.2 MP), code about 420 px wide, tilted 12°, with
    /// perspective, slight blur, sensor noise, uneven light and a busy background.
    #[must_use]
    pub fn camera_like(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut s = Scene::centred(1280, 960, 420.0, rng.range(-15.0, 15.0));
        for c in &mut s.corners {
            c.0 += rng.range(-35.0, 35.0);
            c.1 += rng.range(-35.0, 35.0);
        }
        s.blur = 1;
        s.noise = 8.0;
        s.busy_background = true;
        s.shading = 0.3;
        s.seed = seed;
        s
    }
}

type Matrix = [[f64; 3]; 3];

/// The projective map from the unit square to a quad (Heckbert, 1989).
fn square_to_quad(q: &[(f64, f64); 4]) -> Matrix {
    let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = *q;
    let (dx1, dx2, dy1, dy2) = (x1 - x2, x3 - x2, y1 - y2, y3 - y2);
    let (sx, sy) = (x0 - x1 + x2 - x3, y0 - y1 + y2 - y3);
    let det = dx1 * dy2 - dx2 * dy1;
    let (g, h) =
        if det.abs() < 1e-12 { (0.0, 0.0) } else { ((sx * dy2 - dx2 * sy) / det, (dx1 * sy - sx * dy1) / det) };
    [[x1 - x0 + g * x1, x3 - x0 + h * x3, x0], [y1 - y0 + g * y1, y3 - y0 + h * y3, y0], [g, h, 1.0]]
}

fn invert(m: &Matrix) -> Matrix {
    let [[a, b, c], [d, e, f], [g, h, i]] = *m;
    let (ca, cb, cc) = (e * i - f * h, -(d * i - f * g), d * h - e * g);
    let det = a * ca + b * cb + c * cc;
    let k = if det.abs() < 1e-12 { 0.0 } else { 1.0 / det };
    [
        [ca * k, -(b * i - c * h) * k, (b * f - c * e) * k],
        [cb * k, (a * i - c * g) * k, -(a * f - c * d) * k],
        [cc * k, -(a * h - b * g) * k, (a * e - b * d) * k],
    ]
}

fn box_blur(px: &mut [u8], w: usize, h: usize, r: usize) {
    if r == 0 {
        return;
    }
    let mut tmp = vec![0u8; px.len()];
    let n = 2 * r + 1;
    for y in 0..h {
        for x in 0..w {
            let sum: usize = (0..n).map(|k| usize::from(px[y * w + (x + k).saturating_sub(r).min(w - 1)])).sum();
            tmp[y * w + x] = (sum / n) as u8;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let sum: usize = (0..n).map(|k| usize::from(tmp[(y + k).saturating_sub(r).min(h - 1) * w + x])).sum();
            px[y * w + x] = (sum / n) as u8;
        }
    }
}

/// Photographs a code: renders `text` at level Q and maps it into the scene.
///
/// # Errors
///
/// [`crate::Error::QrTooLong`] when the text does not fit in a QR code.
pub fn photograph(text: &str, scene: &Scene) -> Result<LumaImage> {
    let (side, src) = render_luma(text, 4)?;
    let (w, h) = (scene.width.max(1), scene.height.max(1));
    let mut rng = Rng::new(scene.seed);
    let mut px = vec![200u8; w * h];
    if scene.busy_background {
        for _ in 0..400 {
            let (bx, by) = (rng.range(0.0, w as f64) as usize, rng.range(0.0, h as f64) as usize);
            let (bw, bh) = (rng.range(2.0, 60.0) as usize, rng.range(2.0, 60.0) as usize);
            let shade = rng.range(0.0, 255.0) as u8;
            for y in by..(by + bh).min(h) {
                px[y * w + bx..y * w + (bx + bw).min(w)].fill(shade);
            }
        }
    }
    let inv = invert(&square_to_quad(&scene.corners));
    let sidef = side as f64;
    let sample = |u: f64, v: f64| -> f64 {
        let (fx, fy) = (u * sidef - 0.5, v * sidef - 0.5);
        let (x0, y0) = (fx.floor(), fy.floor());
        let (ax, ay) = (fx - x0, fy - y0);
        let at = |x: f64, y: f64| {
            let (xi, yi) = (x.clamp(0.0, sidef - 1.0) as usize, y.clamp(0.0, sidef - 1.0) as usize);
            f64::from(src[yi * side + xi])
        };
        let top = at(x0, y0) * (1.0 - ax) + at(x0 + 1.0, y0) * ax;
        let bottom = at(x0, y0 + 1.0) * (1.0 - ax) + at(x0 + 1.0, y0 + 1.0) * ax;
        top * (1.0 - ay) + bottom * ay
    };
    for y in 0..h {
        for x in 0..w {
            let (xf, yf) = (x as f64 + 0.5, y as f64 + 0.5);
            let d = inv[2][0] * xf + inv[2][1] * yf + inv[2][2];
            let u = (inv[0][0] * xf + inv[0][1] * yf + inv[0][2]) / d;
            let v = (inv[1][0] * xf + inv[1][1] * yf + inv[1][2]) / d;
            if (0.0..1.0).contains(&u) && (0.0..1.0).contains(&v) {
                // Print is never pure black and white.
                px[y * w + x] = (sample(u, v) * 0.8 + 25.0) as u8;
            }
        }
    }
    box_blur(&mut px, w, h, scene.blur);
    for y in 0..h {
        for x in 0..w {
            let light = 1.0 - scene.shading * (x as f64 / w as f64);
            let noise = if scene.noise > 0.0 { rng.normal() * scene.noise } else { 0.0 };
            let p = &mut px[y * w + x];
            *p = (f64::from(*p) * light + noise).clamp(0.0, 255.0) as u8;
        }
    }
    Ok(LumaImage { width: w, height: h, pixels: px })
}
