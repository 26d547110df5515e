; Enter's indentation in Python (see src/tui/highlight/indent.rs). A compound statement's
; body is one level in and lasts as long as its indentation does (`@extend`), except after
; a statement that leaves the block (`@extend.prevent-once`): after `return`, the next
; line is back out.

[
  (function_definition)
  (class_definition)
  (if_statement)
  (for_statement)
  (while_statement)
  (with_statement)
  (try_statement)
  (match_statement)
  (case_clause)
  (list)
  (tuple)
  (dictionary)
  (set)
  (argument_list)
  (parameters)
  (parenthesized_expression)
  (list_comprehension)
  (set_comprehension)
  (dictionary_comprehension)
  (generator_expression)
] @indent

[
  (function_definition)
  (class_definition)
  (if_statement)
  (for_statement)
  (while_statement)
  (with_statement)
  (try_statement)
  (match_statement)
  (case_clause)
] @extend

[
  (return_statement)
  (pass_statement)
  (raise_statement)
  (break_statement)
  (continue_statement)
] @extend.prevent-once

[
  (elif_clause)
  (else_clause)
  (except_clause)
  (finally_clause)
  ")"
  "]"
  "}"
] @outdent
