; Enter's indentation in JSON (see src/tui/highlight/indent.rs).

[
  (object)
  (array)
] @indent

[
  "}"
  "]"
] @outdent
