; cotype's own JavaScript patterns, placed before tree-sitter-javascript's query (for
; JavaScript, TypeScript and TSX alike).
;
; In cotype (as in tree-sitter-highlight) the first pattern that captures a node wins.
; The crate's query starts with `(identifier) @variable`, so its later patterns for
; function names at their definition, calls and constructors never colored anything
; (a function's name was a variable where it is defined). These are those patterns, first.

(function_expression
  name: (identifier) @function)
(function_declaration
  name: (identifier) @function)
(generator_function_declaration
  name: (identifier) @function)

(variable_declarator
  name: (identifier) @function
  value: [(function_expression) (arrow_function)])

(assignment_expression
  left: (identifier) @function
  right: [(function_expression) (arrow_function)])

(call_expression
  function: (identifier) @function)

; Naming conventions: CONSTANTS, then CamelCase constructors and classes
((identifier) @constant
  (#match? @constant "^[A-Z_][A-Z0-9_]+$"))

((identifier) @constructor
  (#match? @constructor "^[A-Z]"))
