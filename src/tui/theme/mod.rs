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

mod color;
pub use color::{MIN_TEXT_CONTRAST, ansi_number, approximate_rgb, contrast_ratio, rgb_to_ansi256};
use color::{adapt, known, parse_color, parse_modifier, shade_until_readable};

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
        include_str!("../../../themes/default-dark.toml"),
    ),
    (
        "default-light",
        include_str!("../../../themes/default-light.toml"),
    ),
    ("sixteen", include_str!("../../../themes/sixteen.toml")),
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

#[cfg(test)]
mod tests;
