; aidx repo-map tags for Java (see rust-tags.scm for the capture convention).

(class_declaration name: (identifier) @name) @def.type
(record_declaration name: (identifier) @name) @def.type
(enum_declaration name: (identifier) @name) @def.type
(interface_declaration name: (identifier) @name) @def.trait
(annotation_type_declaration name: (identifier) @name) @def.trait
(method_declaration name: (identifier) @name) @def.method
(constructor_declaration name: (identifier) @name) @def.method
(field_declaration (modifiers "static") declarator: (variable_declarator name: (identifier) @name)) @def.constant

(method_invocation name: (identifier) @ref.call)
(object_creation_expression type: (type_identifier) @ref.type)
(type_identifier) @ref.type
(superclass (type_identifier) @ref.type)
