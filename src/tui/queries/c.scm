; cotype's own C patterns, placed before tree-sitter-c's query.
;
; In cotype (as in tree-sitter-highlight) the first pattern that captures a node wins.
; The crate's query starts with `(identifier) @variable`, so its later patterns for
; function names at their definition and calls, and for CONSTANTS, never colored
; anything. These are those patterns, first.

((identifier) @constant
  (#match? @constant "^[A-Z][A-Z0-9_]*$"))

(function_declarator
  declarator: (identifier) @function)

(call_expression
  function: (identifier) @function)
(call_expression
  function: (field_expression
    field: (field_identifier) @function))

(preproc_function_def
  name: (identifier) @function.special)
