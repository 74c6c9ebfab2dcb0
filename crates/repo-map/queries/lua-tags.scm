; aidx repo-map tags for Lua (see rust-tags.scm for the capture convention).
; Top-level `local` names (module tables, settings) count as constants.

(function_declaration name: (identifier) @name) @def.function
(function_declaration name: (dot_index_expression field: (identifier) @name)) @def.function
(function_declaration name: (method_index_expression method: (identifier) @name)) @def.method
(field name: (identifier) @name value: (function_definition)) @def.function
(assignment_statement (variable_list name: (identifier) @name) (expression_list value: (function_definition))) @def.function
(chunk (variable_declaration (assignment_statement (variable_list name: (identifier) @name))) @def.constant)

(function_call name: (identifier) @ref.call)
(function_call name: (dot_index_expression field: (identifier) @ref.call))
(function_call name: (method_index_expression method: (identifier) @ref.call))
(function_call name: (dot_index_expression table: (identifier) @ref.path))
(function_call name: (method_index_expression table: (identifier) @ref.path))
