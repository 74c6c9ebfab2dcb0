; aidx repo-map tags for TypeScript and TSX (see rust-tags.scm for the capture convention).
; The TypeScript grammar extends JavaScript, so the JavaScript shapes are repeated here.

(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
(function_signature name: (identifier) @name) @def.function
(class_declaration name: (type_identifier) @name) @def.type
(abstract_class_declaration name: (type_identifier) @name) @def.type
(method_definition name: (property_identifier) @name) @def.method
(method_signature name: (property_identifier) @name) @def.method
(abstract_method_signature name: (property_identifier) @name) @def.method
(interface_declaration name: (type_identifier) @name) @def.trait
(type_alias_declaration name: (type_identifier) @name) @def.type
(enum_declaration name: (identifier) @name) @def.type
(module name: (identifier) @name) @def.module
(internal_module name: (identifier) @name) @def.module
(lexical_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)])) @def.function
(variable_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)])) @def.function
(program (lexical_declaration (variable_declarator name: (identifier) @name value: [(object) (array) (string) (number) (call_expression) (new_expression)])) @def.constant)
(program (export_statement declaration: (lexical_declaration (variable_declarator name: (identifier) @name value: [(object) (array) (string) (number) (call_expression) (new_expression)])) @def.constant))

(call_expression function: (identifier) @ref.call)
(call_expression function: (member_expression property: (property_identifier) @ref.call))
(new_expression constructor: (identifier) @ref.type)
(type_annotation (type_identifier) @ref.type)
(generic_type name: (type_identifier) @ref.type)
(extends_clause value: (identifier) @ref.type)
(implements_clause (type_identifier) @ref.type)
(extends_type_clause type: (type_identifier) @ref.type)
