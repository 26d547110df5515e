; cotype's own Python highlight patterns, placed before tree-sitter-python's query.
;
; In cotype (as in tree-sitter-highlight) the first pattern that captures a node wins.
; The crate's query starts with `(identifier) @variable`, so its later patterns for calls,
; definitions, builtins, attributes and types never colored anything. This file puts
; those patterns first and adds what the crate's query lacks: class names at their
; definition, methods, `self` and `cls`, constructor calls, parameters, builtin types.
; Scope names follow helix's runtime/queries/python/highlights.scm: `function`,
; `function.method`, `function.builtin`, `type`, `type.builtin`, `constructor`,
; `constant`, `variable.builtin`, `variable.parameter`, `property`. Themes fall back
; along the dots (`function.builtin` -> `function`).

; self and cls, wherever they appear (parameters included)
((identifier) @variable.builtin
  (#match? @variable.builtin "^(self|cls)$"))

; Definitions
(class_definition
  name: (identifier) @type)

(class_definition
  body: (block
    (function_definition
      name: (identifier) @function.method)))

(class_definition
  body: (block
    (decorated_definition
      definition: (function_definition
        name: (identifier) @function.method))))

(function_definition
  name: (identifier) @function)

(decorator (identifier) @function)
(decorator (attribute attribute: (identifier) @function))
(decorator (call function: (identifier) @function))

; Calls
(call
  function: (attribute attribute: (identifier) @function.method))

((call
  function: (identifier) @function.builtin)
  (#match? @function.builtin
    "^(abs|all|any|ascii|bin|bool|breakpoint|bytearray|bytes|callable|chr|classmethod|compile|complex|delattr|dict|dir|divmod|enumerate|eval|exec|filter|float|format|frozenset|getattr|globals|hasattr|hash|help|hex|id|input|int|isinstance|issubclass|iter|len|list|locals|map|max|memoryview|min|next|object|oct|open|ord|pow|print|property|range|repr|reversed|round|set|setattr|slice|sorted|staticmethod|str|sum|super|tuple|type|vars|zip|__import__)$"))

((call
  function: (identifier) @constructor)
  (#match? @constructor "^_*[A-Z]"))

(call
  function: (identifier) @function)

; Parameters
(parameters (identifier) @variable.parameter)
(default_parameter name: (identifier) @variable.parameter)
(typed_parameter (identifier) @variable.parameter)
(typed_default_parameter name: (identifier) @variable.parameter)
(lambda_parameters (identifier) @variable.parameter)
(keyword_argument name: (identifier) @variable.parameter)

; Types
((type (identifier) @type.builtin)
  (#match? @type.builtin
    "^(bool|bytearray|bytes|complex|dict|float|frozenset|int|list|memoryview|object|set|str|tuple|type)$"))
(type (identifier) @type)

((identifier) @type.builtin
  (#match? @type.builtin
    "^(BaseException|Exception|ArithmeticError|AssertionError|AttributeError|EOFError|ImportError|ModuleNotFoundError|IndexError|KeyError|KeyboardInterrupt|LookupError|MemoryError|NameError|NotImplementedError|OSError|OverflowError|RecursionError|RuntimeError|StopIteration|SyntaxError|SystemExit|TypeError|UnicodeError|ValueError|ZeroDivisionError|FileNotFoundError|PermissionError|TimeoutError|Warning|DeprecationWarning|UserWarning)$"))

; Attributes
(attribute attribute: (identifier) @property)

; Naming conventions: CONSTANTS, then CamelCase types
((identifier) @constant
  (#match? @constant "^_*[A-Z][A-Z0-9_]*$"))

((identifier) @type
  (#match? @type "^_*[A-Z]"))
