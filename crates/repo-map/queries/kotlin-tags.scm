; aidx repo-map tags for Kotlin (see rust-tags.scm for the capture convention).

(class_declaration name: (identifier) @name) @def.type
(class_declaration "interface" name: (identifier) @name) @def.trait
(object_declaration name: (identifier) @name) @def.type
(type_alias type: (identifier) @name) @def.type
(function_declaration name: (identifier) @name) @def.function
(class_body (function_declaration name: (identifier) @name) @def.method)
(source_file (property_declaration (variable_declaration (identifier) @name)) @def.constant)

(call_expression (identifier) @ref.call)
(call_expression (navigation_expression (_) (identifier) @ref.call))
(user_type (identifier) @ref.type)
