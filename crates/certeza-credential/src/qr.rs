//! QR images: rendering at error-correction level Q (PNG, SVG) and decoding from PNG or
//! JPEG bytes, including camera photos (rxing's hybrid binarizer, with a half-resolution
//! retry for large, noisy images).

use crate::error::{Error, Result};
use std::io::Cursor;

/// The quiet zone around rendered codes, in modules (ISO/IEC 18004 asks for 4).
pub const QUIET_ZONE: usize = 4;
/// The largest image decoded, in pixels (about 40 megapixels).
pub const MAX_PIXELS: usize = 40_000_000;

/// The module matrix of a QR code at level Q: its width and row-major dark flags.
///
/// # Errors
///
/// [`Error::QrTooLong`] when the text does not fit in a version 40 code.
pub fn modules(text: &str) -> Result<(usize, Vec<bool>)> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::Q)
        .map_err(|_| Error::QrTooLong)?;
    let dark = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
    Ok((code.width(), dark))
}

/// Renders the code as an 8-bit grayscale raster with a quiet zone, `scale` pixels per
/// module; returns (side, pixels).
///
/// # Errors
///
/// [`Error::QrTooLong`] when the text does not fit.
pub fn render_luma(text: &str, scale: usize) -> Result<(usize, Vec<u8>)> {
    let (width, dark) = modules(text)?;
    let scale = scale.clamp(1, 64);
    let side = (width + 2 * QUIET_ZONE) * scale;
    let mut px = vec![255u8; side * side];
    for (i, d) in dark.iter().enumerate() {
        if !d {
            continue;
        }
        let (mx, my) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
        for y in my * scale..(my + 1) * scale {
            if let Some(row) = px.get_mut(y * side + mx * scale..y * side + (mx + 1) * scale) {
                row.fill(0);
            }
        }
    }
    Ok((side, px))
}

/// Renders the code as a grayscale PNG, `scale` pixels per module (clamped to 1..=64).
///
/// # Errors
///
/// [`Error::QrTooLong`] when the text does not fit; [`Error::Image`] when encoding fails.
pub fn render_png(text: &str, scale: usize) -> Result<Vec<u8>> {
    let (side, px) = render_luma(text, scale)?;
    encode_png_luma(&px, side, side)
}

/// Encodes an 8-bit grayscale raster as PNG.
///
/// # Errors
///
/// [`Error::Image`] when the dimensions are invalid or encoding fails.
pub fn encode_png_luma(px: &[u8], width: usize, height: usize) -> Result<Vec<u8>> {
    let w = u32::try_from(width).map_err(|_| Error::Image("too wide"))?;
    let h = u32::try_from(height).map_err(|_| Error::Image("too tall"))?;
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|_| Error::Image("PNG encoding failed"))?;
    writer.write_image_data(px).map_err(|_| Error::Image("PNG encoding failed"))?;
    writer.finish().map_err(|_| Error::Image("PNG encoding failed"))?;
    Ok(out)
}

/// Renders the code as a standalone SVG (one path, `viewBox` in modules, quiet zone
/// included), suitable for print and for embedding in HTML.
///
/// # Errors
///
/// [`Error::QrTooLong`] when the text does not fit.
pub fn render_svg(text: &str) -> Result<String> {
    use core::fmt::Write as _;
    let (width, dark) = modules(text)?;
    let side = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (i, d) in dark.iter().enumerate() {
        if *d {
            let _ = write!(path, "M{},{}h1v1h-1z", i % width + QUIET_ZONE, i / width + QUIET_ZONE);
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

/// A decoded 8-bit grayscale image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LumaImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major luma.
    pub pixels: Vec<u8>,
}

fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b)) >> 8) as u8
}

/// Reads PNG or JPEG bytes into grayscale.
///
/// # Errors
///
/// [`Error::Image`] for another format, a corrupt file or one larger than [`MAX_PIXELS`].
pub fn load_luma(bytes: &[u8]) -> Result<LumaImage> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        load_png(bytes)
    } else if bytes.starts_with(&[0xff, 0xd8]) {
        load_jpeg(bytes)
    } else {
        Err(Error::Image("not a PNG or JPEG image"))
    }
}

