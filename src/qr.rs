//! QR codes as PNG (group QR codes): the `qrcode` crate lays out the modules, `png` encodes them
//! as an 8-bit greyscale image with a 4-module quiet zone.

use crate::error::ApiError;

const SCALE: usize = 8;
const QUIET: usize = 4;

pub fn png(text: &str) -> Result<Vec<u8>, ApiError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| {
        ApiError::bad_owned(
            format!("cannot encode a QR code: {e}"),
            format!("无法生成二维码：{e}"),
        )
    })?;
    let n = code.width();
    let colors = code.to_colors();
    let side = (n + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (mx, my) = (i % n + QUIET, i / n + QUIET);
            for y in my * SCALE..(my + 1) * SCALE {
                pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        w.write_image_data(&pixels)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_a_png() {
        let p = super::png("hello").unwrap_or_default();
        assert_eq!(&p[1..4], b"PNG");
    }
}
