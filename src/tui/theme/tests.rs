//! Tests of themes: scope fallback, helix palettes and inheritance, the built-in themes, and color
//! depth (256 colors, 16 colors, NO_COLOR).

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
