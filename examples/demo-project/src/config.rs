//! `shelf.toml`: three settings, so a few lines of parsing instead of a TOML library.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The reading list, relative to the config file.
    pub data: PathBuf,
    pub page_size: usize,
    pub sort: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data: PathBuf::from("data/books.tsv"),
            page_size: 10,
            sort: "author".to_string(),
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut config = Config::parse(&text)?;
        if let Some(folder) = path.parent() {
            config.data = folder.join(&config.data);
        }
        Ok(config)
    }

    /// Reads `key = value` lines; `#` starts a comment; strings may be quoted.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut config = Config::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match key.trim() {
                "data" => config.data = PathBuf::from(value),
                "page_size" => {
                    config.page_size = value.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        format!("page_size must be a positive number, not {value:?}")
                    })?
                }
                "sort" => config.sort = value.to_string(),
                other => return Err(format!("unknown setting {other:?} in shelf.toml")),
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bundled_config() {
        let config = Config::parse(include_str!("../shelf.toml")).unwrap();
        assert_eq!(config.page_size, 5);
        assert_eq!(config.sort, "author");
    }
}