fn load_png(bytes: &[u8]) -> Result<LumaImage> {
    let bad = Error::Image("corrupt PNG");
    let mut dec = png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: MAX_PIXELS * 4 });
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(|_| bad.clone())?;
    let (w, h) = {
        let info = reader.info();
        (info.width as usize, info.height as usize)
    };
    if w.saturating_mul(h) > MAX_PIXELS || w == 0 || h == 0 {
        return Err(Error::Image("image too large"));
    }
    let size = reader.output_buffer_size().ok_or(bad.clone())?;
    let mut buf = vec![0u8; size];
    let frame = reader.next_frame(&mut buf).map_err(|_| bad.clone())?;
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(bad),
    };
    let line = frame.line_size;
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = buf.get(y * line..y * line + w * channels).ok_or(bad.clone())?;
        for p in row.chunks_exact(channels) {
            pixels.push(match p {
                [l] | [l, _] => *l,
                [r, g, b] | [r, g, b, _] => luma(*r, *g, *b),
                _ => 0,
            });
        }
    }
    Ok(LumaImage { width: w, height: h, pixels })
}

fn load_jpeg(bytes: &[u8]) -> Result<LumaImage> {
    let bad = Error::Image("corrupt JPEG");
    let mut dec = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    dec.set_max_decoding_buffer_size(MAX_PIXELS * 4);
    dec.read_info().map_err(|_| bad.clone())?;
    let info = dec.info().ok_or(bad.clone())?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    if w == 0 || h == 0 || w * h > MAX_PIXELS {
        return Err(Error::Image("image too large"));
    }
    let data = dec.decode().map_err(|_| bad.clone())?;
    let pixels: Vec<u8> = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => data,
        jpeg_decoder::PixelFormat::L16 => data.chunks_exact(2).map(|p| p[0]).collect(),
        jpeg_decoder::PixelFormat::RGB24 => data.chunks_exact(3).map(|p| luma(p[0], p[1], p[2])).collect(),
        jpeg_decoder::PixelFormat::CMYK32 => {
            data.chunks_exact(4).map(|p| luma(255 - p[0], 255 - p[1], 255 - p[2]).min(255 - p[3])).collect()
        }
    };
    if pixels.len() != w * h {
        return Err(bad);
    }
    Ok(LumaImage { width: w, height: h, pixels })
}

fn rxing_decode(px: &[u8], w: usize, h: usize) -> Option<String> {
    let (w32, h32) = (u32::try_from(w).ok()?, u32::try_from(h).ok()?);
    // rxing is a large port of ZXing; a panic inside it on a hostile image must not take
    // the verifier down, so it is contained here and reported as "not found".
    std::panic::catch_unwind(|| {
        rxing::helpers::detect_in_luma_slice(px, w32, h32, Some(rxing::BarcodeFormat::QR_CODE))
            .ok()
            .map(|r| r.getText().to_owned())
    })
    .ok()
    .flatten()
}

fn half(img: &LumaImage) -> LumaImage {
    let (w, h) = (img.width / 2, img.height / 2);
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let at = |dx: usize, dy: usize| {
                u16::from(img.pixels.get((2 * y + dy) * img.width + 2 * x + dx).copied().unwrap_or(0))
            };
            pixels.push(((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4) as u8);
        }
    }
    LumaImage { width: w, height: h, pixels }
}

/// Finds and decodes a QR code in a grayscale image.
///
/// # Errors
///
/// [`Error::QrNotFound`] when no QR code can be read.
pub fn decode_luma(img: &LumaImage) -> Result<String> {
    if img.pixels.len() != img.width.saturating_mul(img.height) || img.width == 0 || img.height == 0 {
        return Err(Error::Image("pixel buffer does not match its size"));
    }
    // Camera frames (800 px and more on the short side) are tried at half resolution
    // first: a quarter of the pixels, and the averaging suppresses sensor noise. The full
    // resolution is the fallback for small or dense codes.
    let large = img.width.min(img.height) >= 800;
    let small = (img.width.min(img.height) >= 400).then(|| half(img));
    let attempts: [Option<&LumaImage>; 2] =
        if large { [small.as_ref(), Some(img)] } else { [Some(img), small.as_ref()] };
    for candidate in attempts.into_iter().flatten() {
        if let Some(text) = rxing_decode(&candidate.pixels, candidate.width, candidate.height) {
            return Ok(text);
        }
    }
    Err(Error::QrNotFound)
}

/// Decodes a QR code from PNG or JPEG bytes.
///
/// # Errors
///
/// [`Error::Image`] when the file cannot be read, [`Error::QrNotFound`] when no QR code can
/// be read from it.
pub fn decode_image(bytes: &[u8]) -> Result<String> {
    decode_luma(&load_luma(bytes)?)
}
