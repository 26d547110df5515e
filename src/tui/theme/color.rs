//! Colors themselves: parsing theme values, approximating them in 256 or 16 colors, and
//! contrast (WCAG's ratio, and shading a color until text in it reads).

use ratatui::style::{Color, Modifier};

use super::ColorMode;

/// The least contrast (WCAG 2 ratio, 1 to 21) text keeps against its background where the
/// editor composes colors. 3:1 is WCAG's floor for large text and for the parts of an
/// interface one must see (1.4.3, 1.4.11); 4.5:1, its floor for body text, is more than the
/// syntax palettes most editor themes ship (One Dark's comments, One Light's strings sit
/// between 3 and 4.5 on their own background), so it would repaint code that reads fine.
/// Overlapping selections used to drop to about 1.5:1.
pub const MIN_TEXT_CONTRAST: f64 = 3.0;

pub(super) fn known(color: Option<Color>) -> Option<Color> {
    color.filter(|color| *color != Color::Reset)
}

/// The RGB a color shows as, for contrast: exact for RGB, xterm's palette for the 256
/// indexed and 16 named colors (the terminal's own palette may differ); `None` for the
/// terminal's default color.
pub fn approximate_rgb(color: Color) -> Option<(u8, u8, u8)> {
    const ANSI: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let index = match color {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => return Some((r, g, b)),
        Color::Indexed(index) => index,
        named => ansi_number(named)?,
    };
    Some(match index {
        0..16 => ANSI[index as usize],
        16..232 => {
            let cube = index - 16;
            (
                LEVELS[(cube / 36) as usize],
                LEVELS[(cube / 6 % 6) as usize],
                LEVELS[(cube % 6) as usize],
            )
        }
        _ => {
            let gray = 8 + 10 * (index - 232);
            (gray, gray, gray)
        }
    })
}

/// The number (0–15) of one of the 16 named ANSI colors; `None` for the others.
pub fn ansi_number(color: Color) -> Option<u8> {
    Some(match color {
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Reset | Color::Indexed(_) | Color::Rgb(..) => return None,
    })
}

/// WCAG 2's relative luminance of an sRGB color (channels linearized once, by table:
/// this runs for every cell of a selection on every frame).
fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    static LINEAR: std::sync::LazyLock<[f64; 256]> = std::sync::LazyLock::new(|| {
        std::array::from_fn(|channel| {
            let c = channel as f64 / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        })
    });
    let linear = &*LINEAR;
    0.2126 * linear[r as usize] + 0.7152 * linear[g as usize] + 0.0722 * linear[b as usize]
}

/// WCAG 2's contrast ratio of two colors: 1 (none) to 21 (black on white).
pub fn contrast_ratio(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// `fg` mixed toward black or white (whichever stands out more on `bg`) in steps until it
/// reads on `bg`: the same hue, darker or lighter.
pub(super) fn shade_until_readable(fg: (u8, u8, u8), bg: (u8, u8, u8)) -> Option<(u8, u8, u8)> {
    let target: u8 = if contrast_ratio((0, 0, 0), bg) >= contrast_ratio((255, 255, 255), bg) {
        0
    } else {
        255
    };
    let mix = |channel: u8, amount: f64| {
        (f64::from(channel) + (f64::from(target) - f64::from(channel)) * amount).round() as u8
    };
    (1..=10)
        .map(|step| {
            let amount = f64::from(step) / 10.0;
            (mix(fg.0, amount), mix(fg.1, amount), mix(fg.2, amount))
        })
        .find(|shade| contrast_ratio(*shade, bg) >= MIN_TEXT_CONTRAST + 0.5)
}

pub(super) fn parse_color(value: &str) -> Option<Color> {
    if let Some(hex) = value.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let channel = |at: usize| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok();
        return Some(Color::Rgb(channel(0)?, channel(2)?, channel(4)?));
    }
    // helix's names for the 16 ANSI colors.
    Some(match value {
        "default" | "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        // helix's names: `gray` is bright black (ANSI 8), `light-gray` is ANSI 7.
        "gray" | "grey" => Color::DarkGray,
        "light-red" => Color::LightRed,
        "light-green" => Color::LightGreen,
        "light-yellow" => Color::LightYellow,
        "light-blue" => Color::LightBlue,
        "light-magenta" => Color::LightMagenta,
        "light-cyan" => Color::LightCyan,
        "light-gray" | "light-grey" => Color::Gray,
        "white" => Color::White,
        _ => return value.parse::<u8>().ok().map(Color::Indexed),
    })
}

pub(super) fn parse_modifier(value: &str) -> Option<Modifier> {
    Some(match value {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "slow_blink" => Modifier::SLOW_BLINK,
        "rapid_blink" => Modifier::RAPID_BLINK,
        "reversed" => Modifier::REVERSED,
        "hidden" => Modifier::HIDDEN,
        "crossed_out" => Modifier::CROSSED_OUT,
        _ => return None,
    })
}

pub(super) fn adapt(color: Color, mode: ColorMode) -> Color {
    match (color, mode) {
        (Color::Rgb(r, g, b), ColorMode::Ansi256) => Color::Indexed(rgb_to_ansi256(r, g, b)),
        _ => color,
    }
}

/// The nearest xterm-256 color: the 6x6x6 cube or the 24-step gray ramp, whichever is closer.
pub fn rgb_to_ansi256(r: u8, g: u8, b: u8) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let nearest_level = |value: u8| {
        (0..6)
            .min_by_key(|&i| (i32::from(LEVELS[i]) - i32::from(value)).abs())
            .unwrap_or(0)
    };
    let (ri, gi, bi) = (nearest_level(r), nearest_level(g), nearest_level(b));
    let cube = (LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let average = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let gray_step = (average.saturating_sub(8) / 10).min(23) as u8;
    let gray_value = 8 + 10 * gray_step;
    let distance = |(cr, cg, cb): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(cr, r) + d(cg, g) + d(cb, b)
    };
    if distance((gray_value, gray_value, gray_value)) < distance(cube) {
        232 + gray_step
    } else {
        16 + 36 * ri as u8 + 6 * gi as u8 + bi as u8
    }
}
