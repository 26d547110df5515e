//! Colors by name: themes as TOML files that read like helix's, so helix themes load.
//!
//! A theme maps scope names (`keyword`, `function.method`, `ui.statusline`, ...) to styles;
//! a lookup falls back along the dots (`function.method` -> `function`), which is how a
//! small theme still colors a rich grammar. `[palette]` names colors once. Participants get
//! colors from the theme too (`participants = [...]`, eight of them), with a fallback for
//! helix themes that have none.
//!
//! The terminal decides how much color it can show: truecolor when `COLORTERM` says so,
//! otherwise RGB is mapped to the 256-color cube; `NO_COLOR` removes color but keeps
//! modifiers (reverse video still shows the cursor and selections).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error(
        "no theme named {name:?}; built-in themes are {builtins}, user themes go in {user_dir}"
    )]
    NotFound {
        name: String,
        builtins: String,
        user_dir: String,
    },
    #[error("cannot read theme {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("theme {name:?} is not valid TOML: {message}")]
    Toml { name: String, message: String },
    #[error("theme {name:?}: {message}")]
    Invalid { name: String, message: String },
    #[error("theme {name:?} inherits in a loop")]
    InheritLoop { name: String },
}

/// How many colors the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    TrueColor,
    Ansi256,
    /// `NO_COLOR`: modifiers only.
    NoColor,
}

impl ColorMode {
    /// Reads `NO_COLOR` and `COLORTERM` (see <https://no-color.org>).
    pub fn detect() -> Self {
        Self::from_env(
            std::env::var("NO_COLOR").ok().as_deref(),
            std::env::var("COLORTERM").ok().as_deref(),
        )
    }

    pub fn from_env(no_color: Option<&str>, colorterm: Option<&str>) -> Self {
        if no_color.is_some_and(|value| !value.is_empty()) {
            return Self::NoColor;
        }
        match colorterm {
            Some("truecolor" | "24bit") => Self::TrueColor,
            _ => Self::Ansi256,
        }
    }
}

/// Themes shipped in the binary, by name.
const BUILTIN: &[(&str, &str)] = &[
    (
        "default-dark",
        include_str!("../../themes/default-dark.toml"),
    ),
    (
        "default-light",
        include_str!("../../themes/default-light.toml"),
    ),
    ("sixteen", include_str!("../../themes/sixteen.toml")),
];

pub const DEFAULT_THEME: &str = "default-dark";

/// A loaded theme, already adapted to the terminal's color mode.
#[derive(Debug, Clone)]
pub struct Theme {
    name: String,
    styles: HashMap<String, Style>,
    participants: Vec<Color>,
    mode: ColorMode,
}

impl Theme {
    /// Loads a theme by name: the user's `themes/NAME.toml` in the config folder first,
    /// then the built-in ones.
    pub fn load(name: &str, mode: ColorMode) -> Result<Self, ThemeError> {
        Self::load_from(name, user_theme_dir().as_deref(), mode)
    }

    /// As [`Theme::load`], with the user theme folder given (tests use a temporary one).
    pub fn load_from(
        name: &str,
        user_dir: Option<&Path>,
        mode: ColorMode,
    ) -> Result<Self, ThemeError> {
        let mut chain = Vec::new();
        let mut next = Some(name.to_owned());
        while let Some(current) = next.take() {
            if chain.iter().any(|(n, _)| *n == current) {
                return Err(ThemeError::InheritLoop { name: current });
            }
            let text = read_theme_text(&current, user_dir)?;
            let mut table: toml::Table =
                toml::from_str(&text).map_err(|error| ThemeError::Toml {
                    name: current.clone(),
                    message: error.to_string(),
                })?;
            if let Some(parent) = table.remove("inherits") {
                let parent = parent.as_str().ok_or_else(|| ThemeError::Invalid {
                    name: current.clone(),
                    message: "`inherits` must be a theme name".into(),
                })?;
                next = Some(parent.to_owned());
            }
            chain.push((current, table));
        }
        // The root ancestor first, so children override.
        let mut merged = toml::Table::new();
        let mut palette = toml::Table::new();
        for (_, mut table) in chain.into_iter().rev() {
            if let Some(toml::Value::Table(own)) = table.remove("palette") {
                palette.extend(own);
            }
            merged.extend(table);
        }
        Self::from_table(name, merged, &palette, mode)
    }

