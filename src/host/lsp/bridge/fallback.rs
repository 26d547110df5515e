//! The syntactic fallback: where no server is installed, hover and definition come from
//! tree-sitter tags (`host::syntactic`) in the file and its folder.

use std::path::PathBuf;

use super::LspBridge;
use super::requests::Target;
use crate::host::lsp::config::extension_of;
use crate::host::lsp::{Hover, LineCol, Location, LspError, Symbol};
use crate::host::syntactic;

impl LspBridge {
    /// `no_server` says why no server answered: the error when a name is found nowhere.
    pub(super) fn syntactic_definitions(
        &self,
        path: &str,
        position: LineCol,
        no_server: LspError,
    ) -> Result<Vec<Target>, LspError> {
        let found = self.syntactic_lookup(path, position, no_server)?;
        Ok(found
            .into_iter()
            .map(|(relative, absolute, definition)| Target {
                location: Location {
                    path: relative,
                    range: definition.name_range,
                    external: false,
                    syntactic: true,
                },
                extent: definition.item_range,
                absolute: Some(absolute),
            })
            .collect())
    }

    pub(super) fn syntactic_hover(
        &self,
        path: &str,
        position: LineCol,
        no_server: LspError,
    ) -> Result<Option<Hover>, LspError> {
        let found = self.syntactic_lookup(path, position, no_server)?;
        Ok(found.into_iter().next().map(|(_, _, definition)| Hover {
            markdown: definition.hover_markdown(),
            syntactic: true,
        }))
    }

    /// Definitions of the identifier at `position`: in the file itself first, then in
    /// the files of the same language in its folder (a Go package, C with its headers).
    /// A name defined nowhere there is `no_server` (the person asking hears why no server
    /// answered, not "no definition found"); a blank spot names nothing: empty.
    fn syntactic_lookup(
        &self,
        path: &str,
        position: LineCol,
        no_server: LspError,
    ) -> Result<Vec<(String, PathBuf, syntactic::Definition)>, LspError> {
        let root = &self.inner.shared.root;
        let (absolute, text) = self.asked_text(path)?;
        let Some(name) = syntactic::identifier_at(&text, position) else {
            return Ok(Vec::new());
        };
        let here: Vec<_> = syntactic::definitions(path, &text, &name)
            .into_iter()
            .map(|definition| (path.to_owned(), absolute.clone(), definition))
            .collect();
        if !here.is_empty() {
            return Ok(here);
        }
        let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
        let extension = extension_of(path);
        let mut siblings: Vec<String> = std::fs::read_dir(absolute.parent().unwrap_or(root.dir()))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
                    .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
                    .map(|name| match folder {
                        "" => name,
                        folder => format!("{folder}/{name}"),
                    })
                    .filter(|sibling| sibling != path && extension_of(sibling) == extension)
                    .collect()
            })
            .unwrap_or_default();
        siblings.sort();
        let mut found = Vec::new();
        for sibling in siblings {
            let Ok(sibling_absolute) = self.inner.shared.absolute(&sibling) else {
                continue;
            };
            let Some(text) = self.text_at(&sibling, &sibling_absolute) else {
                continue;
            };
            found.extend(
                syntactic::definitions(&sibling, &text, &name)
                    .into_iter()
                    .map(|definition| (sibling.clone(), sibling_absolute.clone(), definition)),
            );
        }
        if found.is_empty() {
            return Err(no_server);
        }
        Ok(found)
    }
}

impl LspBridge {
    /// `path`'s outline from its syntax tree, for a language whose server is not
    /// installed: each definition the tags query finds, in file order, named in the
    /// definition whose extent holds it (a method in its `impl` or class).
    pub(super) fn syntactic_outline(&self, path: &str) -> Result<Vec<Symbol>, LspError> {
        let (_, text) = self.asked_text(path)?;
        let definitions = syntactic::all_definitions(path, &text);
        let mut symbols = Vec::with_capacity(definitions.len());
        // The definitions whose extent the current one may be inside, outermost first.
        let mut open: Vec<&syntactic::Definition> = Vec::new();
        for definition in &definitions {
            open.retain(|outer| {
                outer.item_range.start <= definition.item_range.start
                    && definition.item_range.end <= outer.item_range.end
            });
            let container = open.last();
            // Rust's tags query calls every function in a `{ }` list a method, those of
            // an inline `mod` too.
            let kind = match (definition.kind.as_str(), container) {
                ("method", Some(outer)) if outer.kind == "module" => "function".to_owned(),
                _ => definition.kind.clone(),
            };
            symbols.push(Symbol {
                name: definition.name.clone(),
                kind,
                location: Location {
                    path: path.to_owned(),
                    range: definition.name_range,
                    external: false,
                    syntactic: true,
                },
                container: container.map(|outer| outer.name.clone()),
            });
            open.push(definition);
        }
        Ok(symbols)
    }
}
