//! A contact sheet: one row per person found by `faceid discover`, the folder's name on the
//! left and a few of its face crops beside it, so a user sees at a glance who is who.

use cairo::{Context, Format, ImageSurface};

use super::{DrawError, DrawStyle};

/// Side of a thumbnail, pixels.
pub const THUMB: i32 = 128;
/// Space around thumbnails and text, pixels.
const GAP: i32 = 8;
/// Width of the name column, pixels.
const NAME_WIDTH: i32 = 220;
/// Font size of names, pixels.
const NAME_SIZE: f64 = 22.0;
/// Font size of the line under a name, pixels.
const DETAIL_SIZE: f64 = 14.0;

/// A crop: packed RGB pixels.
pub struct Picture<'a> {
    pub rgb: &'a [u8],
    pub width: usize,
    pub height: usize,
}

/// One row of the sheet.
pub struct Row<'a> {
    /// The folder's name, written in bold.
    pub name: String,
    /// A line under it ("12 crops, 40 s on screen").
    pub detail: String,
    /// The crops shown, left to right.
    pub pictures: Vec<Picture<'a>>,
}

/// A drawn sheet: BGRx pixels (cairo's RGB24 on little-endian hosts, GStreamer's BGRx), rows
/// of `stride` bytes.
pub struct Sheet {
    pub width: usize,
    pub height: usize,
    pub stride: usize,
    pub bgrx: Vec<u8>,
}

/// Draws `rows` with up to `per_row` thumbnails each (each crop scaled to fit a
/// [`THUMB`]-pixel square, centred). An empty list gives a sheet saying nobody was found.
pub fn draw(rows: &[Row<'_>], per_row: usize, style: &DrawStyle) -> Result<Sheet, DrawError> {
    let per_row = per_row.clamp(1, 64) as i32;
    let width = NAME_WIDTH + per_row * (THUMB + GAP) + GAP;
    let height = (rows.len().max(1) as i32) * (THUMB + GAP) + GAP;
    let mut surface = ImageSurface::create(Format::Rgb24, width, height)?;
    {
        let ctx = Context::new(&surface)?;
        ctx.set_source_rgb(0.12, 0.12, 0.12);
        ctx.paint()?;
        let family = style.font_family.as_str();
        if rows.is_empty() {
            write_text(
                &ctx,
                family,
                "nobody found",
                GAP,
                THUMB / 2,
                NAME_SIZE,
                true,
            )?;
        }
        for (r, row) in rows.iter().enumerate() {
            let top = GAP + r as i32 * (THUMB + GAP);
            write_text(
                &ctx,
                family,
                &row.name,
                GAP,
                top + THUMB / 2,
                NAME_SIZE,
                true,
            )?;
            let detail_y = top + THUMB / 2 + (DETAIL_SIZE * 1.6) as i32;
            write_text(&ctx, family, &row.detail, GAP, detail_y, DETAIL_SIZE, false)?;
            for (k, picture) in row.pictures.iter().take(per_row as usize).enumerate() {
                let left = NAME_WIDTH + k as i32 * (THUMB + GAP);
                draw_picture(&ctx, picture, left, top)?;
            }
        }
    }
    surface.flush();
    let stride = surface.stride() as usize;
    let bgrx = surface
        .data()
        .map_err(|e| DrawError::BadGeometry(format!("sheet pixels: {e}")))?
        .to_vec();
    Ok(Sheet {
        width: width as usize,
        height: height as usize,
        stride,
        bgrx,
    })
}

fn write_text(
    ctx: &Context,
    family: &str,
    text: &str,
    x: i32,
    y: i32,
    size: f64,
    bold: bool,
) -> Result<(), DrawError> {
    let weight = if bold {
        cairo::FontWeight::Bold
    } else {
        cairo::FontWeight::Normal
    };
    ctx.select_font_face(family, cairo::FontSlant::Normal, weight);
    ctx.set_font_size(size);
    ctx.set_source_rgb(0.95, 0.95, 0.95);
    // Long names are cut at the column's edge rather than drawn over the pictures.
    ctx.save()?;
    ctx.rectangle(
        0.0,
        f64::from(y) - size * 2.0,
        f64::from(NAME_WIDTH - GAP),
        size * 3.0,
    );
    ctx.clip();
    ctx.move_to(f64::from(x), f64::from(y));
    ctx.show_text(&super::clean_text(text))?;
    ctx.restore()?;
    Ok(())
}

/// `picture` scaled into the [`THUMB`] square at (`left`, `top`).
fn draw_picture(
    ctx: &Context,
    picture: &Picture<'_>,
    left: i32,
    top: i32,
) -> Result<(), DrawError> {
    let (w, h) = (picture.width, picture.height);
    if w == 0 || h == 0 || picture.rgb.len() < w * h * 3 || w > 32767 || h > 32767 {
        return Ok(());
    }
    let mut image = ImageSurface::create(Format::Rgb24, w as i32, h as i32)?;
    let stride = image.stride() as usize;
    {
        let mut data = image
            .data()
            .map_err(|e| DrawError::BadGeometry(format!("thumbnail pixels: {e}")))?;
        for y in 0..h {
            let src = &picture.rgb[y * w * 3..(y + 1) * w * 3];
            let dst = &mut data[y * stride..y * stride + w * 4];
            for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(3)) {
                // cairo RGB24 in memory on little-endian hosts: B, G, R, unused.
                d.copy_from_slice(&[s[2], s[1], s[0], 0xff]);
            }
        }
    }
    image.mark_dirty();
    let scale = f64::from(THUMB) / (w.max(h) as f64);
    let (dw, dh) = (w as f64 * scale, h as f64 * scale);
    ctx.save()?;
    ctx.translate(
        f64::from(left) + (f64::from(THUMB) - dw) / 2.0,
        f64::from(top) + (f64::from(THUMB) - dh) / 2.0,
    );
    ctx.scale(scale, scale);
    ctx.set_source_surface(&image, 0.0, 0.0)?;
    ctx.paint()?;
    ctx.restore()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheet_has_a_row_per_person_and_shows_their_pictures() {
        let red = [200u8, 10, 10].repeat(50 * 60);
        let rows = vec![
            Row {
                name: "person-01".into(),
                detail: "1 crop".into(),
                pictures: vec![Picture {
                    rgb: &red,
                    width: 50,
                    height: 60,
                }],
            },
            Row {
                name: "person-02".into(),
                detail: String::new(),
                pictures: Vec::new(),
            },
        ];
        let sheet = draw(&rows, 4, &DrawStyle::default()).unwrap();
        assert_eq!(sheet.height as i32, 2 * (THUMB + GAP) + GAP);
        // The middle of the first thumbnail is the red picture (BGRx).
        let (x, y) = (NAME_WIDTH + THUMB / 2, GAP + THUMB / 2);
        let p = &sheet.bgrx[y as usize * sheet.stride + x as usize * 4..][..3];
        assert_eq!(p, &[10, 10, 200]);
        // The second row has no picture there.
        let y2 = y + THUMB + GAP;
        let p2 = &sheet.bgrx[y2 as usize * sheet.stride + x as usize * 4..][..3];
        assert_ne!(p2, &[10, 10, 200]);
    }

    #[test]
    fn bad_pictures_are_skipped_not_a_panic() {
        let rows = vec![Row {
            name: "x".into(),
            detail: String::new(),
            pictures: vec![Picture {
                rgb: &[1, 2, 3],
                width: 10,
                height: 10,
            }],
        }];
        assert!(draw(&rows, 4, &DrawStyle::default()).is_ok());
        assert!(draw(&[], 4, &DrawStyle::default()).is_ok());
    }
}