    /// Parses one theme file with no inheritance.
    pub fn from_toml(name: &str, text: &str, mode: ColorMode) -> Result<Self, ThemeError> {
        let mut table: toml::Table = toml::from_str(text).map_err(|error| ThemeError::Toml {
            name: name.into(),
            message: error.to_string(),
        })?;
        let palette = match table.remove("palette") {
            Some(toml::Value::Table(palette)) => palette,
            _ => toml::Table::new(),
        };
        table.remove("inherits");
        Self::from_table(name, table, &palette, mode)
    }

    fn from_table(
        name: &str,
        table: toml::Table,
        palette: &toml::Table,
        mode: ColorMode,
    ) -> Result<Self, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            name: name.into(),
            message,
        };
        let resolve = |value: &str| -> Result<Color, ThemeError> {
            let color = match palette.get(value).and_then(toml::Value::as_str) {
                Some(from_palette) => parse_color(from_palette),
                None => parse_color(value),
            };
            color
                .map(|color| adapt(color, mode))
                .ok_or_else(|| invalid(format!("unknown color {value:?}")))
        };
        let mut styles = HashMap::new();
        let mut participants = Vec::new();
        for (scope, value) in flatten_scopes(table) {
            if scope != "participants" && value.is_array() {
                // Other lists in helix themes (`rainbow`) style nothing cotype draws.
                continue;
            }
            if scope == "participants" {
                let list = value
                    .as_array()
                    .ok_or_else(|| invalid("`participants` must be a list of colors".into()))?;
                for color in list {
                    let color = color
                        .as_str()
                        .ok_or_else(|| invalid("`participants` must be a list of colors".into()))?;
                    participants.push(resolve(color)?);
                }
                continue;
            }
            let style = match value {
                toml::Value::String(fg) => Style::default().fg(resolve(&fg)?),
                toml::Value::Table(spec) => {
                    let mut style = Style::default();
                    if let Some(fg) = spec.get("fg").and_then(toml::Value::as_str) {
                        style = style.fg(resolve(fg)?);
                    }
                    if let Some(bg) = spec.get("bg").and_then(toml::Value::as_str) {
                        style = style.bg(resolve(bg)?);
                    }
                    if let Some(modifiers) = spec.get("modifiers").and_then(toml::Value::as_array) {
                        for modifier in modifiers {
                            let modifier =
                                modifier.as_str().and_then(parse_modifier).ok_or_else(|| {
                                    invalid(format!("unknown modifier {modifier} in {scope:?}"))
                                })?;
                            style = style.add_modifier(modifier);
                        }
                    }
                    // helix themes may carry `underline = { style = "curl" }`; the
                    // underline is what matters in a terminal.
                    if let Some(underline) = spec.get("underline") {
                        style = style.add_modifier(Modifier::UNDERLINED);
                        // Its color marks a diagnostic's severity without recoloring code.
                        if let Some(color) = underline.get("color").and_then(toml::Value::as_str) {
                            style = style.underline_color(resolve(color)?);
                        }
                    }
                    style
                }
                other => {
                    return Err(invalid(format!(
                        "scope {scope:?} must be a color or a table, not {other}"
                    )));
                }
            };
            styles.insert(scope, style);
        }
        if participants.is_empty() {
            participants = FALLBACK_PARTICIPANTS.to_vec();
        }
        if mode == ColorMode::NoColor {
            for style in styles.values_mut() {
                style.fg = None;
                style.bg = None;
            }
            // Without color, reverse video is what still shows where the cursor,
            // the selection and the bars are.
            for scope in NO_COLOR_REVERSED {
                let style = styles.entry((*scope).to_owned()).or_default();
                *style = style.add_modifier(Modifier::REVERSED);
            }
            participants = vec![Color::Reset];
        }
        Ok(Self {
            name: name.into(),
            styles,
            participants,
            mode,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The style for `scope`, falling back along the dots; the empty style if none matches.
    pub fn get(&self, scope: &str) -> Style {
        self.try_get(scope).unwrap_or_default()
    }

    /// The style for `scope`, falling back along the dots (`a.b.c` -> `a.b` -> `a`).
    pub fn try_get(&self, scope: &str) -> Option<Style> {
        let mut scope = scope;
        loop {
            if let Some(style) = self.styles.get(scope) {
                return Some(*style);
            }
            scope = &scope[..scope.rfind('.')?];
        }
    }

    /// The color of the participant at `index` (stable per participant; wraps around).
    pub fn participant(&self, index: usize) -> Color {
        self.participants[index % self.participants.len()]
    }

    pub fn participant_count(&self) -> usize {
        self.participants.len()
    }

    /// `style` with a foreground that stays readable on its background: text where layers
    /// meet (a syntax color under someone's selection under a cursor) is recolored when
    /// its contrast falls below [`MIN_TEXT_CONTRAST`]. The syntax color is kept where it
    /// reads; otherwise it is darkened or lightened (keeping its hue) where the terminal
    /// shows RGB, else the theme's ink, black or white takes over. A background the
    /// terminal decides (none set) or reverse video is left to the terminal.
    pub fn readable(&self, style: Style) -> Style {
        if style.add_modifier.contains(Modifier::REVERSED) {
            return style;
        }
        let Some(bg) = known(style.bg).or_else(|| known(self.get("ui.background").bg)) else {
            return style;
        };
        let Some(bg_rgb) = approximate_rgb(bg) else {
            return style;
        };
        let fg = known(style.fg).or_else(|| known(self.get("ui.text").fg));
        let fg_rgb = fg.and_then(approximate_rgb);
        if fg_rgb.is_some_and(|fg| contrast_ratio(fg, bg_rgb) >= MIN_TEXT_CONTRAST) {
            return style;
        }
        let adjusted = match (fg, fg_rgb, self.mode) {
            (Some(Color::Rgb(..) | Color::Indexed(16..)), Some(rgb), mode)
                if mode != ColorMode::NoColor =>
            {
                shade_until_readable(rgb, bg_rgb).map(|(r, g, b)| adapt(Color::Rgb(r, g, b), mode))
            }
            _ => None,
        };
        style.fg(adjusted
            .filter(|color| {
                approximate_rgb(*color)
                    .is_some_and(|rgb| contrast_ratio(rgb, bg_rgb) >= MIN_TEXT_CONTRAST)
            })
            .unwrap_or_else(|| self.ink_on(bg)))
    }

    /// A text color for a solid `background` (a participant's selection, a name flag):
    /// the theme's own background or text color where one reads on it, else black or
    /// white, whichever contrasts more.
    pub fn ink_on(&self, background: Color) -> Color {
        let Some(bg_rgb) = approximate_rgb(background) else {
            return known(self.get("ui.background").bg).unwrap_or(Color::Black);
        };
        let candidates = [
            known(self.get("ui.background").bg),
            known(self.get("ui.text").fg),
            Some(Color::Black),
            Some(Color::White),
        ];
        let contrast =
            |color: &Color| approximate_rgb(*color).map_or(0.0, |rgb| contrast_ratio(rgb, bg_rgb));
        let candidates = candidates.into_iter().flatten();
        candidates
            .clone()
            .find(|color| contrast(color) >= MIN_TEXT_CONTRAST)
            .or_else(|| candidates.max_by(|a, b| contrast(a).total_cmp(&contrast(b))))
            .unwrap_or(Color::Black)
    }

    /// Styles for a tree-sitter query's capture names, indexed by capture index; `None`
    /// where the theme has nothing, so the text keeps the default color.
    pub fn capture_styles(&self, capture_names: &[&str]) -> Vec<Option<Style>> {
        capture_names
            .iter()
            .map(|name| self.try_get(name))
            .collect()
    }
}

/// Unquoted dotted keys (`diagnostic.error.underline = ...`) arrive as nested tables;
/// turns them back into flat scope names, leaving style tables (fg, bg, ...) alone.
fn flatten_scopes(table: toml::Table) -> Vec<(String, toml::Value)> {
    const STYLE_KEYS: [&str; 4] = ["fg", "bg", "modifiers", "underline"];
    let mut out = Vec::new();
    for (key, value) in table {
        match value {
            toml::Value::Table(inner)
                if !inner.is_empty() && !inner.keys().any(|k| STYLE_KEYS.contains(&k.as_str())) =>
            {
                for (sub, value) in flatten_scopes(inner) {
                    out.push((format!("{key}.{sub}"), value));
                }
            }
            value => out.push((key, value)),
        }
    }
    out
}

/// Names of the built-in themes.
pub fn builtin_theme_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// `themes/` in the user's config folder.
pub fn user_theme_dir() -> Option<PathBuf> {
    crate::tui::config::config_dir().map(|dir| dir.join("themes"))
}

fn read_theme_text(name: &str, user_dir: Option<&Path>) -> Result<String, ThemeError> {
    // A theme name is a file stem, never a path.
    let plain = !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.');
    if let Some(dir) = user_dir.filter(|_| plain) {
        let path = dir.join(format!("{name}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(text) => return Ok(text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(ThemeError::Read { path, source }),
        }
    }
    BUILTIN
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, text)| (*text).to_owned())
        .ok_or_else(|| ThemeError::NotFound {
            name: name.into(),
            builtins: builtin_theme_names().join(", "),
            user_dir: user_dir
                .map(|dir| dir.display().to_string())
                .unwrap_or_else(|| "(no config folder on this system)".into()),
        })
}

