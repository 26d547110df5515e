; Enter's indentation in Rust (see src/tui/highlight/indent.rs): what is between brackets
; is one level in, a line starting with a closing bracket is back out.

[
  (block)
  (declaration_list)
  (field_declaration_list)
  (enum_variant_list)
  (match_block)
  (field_initializer_list)
  (use_list)
  (arguments)
  (parameters)
  (closure_parameters)
  (tuple_expression)
  (array_expression)
  (tuple_type)
  (tuple_pattern)
  (struct_pattern)
  (token_tree)
  (where_clause)
] @indent

[
  "}"
  ")"
  "]"
] @outdent
