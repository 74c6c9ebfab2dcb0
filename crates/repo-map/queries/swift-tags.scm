; aidx repo-map tags for Swift (see rust-tags.scm for the capture convention).
; `class_declaration` covers class, struct, enum and actor (an extension names a user_type, so it
; defines nothing itself; its members still do).

(class_declaration name: (type_identifier) @name) @def.type
(protocol_declaration name: (type_identifier) @name) @def.trait
(typealias_declaration name: (type_identifier) @name) @def.type
(function_declaration name: (simple_identifier) @name) @def.function
(class_body (function_declaration name: (simple_identifier) @name) @def.method)
(protocol_body (protocol_function_declaration name: (simple_identifier) @name) @def.method)
(source_file (property_declaration name: (pattern bound_identifier: (simple_identifier) @name)) @def.constant)

(call_expression (simple_identifier) @ref.call)
(call_expression (navigation_expression suffix: (navigation_suffix suffix: (simple_identifier) @ref.call)))
(user_type (type_identifier) @ref.type)