/// The least contrast (WCAG 2 ratio, 1 to 21) text keeps against its background where the
/// editor composes colors. 3:1 is WCAG's floor for large text and for the parts of an
/// interface one must see (1.4.3, 1.4.11); 4.5:1, its floor for body text, is more than the
/// syntax palettes most editor themes ship (One Dark's comments, One Light's strings sit
/// between 3 and 4.5 on their own background), so it would repaint code that reads fine.
/// Overlapping selections used to drop to about 1.5:1.
pub const MIN_TEXT_CONTRAST: f64 = 3.0;

fn known(color: Option<Color>) -> Option<Color> {
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
fn shade_until_readable(fg: (u8, u8, u8), bg: (u8, u8, u8)) -> Option<(u8, u8, u8)> {
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

const NO_COLOR_REVERSED: &[&str] = &[
    "ui.cursor",
    "ui.cursor.primary",
    "ui.selection",
    "ui.statusline",
    "ui.menu.selected",
    "ui.tab.active",
];

/// Eight colors that stay apart on dark and light backgrounds in 16-color terminals.
const FALLBACK_PARTICIPANTS: [Color; 8] = [
    Color::LightMagenta,
    Color::LightCyan,
    Color::LightYellow,
    Color::LightGreen,
    Color::LightRed,
    Color::LightBlue,
    Color::Magenta,
    Color::Cyan,
];

fn parse_color(value: &str) -> Option<Color> {
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

fn parse_modifier(value: &str) -> Option<Modifier> {
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

fn adapt(color: Color, mode: ColorMode) -> Color {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_scopes_fall_back_to_their_parents() {
        let theme = Theme::from_toml(
            "t",
            r##"
            function = "#ff0000"
            "function.macro" = { fg = "#00ff00", modifiers = ["bold"] }
            "##,
            ColorMode::TrueColor,
        )
        .unwrap();
        assert_eq!(theme.get("function.method").fg, Some(Color::Rgb(255, 0, 0)));
        let mac = theme.get("function.macro.builtin");
        assert_eq!(mac.fg, Some(Color::Rgb(0, 255, 0)));
        assert!(mac.add_modifier.contains(Modifier::BOLD));
        assert_eq!(theme.try_get("keyword"), None);
    }

    #[test]
    fn a_helix_theme_with_palette_and_inheritance_loads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            r##"
            inherits = "default-dark"
            keyword = { fg = "hot", modifiers = ["italic"] }
            "ui.selection" = { bg = "deep" }
            [palette]
            hot = "#ff5500"
            deep = "#001122"
            "##,
        )
        .unwrap();
        let theme = Theme::load_from("mine", Some(dir.path()), ColorMode::TrueColor).unwrap();
        assert_eq!(theme.get("keyword").fg, Some(Color::Rgb(0xff, 0x55, 0)));
        assert_eq!(
            theme.get("ui.selection").bg,
            Some(Color::Rgb(0, 0x11, 0x22))
        );
        // Inherited from the parent.
        assert!(theme.try_get("comment").is_some());
        assert_eq!(theme.participant_count(), 8);
    }

    #[test]
    fn helix_theme_features_load() {
        // The constructs helix's own themes use: palette names shadowing ANSI names,
        // `.underline` tables on quoted scopes, unquoted dotted keys, `rainbow` lists.
        let theme = Theme::from_toml(
            "helix-like",
            r##"
            "ui.background" = { bg = "black" }
            "comment" = { fg = "light-gray", modifiers = ["italic"] }
            "diagnostic.error".underline = { color = "red", style = "curl" }
            ui.linenr.selected = { fg = "white" }
            "diff.plus" = "green"
            rainbow = ["red", "green"]
            [palette]
            black = "#282C34"
            light-gray = "#5C6370"
            white = "#ABB2BF"
            "##,
            ColorMode::TrueColor,
        )
        .unwrap();
        assert_eq!(
            theme.get("ui.background").bg,
            Some(Color::Rgb(0x28, 0x2c, 0x34))
        );
        assert_eq!(theme.get("comment").fg, Some(Color::Rgb(0x5c, 0x63, 0x70)));
        assert!(
            theme
                .get("diagnostic.error")
                .add_modifier
                .contains(Modifier::UNDERLINED)
        );
        assert_eq!(
            theme.get("ui.linenr.selected").fg,
            Some(Color::Rgb(0xab, 0xb2, 0xbf))
        );
        assert_eq!(theme.get("diff.plus").fg, Some(Color::Green));
        // Without its own list, a helix theme still gets eight participant colors.
        assert_eq!(theme.participant_count(), 8);
    }

    #[test]
    fn every_builtin_theme_loads_with_eight_participant_colors() {
        for name in builtin_theme_names() {
            for mode in [ColorMode::TrueColor, ColorMode::Ansi256] {
                let theme = Theme::load_from(name, None, mode)
                    .unwrap_or_else(|error| panic!("{name}: {error}"));
                assert_eq!(theme.participant_count(), 8, "{name}");
                let distinct: std::collections::HashSet<_> = (0..8)
                    .map(|i| format!("{:?}", theme.participant(i)))
                    .collect();
                assert_eq!(distinct.len(), 8, "{name} repeats a participant color");
                for scope in ["keyword", "ui.cursor", "ui.selection", "ui.statusline"] {
                    assert!(theme.try_get(scope).is_some(), "{name} lacks {scope}");
                }
            }
        }
    }

    #[test]
    fn sixteen_color_theme_uses_no_rgb() {
        let theme = Theme::load_from("sixteen", None, ColorMode::TrueColor).unwrap();
        for style in theme.styles.values() {
            for color in [style.fg, style.bg].into_iter().flatten() {
                assert!(
                    !matches!(color, Color::Rgb(..) | Color::Indexed(_)),
                    "{color:?}"
                );
            }
        }
    }

    #[test]
    fn without_truecolor_rgb_becomes_256_color() {
        let theme = Theme::load_from("default-dark", None, ColorMode::Ansi256).unwrap();
        for style in theme.styles.values() {
            for color in [style.fg, style.bg].into_iter().flatten() {
                assert!(!matches!(color, Color::Rgb(..)), "{color:?}");
            }
        }
        assert_eq!(rgb_to_ansi256(255, 0, 0), 196);
        assert_eq!(rgb_to_ansi256(0, 0, 0), 16);
        assert_eq!(rgb_to_ansi256(128, 128, 128), 244);
    }

    #[test]
    fn no_color_drops_colors_but_keeps_cursor_and_selection_visible() {
        assert_eq!(
            ColorMode::from_env(Some("1"), Some("truecolor")),
            ColorMode::NoColor
        );
        assert_eq!(
            ColorMode::from_env(Some(""), Some("truecolor")),
            ColorMode::TrueColor
        );
        assert_eq!(ColorMode::from_env(None, None), ColorMode::Ansi256);
        let theme = Theme::load_from("default-dark", None, ColorMode::NoColor).unwrap();
        let cursor = theme.get("ui.cursor");
        assert_eq!((cursor.fg, cursor.bg), (None, None));
        assert!(cursor.add_modifier.contains(Modifier::REVERSED));
        assert!(
            theme
                .get("ui.selection")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert!(theme.get("keyword").add_modifier.is_empty());
    }

    #[test]
    fn unknown_theme_names_the_alternatives() {
        let error = Theme::load_from("nope", None, ColorMode::TrueColor).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("default-dark") && message.contains("sixteen"),
            "{message}"
        );
    }
}
